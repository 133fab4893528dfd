"""Which device trains the deep models: CUDA, Apple MPS, or the CPU.

Mirrors the rule inside ctgan (MPS on Apple arm64, else CUDA if available, else CPU) so
the app can say in advance where a fit will run. SDV's synthesizers take only
``enable_gpu``; ctgan then picks the GPU itself. Tests mock ``torch.cuda.is_available``.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import lru_cache

from core.errors import ParameterError

__all__ = ["DEVICE_CHOICES", "DeviceInfo", "detect_device", "probe_device", "resolve_device"]

#: What a user may ask for: ``auto`` picks the best available.
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceInfo:
    """A compute device.

    Attributes:
        kind: "cuda", "mps" or "cpu".
        label: What to show: "NVIDIA A100 (CUDA)", "Apple GPU (MPS)", "CPU · 8 cores".
        cpu_threads: Threads torch may use on the CPU.
    """

    kind: str
    label: str
    cpu_threads: int

    @property
    def is_gpu(self) -> bool:
        """True for CUDA and MPS."""
        return self.kind in ("cuda", "mps")


def _cpu_device() -> DeviceInfo:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return DeviceInfo(kind="cpu", label=f"CPU · {cores} core{'s' if cores != 1 else ''}",
                      cpu_threads=cores)


def probe_device() -> DeviceInfo:
    """Ask torch which accelerator exists (uncached; imports torch)."""
    import torch  # lazy: ~2 s

    cpu = _cpu_device()
    is_apple_arm = platform.system() == "Darwin" and platform.machine() == "arm64"
    mps = getattr(torch.backends, "mps", None)
    if is_apple_arm and mps is not None and mps.is_available():
        return DeviceInfo(kind="mps", label="Apple GPU (MPS)", cpu_threads=cpu.cpu_threads)
    if torch.cuda.is_available():
        try:
            name = torch.cuda.get_device_name(0)
        except Exception:  # noqa: BLE001 - a name is cosmetic
            name = "NVIDIA GPU"
        return DeviceInfo(kind="cuda", label=f"{name} (CUDA)", cpu_threads=cpu.cpu_threads)
    return cpu


@lru_cache(maxsize=1)
def detect_device() -> DeviceInfo:
    """The best device on this machine (cached for the process)."""
    return probe_device()


def resolve_device(preference: str, available: DeviceInfo | None = None) -> DeviceInfo:
    """Turn a user's choice into the device a fit will use.

    Args:
        preference: One of :data:`DEVICE_CHOICES`.
        available: The detected device (defaults to :func:`detect_device`).

    Raises:
        ParameterError: The choice is unknown or that GPU is not present.
    """
    if preference not in DEVICE_CHOICES:
        raise ParameterError(
            f"Device '{preference}' is unknown; choose one of {', '.join(DEVICE_CHOICES)}."
        )
    if preference == "cpu":
        return _cpu_device()
    detected = available or detect_device()
    if preference == "auto" or preference == detected.kind:
        return detected
    raise ParameterError(
        f"You asked for '{preference}' but this machine has {detected.label}. "
        "Choose 'auto' or 'cpu'."
    )
