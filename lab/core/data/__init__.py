"""Image data sets for the lab: offline built-ins, torchvision downloads, image folders.

Every source gives an :class:`ImageDataset` (RGB PIL images, integer labels, class
names). :func:`split_indices` draws a stratified, seeded train/val/test split,
:func:`build_transform` applies the chosen weights' preprocessing, and :func:`prepare`
goes from a :class:`DataSpec` to torch data sets in one call.
"""

from .base import ArrayImageDataset, ImageDataset
from .errors import DataError
from .folder import FolderDataset
from .image_folder import write_image_folder
from .images import IMAGE_EXTENSIONS, to_rgb
from .online import TorchvisionDataset, default_root
from .prepare import DataSpec, PreparedData, prepare
from .registry import DEFAULT_DATASET, DatasetInfo, dataset_names, list_datasets, load_dataset
from .splits import Splits, split_indices
from .torch_dataset import TorchImageDataset
from .transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Preprocessing,
    PreprocessingLike,
    ToRGB,
    allows_flip,
    augmentations,
    augmented_samples,
    build_transform,
    tensor_to_image,
)

__all__ = [
    "DEFAULT_DATASET",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_EXTENSIONS",
    "ArrayImageDataset",
    "DataError",
    "DataSpec",
    "DatasetInfo",
    "FolderDataset",
    "ImageDataset",
    "PreparedData",
    "Preprocessing",
    "PreprocessingLike",
    "Splits",
    "ToRGB",
    "TorchImageDataset",
    "TorchvisionDataset",
    "allows_flip",
    "augmentations",
    "augmented_samples",
    "build_transform",
    "dataset_names",
    "default_root",
    "list_datasets",
    "load_dataset",
    "prepare",
    "split_indices",
    "tensor_to_image",
    "to_rgb",
    "write_image_folder",
]
