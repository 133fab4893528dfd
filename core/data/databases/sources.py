"""Naming a database: URLs, ``connection:<name>`` entries, passwords and their redaction.

:func:`parse_source` turns what the user typed into a :class:`DatabaseSource` and applies the
operator's switches (:mod:`~core.data.databases.policy`): databases off, hosts that may be
contacted, folders for database files. The password comes from the first of: the password
field, the URL, the environment, the secrets file; a password the studio holds for the user
(environment, secrets, libpq's password file) is attached only when every host option of the
URL (``host``, ``hostaddr``, ``PGHOST``, ``PGHOSTADDR``) is one it may go to.
:func:`redact_url` is how a URL is shown. Nothing here connects.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.data.databases.errors import DatabaseError
from core.data.databases.policy import DatabasePolicy, database_policy, host_matches
from core.store.settings import PROJECT_ROOT

CONNECT_TIMEOUT_S = 10.0
"""Seconds to wait for a database server to answer before giving up."""

STATEMENT_TIMEOUT_S = 300.0
"""Seconds one statement may run (PostgreSQL ``statement_timeout``; SQLite interrupts)."""

PASSWORD_ENV = "STUDIO_DB_PASSWORD"
"""Environment variable holding a database password (used when the URL has none)."""

PASSWORD_HOSTS_ENV = "STUDIO_DB_PASSWORD_HOSTS"
"""Comma-separated hosts :data:`PASSWORD_ENV` and ``PGPASSWORD`` may be sent to (unset: any
host the studio may contact)."""

NO_PASSWORD_FILE = os.path.join(os.devnull, "no-password-file")
"""A ``passfile`` that cannot exist, so libpq reads no ``~/.pgpass`` for a disallowed host."""

_CONNECTION_PREFIX = "connection:"
_BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "duckdb": "DuckDB"}
_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "duckdb": "duckdb"}
_BACKEND_ALIASES = {"postgres": "postgresql", "pgsql": "postgresql"}
_URL_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_EXAMPLES = ("sqlite:///data.db, duckdb:///data.duckdb or "
             "postgresql://user@host:5432/dbname")
_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword", "passfile", "pass", "pwd"})
# libpq options a URL may carry. Left out on purpose: options (could switch read-only off),
# service/servicefile (hosts the studio cannot check), passfile, require_auth (the studio
# sets them), sslkeylogfile (writes a file on the server) and anything unknown.
_POSTGRES_OPTIONS = frozenset({
    "host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "sslnegotiation",
    "sslcompression", "sslsni", "ssl_min_protocol_version", "ssl_max_protocol_version",
    "gssencmode", "gsslib", "gssdelegation", "channel_binding", "target_session_attrs",
    "load_balance_hosts", "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "tcp_user_timeout", "client_encoding", "krbsrvname", "requirepeer",
    "connect_timeout", "application_name", "fallback_application_name",
})
# Options naming files on the server: only in the operator's own connections or on the CLI.
_POSTGRES_FILE_OPTIONS = frozenset({"sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir",
                                    "sslpassword"})


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class DatabaseSource:
    """A database to read from or write to.

    Holds the full URL, password included, so it must never be printed as such: ``str``
    and ``repr`` show :attr:`display`, the URL with the password as ``***``. Build one
    with :func:`parse_source`.

    Attributes:
        url: The SQLAlchemy URL with the driver the studio uses (psycopg 3 for PostgreSQL).
        connection_name: The ``[connections.<name>]`` entry it came from, if any.
        connect_timeout_s: Seconds to wait for the server to answer.
        statement_timeout_s: Seconds one statement may run.
        policy: The operator's switches it was parsed under (checked again on connecting).
        passfile: The libpq password file PostgreSQL may consult when no password is
            attached ("" is libpq's ``~/.pgpass``); None: none (the host may not have it).
    """

    url: URL = field(repr=False)
    connection_name: str | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    statement_timeout_s: float = STATEMENT_TIMEOUT_S
    policy: DatabasePolicy = field(default_factory=DatabasePolicy, repr=False)
    passfile: str | None = field(default=None, repr=False)

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"postgresql"`` or ``"duckdb"``."""
        return self.url.get_backend_name()

    @property
    def kind(self) -> str:
        """The product name: ``"SQLite"``, ``"PostgreSQL"`` or ``"DuckDB"``."""
        return _BACKENDS[self.backend]

    @property
    def display(self) -> str:
        """The URL to show: driver suffix dropped, password (and secret options) ``***``."""
        return redact_url(self.url)

    @property
    def database_name(self) -> str:
        """The file name (SQLite, DuckDB) or database name (PostgreSQL)."""
        if self.backend == "postgresql":
            return self.url.database or self.url.username or "postgres"
        return Path(self.url.database or "").name or "database"

    @property
    def location(self) -> str:
        """Where the database is, for messages: ``host:port/db`` or an absolute file path."""
        if self.backend == "postgresql":
            host = self.url.host or "the local socket"
            port = f":{self.url.port}" if self.url.port else (":5432" if self.url.host else "")
            return f"{host}{port}/{self.database_name}"
        return str(_file_path(self))

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form of the password that could appear in driver text (for scrubbing)."""
        values = [str(self.url.password or "")] + [
            str(value) for key, value in self.url.query.items()
            if key.lower() in _SECRET_QUERY_KEYS and isinstance(value, str)]
        forms = {form for value in values if value
                 for form in (value, quote(value, safe=""), quote_plus(value),
                              quote(value, safe="!$&'()*+,;=:"))}
        return tuple(sorted(forms, key=len, reverse=True))

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"DatabaseSource({self.display!r})"


@dataclass(frozen=True)
class TableRef:
    """A table or view, optionally in a schema.

    Attributes:
        schema: The schema (``public`` in PostgreSQL); None for SQLite and DuckDB's ``main``.
        name: The table name, unquoted.
    """

    schema: str | None
    name: str

    @property
    def label(self) -> str:
        """``schema.name`` or ``name``: what lists and ``--table`` use."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def __str__(self) -> str:
        return self.label


# --------------------------------------------------------------------------- URLs


def is_database_url(text: str) -> bool:
    """True if ``text`` looks like a database URL or a ``connection:<name>`` reference."""
    text = text.strip()
    return bool(_URL_SHAPE.match(text)) or (
        text.startswith(_CONNECTION_PREFIX) and len(text) > len(_CONNECTION_PREFIX)
    )


def redact_url(url: URL | str) -> str:
    """The URL with the password shown as ``***`` and the driver suffix dropped.

    ``postgresql+psycopg://ann:pw@db/loans`` becomes ``postgresql://ann:***@db/loans``.
    Query options that carry secrets (``password=``, ``sslpassword=``) are masked too. Text
    that is not a URL is reduced to its scheme, since it might hold a password.
    """
    if isinstance(url, str):
        try:
            url = make_url(url.strip())
        except (ArgumentError, ValueError):
            scheme = url.split("://", 1)[0] if "://" in url else ""
            return f"{scheme}://…" if scheme.isidentifier() else "(not a URL)"
    shown = url.set(drivername=url.get_backend_name())
    masked = {key: "***" if key.lower() in _SECRET_QUERY_KEYS else value
              for key, value in shown.query.items()}
    return shown.set(query=masked).render_as_string(hide_password=True)


def split_password(text: str) -> tuple[str, str | None]:
    """Take the password out of a typed URL: ``(url_without_password, password)``.

    The app calls this when the user pastes a URL with a password, so the URL field never
    keeps showing it. Text that is not a URL, or has no password, comes back unchanged.
    """
    stripped = text.strip()
    if not _URL_SHAPE.match(stripped):
        return text, None
    try:
        url = make_url(stripped)
    except (ArgumentError, ValueError):
        return text, None
    password = url.password
    query = dict(url.query)
    if password is None and isinstance(query.get("password"), str):
        password = query.pop("password")
        url = url.set(query=query)
    if not password:
        return text, None
    without = URL.create(drivername=url.drivername, username=url.username, host=url.host,
                         port=url.port, database=url.database, query=url.query)
    return without.render_as_string(hide_password=False), str(password)


def parse_source(
    text: str,
    *,
    password: str | None = None,
    secrets: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
    policy: DatabasePolicy | None = None,
) -> DatabaseSource:
    """Turn a URL (or ``connection:<name>``) into a :class:`DatabaseSource`.

    Args:
        text: ``sqlite:///file.db``, ``duckdb:///file.duckdb``,
            ``postgresql://user@host:port/db`` or ``connection:<name>``.
        password: A password typed separately; it wins over every other source.
        secrets: The parsed ``secrets.toml`` (``st.secrets`` or :func:`read_secrets`), for
            ``connection:<name>``, ``[database] password`` and the ``[studio]`` switches;
            None uses none.
        environ: Where to look for the switches, ``STUDIO_DB_PASSWORD``/``PGPASSWORD`` and
            ``PGHOST``/``PGHOSTADDR``/``PGPASSFILE``; None is ``os.environ``.
        connect_timeout_s: Seconds to wait for the server.
        statement_timeout_s: Seconds one statement may run.
        policy: The operator's switches; None reads them as the app does
            (:func:`~core.data.databases.policy.database_policy` from ``environ`` and
            ``secrets``). The command line passes its own (``operator_tool=True``).

    Returns:
        The source; nothing is connected yet.

    Raises:
        DatabaseNotAllowedError: Databases are off, or the host or file is not allowed.
        DatabaseError: The text is not a URL, names an unknown connection, or a database
            the studio does not read. The message never repeats a password.
    """
    text = (text or "").strip()
    secrets = secrets or {}
    environ = os.environ if environ is None else environ
    policy = policy if policy is not None else database_policy(environ, secrets)
    policy.check_enabled()
    connection_name: str | None = None
    if not text:
        raise DatabaseError(f"Enter a database URL, for example {_EXAMPLES}.")
    if text.startswith(_CONNECTION_PREFIX):
        connection_name = text[len(_CONNECTION_PREFIX):].strip()
        url = _url_from_connection(connection_name, secrets)
    else:
        if not _URL_SHAPE.match(text):
            raise DatabaseError(
                f"That is not a database URL. Write it like {_EXAMPLES} (a file path needs "
                "the sqlite:/// or duckdb:/// prefix)."
            )
        try:
            url = make_url(text)
        except (ArgumentError, ValueError):
            raise DatabaseError(
                f"The database URL {redact_url(text)} could not be read. Write it like "
                f"{_EXAMPLES}; special characters in the user name or password must be "
                "URL-encoded (@ as %40, / as %2F), or leave the password out and enter it "
                "in the password field."
            ) from None
    url = _normalise_driver(url)
    query = dict(url.query)
    if isinstance(query.get("password"), str):  # ?password=... is a URL password too
        from_query = query.pop("password")
        url = url.set(password=url.password or from_query, query=query)
    backend = url.get_backend_name()
    if backend in ("sqlite", "duckdb") and url.query:
        # The driver would let URL options override read-only mode and file-access limits.
        raise DatabaseError(
            f"{_BACKENDS[backend]} URLs take no options after '?' (got "
            f"{', '.join(sorted(url.query))}). Remove them: the studio opens the file "
            "read-only itself."
        )
    if backend in ("sqlite", "duckdb"):
        if not url.database or url.database == ":memory:" or url.database.startswith(":"):
            raise DatabaseError(
                f"{redact_url(url)} names no file (an in-memory {_BACKENDS[backend]} database "
                f"is always empty). Give the file: {backend}:///relative/path or "
                f"{backend}:////absolute/path."
            )
    passfile: str | None = None
    if backend in ("sqlite", "duckdb"):
        policy.database_file(str(url.database), _BACKENDS[backend])
    if backend == "postgresql":  # SQLite and DuckDB files have no passwords
        url = _postgres_url_checked(url, environ, policy, trusted=connection_name is not None)
        hosts = postgres_hosts(postgres_arguments(url))
        policy.check_hosts(hosts)
        held_allowed = _held_passwords_allowed(hosts, postgres_arguments(url), environ)
        chosen = password or url.password or \
            (_password_from_environment(environ) if held_allowed else None) or \
            _password_from_secrets(hosts, secrets, postgres_arguments(url))
        if chosen:
            url = url.set(password=chosen)
        passfile = environ.get("PGPASSFILE", "") if held_allowed else None
    return DatabaseSource(url=url, connection_name=connection_name,
                          connect_timeout_s=connect_timeout_s,
                          statement_timeout_s=statement_timeout_s, policy=policy,
                          passfile=passfile)


def postgres_arguments(url: URL) -> dict[str, Any]:
    """The libpq connection options a PostgreSQL URL stands for (SQLAlchemy's reading).

    Several hosts (``?host=a:5432&host=b:5433``) become libpq's comma-separated lists.
    """
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    _, arguments = PGDialect_psycopg().create_connect_args(url)
    return {key: ",".join(str(part) for part in value) if isinstance(value, list | tuple)
            else value for key, value in arguments.items()}


def postgres_hosts(arguments: Mapping[str, Any]) -> tuple[str, ...]:
    """Every place a PostgreSQL connection may go: each host ("" is the default socket).

    Both the ``host`` and the ``hostaddr`` entries count: libpq connects to ``hostaddr``
    and uses ``host`` for the password file and certificate checks.
    """
    names = [part.strip() for part in str(arguments.get("host") or "").split(",")]
    addresses = [part.strip() for part in str(arguments.get("hostaddr") or "").split(",")
                 if part.strip()]
    return tuple(names) + tuple(addresses)


def libpq_refuses_cleartext() -> bool:
    """True if the installed libpq can refuse a request for the password in clear text.

    That takes ``require_auth``, new in libpq 16.
    """
    from psycopg import pq

    return pq.version() >= 160000


def named_connections(secrets: Mapping[str, Any] | None) -> list[str]:
    """The names of ``[connections.<name>]`` entries that describe a database, sorted."""
    connections = (secrets or {}).get("connections") or {}
    if not isinstance(connections, Mapping):
        return []
    return sorted(name for name, entry in connections.items()
                  if isinstance(entry, Mapping) and ("url" in entry or "dialect" in entry))


def read_secrets(paths: Iterable[Path] | None = None) -> dict[str, Any]:
    """Read Streamlit-style ``secrets.toml`` files, later files overriding earlier ones.

    Args:
        paths: Files to read; None reads ``~/.streamlit/secrets.toml``, then
            ``.streamlit/secrets.toml`` in the project and in the working directory (the
            places Streamlit itself reads). Missing or unreadable files are skipped.

    Returns:
        The merged tables.
    """
    if paths is None:
        paths = [Path.home() / ".streamlit" / "secrets.toml",
                 PROJECT_ROOT / ".streamlit" / "secrets.toml",
                 Path.cwd() / ".streamlit" / "secrets.toml"]
    merged: dict[str, Any] = {}
    seen: set[Path] = set()
    for path in paths:
        resolved = Path(path).expanduser().resolve()
        if resolved in seen or not resolved.is_file():
            continue
        seen.add(resolved)
        try:
            with resolved.open("rb") as handle:
                _merge(merged, tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return merged


# --------------------------------------------------------------------------- internals


def _merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def _url_from_connection(name: str, secrets: Mapping[str, Any]) -> URL:
    names = named_connections(secrets)
    entry = ((secrets.get("connections") or {}) if isinstance(secrets, Mapping) else {}).get(
        name)
    if not name or not isinstance(entry, Mapping) or name not in names:
        known = ", ".join(names) if names else "none are defined"
        raise DatabaseError(
            f"There is no connection '{name}' in .streamlit/secrets.toml ({known}). Add a "
            f"[connections.{name or 'name'}] table with url = \"...\"."
        )
    try:
        if "url" in entry:
            return make_url(str(entry["url"]).strip())
        dialect = str(entry["dialect"])
        driver = entry.get("driver")
        port = entry.get("port")
        return URL.create(
            drivername=f"{dialect}+{driver}" if driver else dialect,
            username=entry.get("username"), password=entry.get("password"),
            host=entry.get("host"), port=int(port) if port else None,
            database=entry.get("database"), query=dict(entry.get("query") or {}),
        )
    except (ArgumentError, ValueError, TypeError):
        raise DatabaseError(
            f"The connection '{name}' in .streamlit/secrets.toml is not a valid database URL. "
            f"Write it like url = \"{_EXAMPLES.split(',')[0]}\"."
        ) from None


def _normalise_driver(url: URL) -> URL:
    backend = _BACKEND_ALIASES.get(url.get_backend_name(), url.get_backend_name())
    if backend not in _BACKENDS:
        raise DatabaseError(
            f"The studio reads SQLite, PostgreSQL and DuckDB, not '{backend}'. Export the "
            f"table to one of these (or to a file) first; URLs look like {_EXAMPLES}."
        )
    return url.set(drivername=_DRIVERS[backend])


def _postgres_url_checked(url: URL, environ: Mapping[str, str], policy: DatabasePolicy,
                          trusted: bool) -> URL:
    """Refuse options the studio does not pass on; make ``PGHOST``/``PGHOSTADDR`` explicit.

    libpq would read those variables itself; written into the URL they are checked like
    any host and shown where the connection goes.
    """
    arguments = postgres_arguments(url)
    allowed = _POSTGRES_OPTIONS | (_POSTGRES_FILE_OPTIONS
                                   if trusted or policy.file_dirs is None else frozenset())
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise DatabaseError(
            f"The URL option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"{'are' if len(unknown) > 1 else 'is'} not used by the studio: remove "
            f"{'them' if len(unknown) > 1 else 'it'}. It sets the session options, password "
            "file and authentication rules itself, and needs the host written in the URL "
            "(not in a service file)."
        )
    extra = {}
    if not arguments.get("host") and environ.get("PGHOST"):
        extra["host"] = environ["PGHOST"]
    if not arguments.get("hostaddr") and environ.get("PGHOSTADDR"):
        extra["hostaddr"] = environ["PGHOSTADDR"]
    return url.update_query_dict(extra) if extra else url


def _held_passwords_allowed(hosts: tuple[str, ...], arguments: Mapping[str, Any],
                            environ: Mapping[str, str]) -> bool:
    """May a password the studio holds (environment, ``~/.pgpass``) go to these hosts?

    Only if every host option is listed in ``STUDIO_DB_PASSWORD_HOSTS`` when that is set
    (the caller has already checked them against ``STUDIO_DB_HOSTS``), and only if libpq
    can refuse a clear-text password request, or the server proves who it is
    (``sslmode=verify-full``).
    """
    listed = [host.strip() for host in environ.get(PASSWORD_HOSTS_ENV, "").split(",")
              if host.strip()]
    if listed and not all(host_matches(host, listed) for host in hosts):
        return False
    return libpq_refuses_cleartext() or arguments.get("sslmode") == "verify-full"


def _password_from_environment(environ: Mapping[str, str]) -> str | None:
    return environ.get(PASSWORD_ENV) or environ.get("PGPASSWORD") or None


def _password_from_secrets(hosts: tuple[str, ...], secrets: Mapping[str, Any],
                           arguments: Mapping[str, Any]) -> str | None:
    section = secrets.get("database") if isinstance(secrets, Mapping) else None
    if not isinstance(section, Mapping) or not section.get("password"):
        return None
    host = section.get("host")
    if host and not all(host_matches(each, [str(host)]) for each in hosts):
        return None  # restricted to another server, and every host option must be it
    if not (libpq_refuses_cleartext() or arguments.get("sslmode") == "verify-full"):
        return None
    return str(section["password"])



def _file_path(source: DatabaseSource) -> Path:
    return Path(source.url.database or "").expanduser().absolute()
