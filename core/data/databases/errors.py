"""The database errors: reading failures, refused queries, refusals and write failures.

Every message is written for the user and never contains a password.
"""

from __future__ import annotations

from core.errors import DataLoadError, StudioError


class DatabaseError(DataLoadError):
    """A database could not be reached or read; the message never contains a password."""


class QueryNotAllowedError(DatabaseError):
    """The query is not a single read-only SELECT; nothing was sent to the database."""


class DatabaseNotAllowedError(DatabaseError):
    """The operator's settings forbid this database, host, file or user; nothing was read.

    The message says which switch (``STUDIO_DATABASES``, ``STUDIO_DB_HOSTS``,
    ``STUDIO_DB_FILE_DIRS``) decides, and never whether a file outside the allowed folders
    exists.
    """


class DatabaseWriteError(StudioError):
    """Synthetic rows could not be written to the database (nothing was changed)."""


class WriteNotAllowedError(DatabaseWriteError):
    """The operator's settings forbid writing there; nothing was opened or changed."""


class TableExistsError(DatabaseWriteError):
    """The table to write already exists and replacing it was not confirmed."""
