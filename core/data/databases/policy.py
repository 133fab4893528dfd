"""The operator's switches: which databases, hosts and files the studio may use.

Three settings, each read from the environment or, when unset there, from the ``[studio]``
table of ``.streamlit/secrets.toml`` (as the job backend's settings are):

* ``STUDIO_DATABASES`` (``databases``): ``off`` (no database source, no write-back),
  ``read`` (the app's default: read as a user that cannot write; write-back only creates
  new database files in an allowed folder) or ``readwrite`` (any user; write-back may also
  add tables to existing databases).
* ``STUDIO_DB_HOSTS`` (``db_hosts``): comma-separated hosts, IP addresses or networks
  (``10.0.0.0/8``) the studio may contact; ``localhost`` (the default) also covers the
  loopback addresses and Unix sockets; ``*`` is any host.
* ``STUDIO_DB_FILE_DIRS`` (``db_file_dirs``): folders (separated by ``:``, or a list in
  TOML) where SQLite and DuckDB files may be opened or created. Default: none. A folder
  that is, holds or lies inside the studio's data directory or Python's libraries,
  or that is or holds a home folder, is never used, whatever is configured.

The command line is the operator's own tool (:func:`database_policy` with
``operator_tool=True``): a switch that is set is honoured, an unset one allows what the
command names. Whatever the switches say, reading connections stay read-only
(:mod:`~core.data.databases.connecting`) and nothing is ever written into the data
directory or Python's libraries.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import site
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data.databases.errors import DatabaseNotAllowedError
from core.store.settings import get_settings

MODE_ENV = "STUDIO_DATABASES"
"""``off``, ``read`` or ``readwrite``: what the studio may do with databases."""

HOSTS_ENV = "STUDIO_DB_HOSTS"
"""Comma-separated hosts the studio may contact (default: ``localhost``)."""

FILE_DIRS_ENV = "STUDIO_DB_FILE_DIRS"
"""Folders (``os.pathsep``-separated) where SQLite/DuckDB files may be opened or created."""

MODES = ("off", "read", "readwrite")
_SECRETS_KEYS = {MODE_ENV: "databases", HOSTS_ENV: "db_hosts", FILE_DIRS_ENV: "db_file_dirs"}


@dataclass(frozen=True)
class DatabasePolicy:
    """What the operator allows; build one with :func:`database_policy`.

    Attributes:
        mode: ``off``, ``read`` or ``readwrite``.
        hosts: Hosts, addresses or networks that may be contacted; None allows any.
        file_dirs: Real paths of the folders for database files; None allows any folder.
        protected: ``(folder, what it is)`` pairs that are never written to (the data
            directory, Python's libraries and packages).
        problems: Configuration mistakes, repeated in every refusal they may explain.
    """

    mode: str = "read"
    hosts: tuple[str, ...] | None = ("localhost",)
    file_dirs: tuple[Path, ...] | None = ()
    protected: tuple[tuple[Path, str], ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def can_read(self) -> bool:
        """False when databases are ``off``."""
        return self.mode in ("read", "readwrite")

    @property
    def writers_allowed(self) -> bool:
        """True with ``readwrite``: writers may connect, existing databases get tables."""
        return self.mode == "readwrite"

    def check_enabled(self) -> None:
        """Refuse everything when databases are ``off``.

        Raises:
            DatabaseNotAllowedError: ``STUDIO_DATABASES`` is ``off`` or not understood.
        """
        if not self.can_read:
            raise DatabaseNotAllowedError(self._with_problems(
                "Databases are turned off on this server (STUDIO_DATABASES=off, set by whoever "
                "runs the studio). Upload the table as a file instead."))

    def may_contact(self, host: str) -> bool:
        """True if ``host`` may be contacted ("" is libpq's default Unix socket)."""
        return self.hosts is None or host_matches(host, self.hosts)

    def check_hosts(self, hosts: Iterable[str]) -> None:
        """Refuse unless every host may be contacted.

        Raises:
            DatabaseNotAllowedError: One host is not in ``STUDIO_DB_HOSTS``.
        """
        for host in hosts:
            if not self.may_contact(host):
                allowed = ", ".join(self.hosts or ())
                raise DatabaseNotAllowedError(self._with_problems(
                    f"The studio may not contact {show_host(host)}: on this server it reaches "
                    f"only {allowed} (STUDIO_DB_HOSTS, set by whoever runs the studio). Ask "
                    "them to add the database server, or export the table to a file and "
                    "upload it."))

    def database_file(self, text: str, kind: str) -> Path:
        """The real path (links followed) of a SQLite/DuckDB file the studio may open.

        The check looks only at the path, never at the disk, so the refusal reads the same
        whether or not such a file exists.

        Args:
            text: The path from the URL (relative to the working folder, ``~`` allowed).
            kind: ``"SQLite"`` or ``"DuckDB"``, for the message.

        Raises:
            DatabaseNotAllowedError: The path is outside the allowed folders (``..`` and
                links are resolved first) or inside a protected folder.
        """
        real = real_path(text)
        if self.file_dirs is None:
            return real
        inside = any(real.is_relative_to(folder) for folder in self.file_dirs)
        if not inside or self.protected_folder(real) is not None:
            if self.file_dirs:
                shown = ", ".join(str(folder) for folder in self.file_dirs)
                message = (f"On this server {kind} files can be opened only inside {shown} "
                           "(STUDIO_DB_FILE_DIRS, set by whoever runs the studio). Give a "
                           "path inside one of these folders.")
            else:
                message = (f"This server opens no {kind} files: whoever runs the studio has "
                           "allowed no folder for them (STUDIO_DB_FILE_DIRS). Upload the "
                           "table as a file instead.")
            raise DatabaseNotAllowedError(self._with_problems(message))
        return real

    def describe_reading(self) -> str:
        """One sentence for the Data page: what may be read on this server."""
        if not self.can_read:
            return self._with_problems("Databases are turned off on this server "
                                       "(STUDIO_DATABASES=off): upload the table as a file "
                                       "instead.")
        users = ("reads only as users that cannot change the database" if
                 not self.writers_allowed else "reads as any user (still read-only)")
        return self._with_problems(
            f"On this server the studio reaches database servers on {self._hosts_text()}, "
            f"opens {self._files_text()}, and {users}.")

    def describe_writing(self) -> str:
        """One sentence for the Generate page: where synthetic rows may be written."""
        if not self.can_read:
            return "Databases are turned off on this server, so nothing can be written there."
        if not self.writers_allowed:
            if self.file_dirs == ():
                return ("On this server the rows can only go to a new database file in an "
                        "allowed folder, and no folder is allowed (STUDIO_DB_FILE_DIRS), so "
                        "download them instead.")
            return ("On this server the rows can go only to a new SQLite or DuckDB file "
                    f"(*.db, *.sqlite, *.sqlite3, *.duckdb) {self._folders_text()}.")
        return (f"On this server the rows can go to PostgreSQL on {self._hosts_text()} and to "
                f"SQLite or DuckDB files {self._folders_text()}.")

    def _hosts_text(self) -> str:
        if self.hosts is None:
            return "any host"
        return ", ".join("this machine" if host.strip().lower() == "localhost" else host
                         for host in self.hosts)

    def _files_text(self) -> str:
        if self.file_dirs == ():
            return "no SQLite or DuckDB files"
        return f"SQLite and DuckDB files {self._folders_text()}"

    def _folders_text(self) -> str:
        if self.file_dirs is None:
            return "in any folder"
        if not self.file_dirs:
            return "in no folder"
        return "inside " + ", ".join(str(folder) for folder in self.file_dirs)

    def protected_folder(self, path: Path) -> str | None:
        """What protected folder ``path`` (a real path) is inside, or None."""
        for folder, what in self.protected:
            if path == folder or path.is_relative_to(folder):
                return what
        return None

    def _with_problems(self, message: str) -> str:
        return " ".join((message, *self.problems))


def database_policy(environ: Mapping[str, str] | None = None,
                    secrets: Mapping[str, Any] | None = None, *,
                    operator_tool: bool = False) -> DatabasePolicy:
    """Read the operator's switches; the environment wins over ``[studio]`` in secrets.

    Args:
        environ: The environment; None is ``os.environ``.
        secrets: The parsed ``secrets.toml`` (its ``[studio]`` table is read); None: none.
        operator_tool: True for the command line: an unset switch allows what the command
            names (any host, any folder, any database user). False (the app): unset
            switches mean ``read``, ``localhost`` and no folders.

    Returns:
        The policy. Mistakes (an unknown mode, a refused folder) are in ``problems``; an
        unknown mode turns databases off.
    """
    environ = os.environ if environ is None else environ
    section = (secrets or {}).get("studio") if isinstance(secrets, Mapping) else None
    section = section if isinstance(section, Mapping) else {}

    def setting(variable: str) -> Any:
        value = environ.get(variable)
        if value is None or not str(value).strip():
            value = section.get(_SECRETS_KEYS[variable])
        if isinstance(value, str) and not value.strip():
            return None
        return value

    problems: list[str] = []
    mode_text = setting(MODE_ENV)
    mode = str(mode_text).strip().lower() if mode_text is not None else (
        "readwrite" if operator_tool else "read")
    if mode not in MODES:
        problems.append(f"(STUDIO_DATABASES='{mode_text}' is none of off, read, readwrite, so "
                        "databases stay off until it is corrected.)")
        mode = "off"
    hosts_value = setting(HOSTS_ENV)
    hosts: tuple[str, ...] | None
    if hosts_value is None:
        hosts = None if operator_tool else ("localhost",)
    else:
        entries = hosts_value if isinstance(hosts_value, list | tuple) else \
            str(hosts_value).split(",")
        hosts = tuple(str(entry).strip() for entry in entries if str(entry).strip())
        if "*" in hosts:
            hosts = None
    protected = protected_folders(environ)
    dirs_value = setting(FILE_DIRS_ENV)
    file_dirs: tuple[Path, ...] | None
    if dirs_value is None:
        file_dirs = None if operator_tool else ()
    else:
        entries = dirs_value if isinstance(dirs_value, list | tuple) else \
            str(dirs_value).split(os.pathsep)
        accepted: list[Path] = []
        for entry in (str(entry).strip() for entry in entries):
            if not entry:
                continue
            folder, problem = _allowed_folder(entry, protected)
            if problem:
                problems.append(problem)
            elif folder is not None and folder not in accepted:
                accepted.append(folder)
        file_dirs = tuple(accepted)
    return DatabasePolicy(mode=mode, hosts=hosts, file_dirs=file_dirs, protected=protected,
                          problems=tuple(problems))


def protected_folders(environ: Mapping[str, str] | None = None
                      ) -> tuple[tuple[Path, str], ...]:
    """Folders nothing is ever written into: the data directory and Python's own.

    A model index or a ``.pth`` file overwritten there would break every user's studio, or
    run code at the next Python start.
    """
    environ = os.environ if environ is None else environ
    found: list[tuple[Path, str]] = []
    data_dirs = [get_settings().data_dir]
    if environ.get("STUDIO_DATA_DIR"):
        data_dirs.append(Path(environ["STUDIO_DATA_DIR"]).expanduser())
    for folder in data_dirs:
        found.append((real_path(str(folder)), "the studio's data directory"))
    python_dirs = [*site.getsitepackages(), site.getusersitepackages()]
    paths = sysconfig.get_paths()
    python_dirs += [paths[key] for key in ("purelib", "platlib", "stdlib", "platstdlib")
                    if key in paths]
    for folder in python_dirs:
        found.append((real_path(folder), "Python's libraries and packages"))
    unique: dict[Path, str] = {}
    for folder, what in found:
        unique.setdefault(folder, what)
    return tuple(unique.items())


def home_folders() -> set[Path]:
    """The home folders of this machine's accounts and of the user running the studio."""
    homes = {real_path(str(Path.home()))}
    if os.environ.get("HOME"):
        homes.add(real_path(os.environ["HOME"]))
    try:
        homes.update(real_path(entry.pw_dir) for entry in pwd.getpwall() if entry.pw_dir)
    except OSError:  # pragma: no cover - no account database
        pass
    return homes


def host_matches(host: str, allowed: Iterable[str]) -> bool:
    """True if ``host`` is one of ``allowed`` (names, addresses, networks, ``localhost``)."""
    name = _plain_host(host)
    for entry in allowed:
        wanted = _plain_host(entry)
        if wanted == "*" or wanted == name or (wanted == "localhost" and _is_local(name)):
            return True
        try:
            if ipaddress.ip_address(name) in ipaddress.ip_network(wanted, strict=False):
                return True
        except ValueError:
            continue
    return False


def show_host(host: str) -> str:
    """A host as messages show it ("" is libpq's default Unix socket)."""
    return host if host else "the local socket"


def real_path(text: str) -> Path:
    """``text`` as an absolute path with ``~``, ``..`` and every link resolved."""
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    return Path(os.path.realpath(path))


# --------------------------------------------------------------------------- internals


def _plain_host(host: str) -> str:
    return str(host).strip().strip("[]").rstrip(".").lower()


def _is_local(name: str) -> bool:
    if name in ("", "localhost") or name.startswith(("/", "@")):  # Unix sockets are local
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _allowed_folder(text: str, protected: tuple[tuple[Path, str], ...]
                    ) -> tuple[Path | None, str | None]:
    """``(real folder, None)`` if ``text`` may hold database files, else ``(None, why)``."""
    if not Path(text).expanduser().is_absolute():
        return None, (f"(The folder '{text}' in STUDIO_DB_FILE_DIRS is not used: give an "
                      "absolute path.)")
    folder = real_path(text)
    if not folder.is_dir():
        return None, f"(The folder {text} in STUDIO_DB_FILE_DIRS is not used: it does not exist.)"
    for other, what in protected:
        if folder == other or folder.is_relative_to(other) or other.is_relative_to(folder):
            return None, (f"(The folder {text} in STUDIO_DB_FILE_DIRS is not used: it is, holds "
                          f"or lies inside {what}.)")
    for home in home_folders():
        if home == folder or home.is_relative_to(folder):
            return None, (f"(The folder {text} in STUDIO_DB_FILE_DIRS is not used: it is or "
                          "holds a home folder. Use a folder made for database files.)")
    return folder, None
