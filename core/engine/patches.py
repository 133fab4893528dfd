"""What cannot be reached by subclassing: process-wide fixes to rdt and SDV, and version checks.

The studio extends SDV and ctgan by subclassing (:mod:`core.engine.studio_models`): its
synthesizers build its own CTGAN/TVAE, data transformer, sampler and mode normaliser, so a
model's behaviour travels with its classes into every process that unpickles it. Two things
are left that no subclass can reach, because SDV calls them from inside its own code:

1. ``rdt``'s ``is_faker_function`` builds a ``Faker`` with *all* ~100 locales on every
   call; SDV's metadata validation calls it for PII columns (the first build costs ~9 s per
   process: 2,756 provider look-ups). We answer from an en_US ``Faker`` (every sdtype the
   studio offers exists there), ask the original only for names en_US lacks, and remember
   answers: the same answers, without the cost.
2. SDV warns that a ``datetime_format`` "could not be verified" for datetime64 columns; the
   studio sets the format on purpose (it makes validation vectorised), so the warning is noise.

Neither changes a fitted model or its samples. :func:`load_libraries` applies them once per
process; every engine function that builds, fits, loads or samples an SDV object calls it
first, and so does importing :mod:`core.engine.studio_models`.

The patches and the subclasses copy or replace code of one exact release of each library
(:data:`PINNED`, pinned in requirements.txt). Another release fails loudly with
:class:`LibraryVersionError` instead of silently running code written for another version.
"""

from __future__ import annotations

import threading
import warnings
from functools import lru_cache
from importlib import metadata

__all__ = ["PINNED", "LibraryVersionError", "apply", "load_libraries", "require_version"]

#: The release of each library whose code the engine patches or copies, and why. A version
#: ending in a release series ("2.0") accepts any patch release of it (2.0.x).
PINNED: dict[str, tuple[str, str]] = {
    "ctgan": ("0.12.1", "core/engine/studio_models.py copies its CTGAN and TVAE training "
              "loops and its DataTransformer's column fitting"),
    "rdt": ("2.0.0", "core/engine/studio_models.py replaces ClusterBasedNormalizer's fit and "
            "transform, and core/engine/patches.py wraps is_faker_function"),
    "sdv": ("2.0", "core/engine/studio_models.py copies the synthesizers' _fit, and "
            "core/engine/patches.py rebinds is_faker_function in sdv.metadata"),
}

_applied = threading.Event()
_lock = threading.Lock()


class LibraryVersionError(RuntimeError):
    """An installed library is not the release the engine's patches and subclasses expect."""


def require_version(library: str) -> None:
    """Raise unless the installed ``library`` is the release :data:`PINNED` names.

    Raises:
        LibraryVersionError: Names the expected and the installed versions.
    """
    expected, reason = PINNED[library]
    found = metadata.version(library)
    if found != expected and not found.startswith(f"{expected}."):
        raise LibraryVersionError(
            f"{library} {found} is installed, but the studio needs {library} {expected}: "
            f"{reason}. Install the versions in requirements.txt "
            f"(pip install -r requirements.txt)."
        )


def load_libraries() -> None:
    """Check the library versions and apply the patches (once per process).

    Every engine function that builds, fits, loads or samples an SDV object calls this
    first, so the server, the CLI, workers and Ray tasks run the same library code.

    Raises:
        LibraryVersionError: ctgan, rdt or SDV is not the pinned release.
    """
    apply()


def apply() -> None:
    """Install the patches once per process (see :func:`load_libraries`)."""
    if _applied.is_set():
        return
    with _lock:
        if _applied.is_set():
            return
        for library in PINNED:
            require_version(library)
        # Under the lock: two threads importing SDV at once (the server's background
        # warm-up and a page's first detection) can deadlock in importlib.
        import sdv.single_table  # noqa: F401

        _patch_is_faker_function()
        warnings.filterwarnings(
            "ignore", message=r"The datetime format for column .* could not be verified"
        )
        _applied.set()


def _patch_is_faker_function() -> None:
    """Item 1 of the module docstring: SDV imported the name, so both bindings change."""
    import rdt.transformers.pii.anonymization as anonymization
    import sdv.metadata._single_table as single_table
    from faker import Faker

    original = anonymization.is_faker_function
    english = Faker("en_US")

    @lru_cache(maxsize=512)
    def is_faker_function(function_name: str) -> bool:
        if hasattr(english, function_name):
            return True
        return bool(original(function_name))

    anonymization.is_faker_function = is_faker_function
    single_table.is_faker_function = is_faker_function
