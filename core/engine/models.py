"""Fitted synthesizers as bytes and back: what the registry stores and what sampling loads.

The registry (``core.store``) only checks signatures and moves bytes; unpickling a model
imports SDV, ctgan and rdt, so it happens here, after the engine's patches are applied:
a model then samples the same rows in the server, the CLI, a worker and a Ray task.
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
    return cloudpickle.loads(payload)


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
