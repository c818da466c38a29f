"""A tiny image folder for command-line and script tests: noisy circles, squares, triangles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")


def write_shapes(root: Path, n_per_class: int = 20, size: int = 40, seed: int = 0) -> Path:
    """``root/<shape>/<i>.png``: one bright shape on dark noise per image."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(SHAPES):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            image = Image.fromarray(rng.integers(0, 110, (size, size, 3), dtype=np.uint8))
            draw = ImageDraw.Draw(image)
            x, y = (int(v) for v in rng.integers(2, size // 3, 2))
            s = int(rng.integers(size // 3, size // 2))
            colour = tuple(int(v) for v in rng.integers(120, 256, 3))
            if label == 0:
                draw.ellipse([x, y, x + s, y + s], fill=colour)
            elif label == 1:
                draw.rectangle([x, y, x + s, y + s], fill=colour)
            else:
                draw.polygon([(x, y + s), (x + s, y + s), (x + s // 2, y)], fill=colour)
            image.save(root / name / f"{i:03d}.png")
    return root


def shapes_config(folder: Path, runs_dir: Path, **changes: Any) -> dict[str, Any]:
    """A small, fast run config (as JSON values) on the folder ``folder``."""
    values: dict[str, Any] = {
        "model": "mobilenet_v2.IMAGENET1K_V1",
        "data": {
            "name": "folder",
            "path": str(folder),
            "image_size": 32,
            "val_fraction": 0.25,
            "test_fraction": 0.1,
        },
        "approach": "feature_extraction",
        "epochs": 2,
        "batch_size": 8,
        "embedding": "none",
        "runs_dir": str(runs_dir),
    }
    values.update(changes)
    return values


def write_config(path: Path, values: dict[str, Any]) -> Path:
    path.write_text(json.dumps(values))
    return path
