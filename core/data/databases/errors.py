"""The database errors: reading failures, refused queries and write failures.

Every message is written for the user and never contains a password.
"""

from __future__ import annotations

from core.errors import DataLoadError, StudioError


class DatabaseError(DataLoadError):
    """A database could not be reached or read; the message never contains a password."""


class QueryNotAllowedError(DatabaseError):
    """The query is not a single read-only SELECT; nothing was sent to the database."""


class DatabaseWriteError(StudioError):
    """Synthetic rows could not be written to the database (nothing was changed)."""


class TableExistsError(DatabaseWriteError):
    """The table to write already exists and replacing it was not confirmed."""
