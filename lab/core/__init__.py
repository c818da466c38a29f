"""The lab without widgets: models, data, training, saved runs and analyses.

Nothing here imports a UI library (ipywidgets, plotly, IPython), and ``import lab.core``
imports no torch either: each public name is imported from its module on first use, so
``from lab.core import RunConfig, Trainer`` loads only what those need.

Where each concern lives:

- ``hardware``: where a run computes (CUDA, MPS or CPU, precision, memory layout).
- ``data``: image data sets, splits, transforms, and batches of them.
- ``models``: the model catalog, offline weights, heads, layer groups, freezing, Grad-CAM.
- ``training``: a run's settings, the Trainer thread and its events, the training loop.
- ``runs``: run folders on disk, exports, the standalone script, take-home files.
- ``analysis``: ranking backbones before training (the probe), data-efficiency curves,
  latency, and the ImageNet demo of what a pretrained model knows.
- ``serving``: the lab's mode and limits, uploads, runs ending with their process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.core._lazy import lazy_exports

if TYPE_CHECKING:
    from lab.core.analysis.efficiency import CurveSpec, EfficiencyResult, data_efficiency
    from lab.core.analysis.explain_photos import compare_on_photos
    from lab.core.analysis.imagenet_demo import feature_map, imagenet_photos, predict_photos
    from lab.core.analysis.latency import Latency, measure_latency
    from lab.core.analysis.latency_cache import LatencyCache
    from lab.core.analysis.logme import logme
    from lab.core.analysis.probe import (
        DEFAULT_CANDIDATES,
        Candidate,
        ProbeReport,
        ProbeResult,
        probe,
        probe_sample,
        random_twin,
    )
    from lab.core.analysis.probe_truth import TruthBudget, check_probe
    from lab.core.analysis.sample_features import load_images, penultimate_features
    from lab.core.data import (
        ArrayImageDataset,
        DataError,
        DataSpec,
        FolderDataset,
        ImageDataset,
        build_transform,
        dataset_names,
        list_datasets,
        load_dataset,
        prepare,
        split_indices,
        write_image_folder,
    )
    from lab.core.hardware.device import DEVICE_CHOICES, DeviceSetup, resolve_device, setup_device
    from lab.core.hardware.layout import LAYOUTS, choose_layout
    from lab.core.hardware.memory import release_memory
    from lab.core.models.batchnorm import recalibrate
    from lab.core.models.catalog import (
        ModelEntry,
        build_model,
        get_entry,
        imagenet_categories,
        list_models,
        preprocessing,
    )
    from lab.core.models.explain import CamMap, grad_cam
    from lab.core.models.finetune import (
        APPROACHES,
        apply_approach,
        freeze,
        make_trainable,
        param_groups,
        summarize,
    )
    from lab.core.models.groups import layer_groups
    from lab.core.models.heads import head_module, replace_head
    from lab.core.models.weights import (
        WeightsUnavailableError,
        install_offline_weights,
        offline_models,
    )
    from lab.core.runs.export import export_model
    from lab.core.runs.run_folder import read_run_folder
    from lab.core.runs.saved import LoadedRun, RunRecorder, list_runs, load_run
    from lab.core.runs.script import render_script
    from lab.core.serving.settings import LabSettings, SettingsError, UploadLimits
    from lab.core.serving.uploads import UploadError, UploadStore
    from lab.core.training.config import ConfigError, RunConfig
    from lab.core.training.control import RunControl, StopRequested
    from lab.core.training.engine import Trainer
    from lab.core.training.evaluation import EvalResult
    from lab.core.training.events import (
        CheckpointSaved,
        Embedding,
        EpochStarted,
        EvaluationCompleted,
        Event,
        GroupsUnfrozen,
        Payload,
        RunCompleted,
        RunFailed,
        RunPaused,
        RunResumed,
        RunStarted,
        RunStopped,
        StepCompleted,
        TestMetrics,
    )
    from lab.core.training.headless import run_headless
    from lab.core.training.history import RunHistory
    from lab.core.training.lr_finder import LRFinderResult, find_lr
    from lab.core.training.parts import TrainingParts, parts_from_config, parts_from_modules
    from lab.core.training.prediction import predict_top_k

__all__ = [
    "APPROACHES",
    "ArrayImageDataset",
    "CamMap",
    "Candidate",
    "CheckpointSaved",
    "ConfigError",
    "CurveSpec",
    "DEFAULT_CANDIDATES",
    "DEVICE_CHOICES",
    "DataError",
    "DataSpec",
    "DeviceSetup",
    "EfficiencyResult",
    "Embedding",
    "EpochStarted",
    "EvalResult",
    "EvaluationCompleted",
    "Event",
    "FolderDataset",
    "GroupsUnfrozen",
    "ImageDataset",
    "LAYOUTS",
    "LRFinderResult",
    "LabSettings",
    "Latency",
    "LatencyCache",
    "LoadedRun",
    "ModelEntry",
    "Payload",
    "ProbeReport",
    "ProbeResult",
    "RunCompleted",
    "RunConfig",
    "RunControl",
    "RunFailed",
    "RunHistory",
    "RunPaused",
    "RunRecorder",
    "RunResumed",
    "RunStarted",
    "RunStopped",
    "SettingsError",
    "StepCompleted",
    "StopRequested",
    "TestMetrics",
    "Trainer",
    "TrainingParts",
    "TruthBudget",
    "UploadError",
    "UploadLimits",
    "UploadStore",
    "WeightsUnavailableError",
    "apply_approach",
    "build_model",
    "build_transform",
    "check_probe",
    "choose_layout",
    "compare_on_photos",
    "data_efficiency",
    "dataset_names",
    "export_model",
    "feature_map",
    "find_lr",
    "freeze",
    "get_entry",
    "grad_cam",
    "head_module",
    "imagenet_categories",
    "imagenet_photos",
    "install_offline_weights",
    "layer_groups",
    "list_datasets",
    "list_models",
    "list_runs",
    "load_dataset",
    "load_images",
    "load_run",
    "logme",
    "make_trainable",
    "measure_latency",
    "offline_models",
    "param_groups",
    "parts_from_config",
    "parts_from_modules",
    "penultimate_features",
    "predict_photos",
    "predict_top_k",
    "prepare",
    "preprocessing",
    "probe",
    "probe_sample",
    "random_twin",
    "read_run_folder",
    "recalibrate",
    "release_memory",
    "render_script",
    "replace_head",
    "resolve_device",
    "run_headless",
    "setup_device",
    "split_indices",
    "summarize",
    "write_image_folder",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        ".analysis.efficiency": ("CurveSpec", "EfficiencyResult", "data_efficiency"),
        ".analysis.explain_photos": ("compare_on_photos",),
        ".analysis.imagenet_demo": ("feature_map", "imagenet_photos", "predict_photos"),
        ".analysis.latency": ("Latency", "measure_latency"),
        ".analysis.latency_cache": ("LatencyCache",),
        ".analysis.logme": ("logme",),
        ".analysis.probe": (
            "Candidate",
            "DEFAULT_CANDIDATES",
            "ProbeReport",
            "ProbeResult",
            "probe",
            "probe_sample",
            "random_twin",
        ),
        ".analysis.probe_truth": ("TruthBudget", "check_probe"),
        ".analysis.sample_features": ("load_images", "penultimate_features"),
        ".data": (
            "ArrayImageDataset",
            "DataError",
            "DataSpec",
            "FolderDataset",
            "ImageDataset",
            "build_transform",
            "dataset_names",
            "list_datasets",
            "load_dataset",
            "prepare",
            "split_indices",
            "write_image_folder",
        ),
        ".hardware.device": ("DEVICE_CHOICES", "DeviceSetup", "resolve_device", "setup_device"),
        ".hardware.layout": ("LAYOUTS", "choose_layout"),
        ".hardware.memory": ("release_memory",),
        ".models.batchnorm": ("recalibrate",),
        ".models.catalog": (
            "ModelEntry",
            "build_model",
            "get_entry",
            "imagenet_categories",
            "list_models",
            "preprocessing",
        ),
        ".models.explain": ("CamMap", "grad_cam"),
        ".models.finetune": (
            "APPROACHES",
            "apply_approach",
            "freeze",
            "make_trainable",
            "param_groups",
            "summarize",
        ),
        ".models.groups": ("layer_groups",),
        ".models.heads": ("head_module", "replace_head"),
        ".models.weights": ("WeightsUnavailableError", "install_offline_weights", "offline_models"),
        ".runs.export": ("export_model",),
        ".runs.run_folder": ("read_run_folder",),
        ".runs.saved": ("LoadedRun", "RunRecorder", "list_runs", "load_run"),
        ".runs.script": ("render_script",),
        ".serving.settings": ("LabSettings", "SettingsError", "UploadLimits"),
        ".serving.uploads": ("UploadError", "UploadStore"),
        ".training.config": ("ConfigError", "RunConfig"),
        ".training.control": ("RunControl", "StopRequested"),
        ".training.engine": ("Trainer",),
        ".training.evaluation": ("EvalResult",),
        ".training.events": (
            "CheckpointSaved",
            "Embedding",
            "EpochStarted",
            "EvaluationCompleted",
            "Event",
            "GroupsUnfrozen",
            "Payload",
            "RunCompleted",
            "RunFailed",
            "RunPaused",
            "RunResumed",
            "RunStarted",
            "RunStopped",
            "StepCompleted",
            "TestMetrics",
        ),
        ".training.headless": ("run_headless",),
        ".training.history": ("RunHistory",),
        ".training.lr_finder": ("LRFinderResult", "find_lr"),
        ".training.parts": ("TrainingParts", "parts_from_config", "parts_from_modules"),
        ".training.prediction": ("predict_top_k",),
    },
    ("analysis", "data", "hardware", "models", "runs", "serving", "training"),
)
