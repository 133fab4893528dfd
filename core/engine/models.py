"""Fitted synthesizers as bytes and back: what the registry stores and what sampling loads.

The registry (``core.store``) only checks signatures and moves bytes; unpickling a model
imports SDV, ctgan and rdt, so it happens here, after the engine's version checks and
patches. A deep model's behaviour lives in its classes (``core.engine.studio_models``),
which the pickle names, so it samples the same rows in the server, the CLI, a worker and a
Ray task.
"""

from __future__ import annotations

import io
from typing import Any

from core.engine.patches import load_libraries
from core.store.registry import ModelRegistry

__all__ = ["load_synthesizer", "model_to_bytes"]


def load_synthesizer(registry: ModelRegistry, model_id: str) -> Any:
    """Verify a stored model's signature, then unpickle it with the engine's patches on.

    Raises:
        ModelFileError: The file is missing or does not match its signature.
    """
    import cloudpickle

    payload = registry.verified_model_bytes(model_id)
    load_libraries()
    return _adopt_older_model(cloudpickle.loads(payload))


def _adopt_older_model(synthesizer: Any) -> Any:
    """Give a CTGAN saved before the studio's subclasses the studio's sampling code.

    Such a model holds ctgan's own ``CTGAN``, which the CLI and workers then ran with the
    studio's activation patched in; as a :class:`StudioCTGAN` it samples those same rows
    again, in every process. Its state is ctgan's, which the subclass shares.
    """
    from ctgan.synthesizers.ctgan import CTGAN

    from core.engine.studio_models import StudioCTGAN

    model = getattr(synthesizer, "_model", None)
    if type(model) is CTGAN:
        model.__class__ = StudioCTGAN
    return synthesizer


def model_to_bytes(synthesizer: Any) -> bytes:
    """Pickle a fitted synthesizer with its networks on the CPU.

    A model trained on a GPU must load on a CPU-only machine: cloudpickle would otherwise
    record CUDA tensors that cannot be restored without CUDA.
    """
    import cloudpickle

    model = getattr(synthesizer, "_model", None)
    if model is not None and hasattr(model, "set_device"):
        import torch

        model.set_device(torch.device("cpu"))
    buffer = io.BytesIO()
    cloudpickle.dump(synthesizer, buffer)
    return buffer.getvalue()
