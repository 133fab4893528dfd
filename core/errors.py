"""The project's exceptions.

Every error a user can cause is a :class:`StudioError` whose message names the problem
(the file, column or parameter) and the fix. Pages show ``str(error)`` with ``st.error``;
the command line prints it on one line and exits non-zero.

Tree::

    StudioError
    ├── ConfigurationError   a server setting is unsafe or invalid (e.g. a short secret)
    ├── DataLoadError        a file or database could not be read into a table
    ├── DataValidationError  the table was read but cannot be used as it is
    ├── MetadataError        the column types / PII choices are inconsistent
    ├── ParameterError       a synthesizer or run setting is invalid
    ├── TrainingError        fitting failed, was cancelled, or the worker died
    │   └── TrainingCancelled
    ├── ModelFileError       a stored or uploaded model is missing, tampered or unsigned
    ├── SamplingError        rows could not be generated (e.g. impossible conditions)
    └── EvaluationError      a score could not be computed (e.g. one-class target)
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DataLoadError",
    "DataValidationError",
    "EvaluationError",
    "MetadataError",
    "ModelFileError",
    "ParameterError",
    "SamplingError",
    "StudioError",
    "TrainingCancelled",
    "TrainingError",
]


class StudioError(Exception):
    """Base class: a problem the user can act on; the message says what to do."""


class ConfigurationError(StudioError):
    """A server setting is unsafe or invalid; the operator must fix it before use."""


class DataLoadError(StudioError):
    """A file or database could not be read into a table."""


class DataValidationError(StudioError):
    """The table was read but cannot be used as it is (empty, duplicate headers, ...)."""


class MetadataError(StudioError):
    """The column types or PII choices are inconsistent with the data."""


class ParameterError(StudioError):
    """A synthesizer hyperparameter or run setting is invalid."""


class TrainingError(StudioError):
    """Fitting failed, or the worker running it stopped unexpectedly."""


class TrainingCancelled(TrainingError):
    """The user cancelled the fit."""


class ModelFileError(StudioError):
    """A model file is missing, tampered with, or not signed by this server."""


class SamplingError(StudioError):
    """Synthetic rows could not be generated as asked."""


class EvaluationError(StudioError):
    """A score could not be computed for this data."""
