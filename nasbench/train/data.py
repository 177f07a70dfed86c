"""MNIST-1D, made procedurally by the ``mnist1d`` package, split train/valid/test.

The arrays are cached as ``.npz`` (no pickle) under ``$NASBENCH_CACHE`` (default
``~/.cache/nasbench``); the cache is checked against the fingerprint of a fresh
generation recorded in the file and regenerated on any mismatch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from nasbench.io import atomic_path

GENERATION_KNOBS = ("shear_scale", "scale_coeff", "max_translation", "corr_noise_scale", "iid_noise_scale")


@dataclass
class DatasetConfig:
    """MNIST-1D generation and split. Sizes are sample counts."""

    name: str = "mnist1d"
    seed: int = 42  # mnist1d's own generation seed
    split_seed: int = 0  # permutation that assigns samples to splits
    n_train: int = 4000
    n_valid: int = 5000
    n_test: int = 5000
    # mnist1d's generation knobs; None keeps mnist1d's own default (in brackets). Larger values make
    # the task harder through learnable variation of the digit templates rather than through noise.
    shear_scale: Optional[float] = None  # [0.75] shear of each template
    scale_coeff: Optional[float] = None  # [0.4] random rescaling of each template
    max_translation: Optional[int] = None  # [48] random shift within the padded signal
    corr_noise_scale: Optional[float] = None  # [0.25] correlated (smooth) noise
    iid_noise_scale: Optional[float] = None  # [0.02] white noise

    def to_dict(self) -> dict:
        """The config as recorded in tables and cache keys: knobs left at mnist1d's default are omitted,
        so the data of every table made before they existed keeps its identity."""
        return {k: v for k, v in asdict(self).items() if not (k in GENERATION_KNOBS and v is None)}

    def __post_init__(self):
        for field in ("n_train", "n_valid", "n_test"):
            if int(getattr(self, field)) < 1:
                raise ValueError(f"dataset.{field} must be a positive sample count, got {getattr(self, field)}")
        total = int(self.n_train) + int(self.n_valid) + int(self.n_test)
        if total % 10:  # mnist1d makes the same number of samples of each of its 10 classes
            lower = max(10, total - total % 10)
            raise ValueError(
                f"dataset sizes must add up to a multiple of 10 (e.g. {lower} or {lower + 10}), "
                f"got n_train+n_valid+n_test = {total}"
            )
        for knob in GENERATION_KNOBS:
            value = getattr(self, knob)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"dataset.{knob} must be a number >= 0 or null (mnist1d's default), got {value!r}")
        if self.name != "mnist1d":
            raise ValueError(f"unknown dataset {self.name!r}; valid: mnist1d")


@dataclass(frozen=True)
class Splits:
    """Arrays ``x_*`` of shape ``(n, 40)`` float32 and ``y_*`` of shape ``(n,)`` int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    fingerprint: str

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


def fingerprint(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{arr.dtype.str}:{arr.shape}".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _generate(config: DatasetConfig) -> dict[str, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    total = config.n_train + config.n_valid + config.n_test
    # mnist1d splits its samples 80/20 itself; both parts are pooled and re-split below.
    args.num_samples = total
    args.seed = config.seed
    for knob in GENERATION_KNOBS:
        if getattr(config, knob) is not None:
            setattr(args, knob, getattr(config, knob))
    raw = make_dataset(args)
    x = np.concatenate([raw["x"], raw["x_test"]]).astype(np.float32)
    y = np.concatenate([raw["y"], raw["y_test"]]).astype(np.int64)
    order = np.random.default_rng(config.split_seed).permutation(len(x))[:total]
    cut1, cut2 = config.n_train, config.n_train + config.n_valid
    parts = {"train": order[:cut1], "valid": order[cut1:cut2], "test": order[cut2:]}
    out = {}
    for name, idx in parts.items():
        out[f"x_{name}"], out[f"y_{name}"] = x[idx], y[idx]
    return out


def cache_dir() -> Path:
    return Path(os.environ.get("NASBENCH_CACHE", Path.home() / ".cache" / "nasbench"))


def load_dataset(config: DatasetConfig | None = None) -> Splits:
    """The splits for ``config`` (defaults: 4,000 / 5,000 / 5,000), from cache when valid."""
    config = config or DatasetConfig()
    key = hashlib.sha256(repr(sorted(config.to_dict().items())).encode()).hexdigest()[:16]
    path = cache_dir() / f"mnist1d-{key}.npz"
    arrays = None
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as cached:
                arrays = {k: cached[k] for k in cached.files if k != "fingerprint"}
                stored = str(cached["fingerprint"])
            if fingerprint(arrays) != stored:
                arrays = None
        except (OSError, ValueError, KeyError):
            arrays = None
    if arrays is None:
        arrays = _generate(config)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:  # a handle: np.savez would add .npz to a name
            np.savez(handle, fingerprint=np.array(fingerprint(arrays)), **arrays)
    return Splits(**arrays, fingerprint=fingerprint(arrays))
