"""A throw-away PostgreSQL server for the database tests (no system service needed).

:class:`TempPostgres` runs ``initdb`` into a fresh directory and starts ``postgres`` on
127.0.0.1 at a free port with password authentication (scram-sha-256), then creates a
test role with a password and a test database (the role owns it, so it can write).
:meth:`TempPostgres.create_reader` adds a role that can only read, made with the SQL the
README gives. ``stop()`` shuts the server down and deletes the directory.

PostgreSQL refuses to run as root, so when the tests run as root the binaries run as the
``postgres`` system user (``runuser -u postgres --``); the directory is handed to that user.
The binaries are looked up on PATH first, then in Debian's ``/usr/lib/postgresql/<v>/bin``
(``apt-get install postgresql``, which ``.ci/run`` does on a fresh machine).

Run this file directly to start a server by hand: ``python -m tests.postgres_db``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "super-Secret-42"
ROLE = "studio_test"
# Characters that must be URL-encoded, so the tests also check redaction of encoded forms.
ROLE_PASSWORD = "Pw-s3cr3t@db/x%"
READER = "studio_reader"
READER_PASSWORD = "R3ader-only/%pw"
DATABASE = "studio"
_START_TIMEOUT_S = 30


class PostgresUnavailable(RuntimeError):
    """The binaries are missing or the server could not be started (the reason says why)."""


def find_binaries() -> tuple[Path, Path] | None:
    """``(initdb, pg_ctl)`` from PATH or Debian's versioned directories, newest first."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb), Path(pg_ctl)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
                      reverse=True)
    for bin_dir in versions:
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir / "initdb", bin_dir / "pg_ctl"
    return None


def start_for_tests(which: str) -> TempPostgres:
    """A started server for a test module; ``which`` names its tests in the skip message.

    Without the binaries the tests are skipped, loudly, on a developer's machine only: under
    CI (``CI`` set) any problem is a failure, never a skip.
    """
    import pytest

    if not os.environ.get("CI") and find_binaries() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in "
                    "/usr/lib/postgresql/*/bin: install them with `apt-get install -y "
                    f"postgresql` (.ci/run does). {which} did NOT run.")
    server = TempPostgres()
    try:
        server.start()
    except PostgresUnavailable as error:
        pytest.fail(f"Could not start the test PostgreSQL server: {error}", pytrace=False)
    return server


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class TempPostgres:
    """A private PostgreSQL server; use :meth:`start` and :meth:`stop` (or ``with``)."""

    port: int = 0
    directory: Path | None = None
    _pg_ctl: Path | None = field(default=None, repr=False)
    _prefix: list[str] = field(default_factory=list, repr=False)

    @property
    def host(self) -> str:
        """Always the loopback address."""
        return "127.0.0.1"

    def url(self, user: str = ROLE, password: str | None = None, database: str = DATABASE,
            scheme: str = "postgresql") -> str:
        """A SQLAlchemy-style URL; the password is URL-encoded when given."""
        from urllib.parse import quote

        secret = f":{quote(password, safe='')}" if password is not None else ""
        return f"{scheme}://{user}{secret}@{self.host}:{self.port}/{database}"

    def start(self) -> TempPostgres:
        """Create the cluster, start the server and create the test role and database.

        Raises:
            PostgresUnavailable: With the reason (missing binaries, initdb or start failed).
        """
        binaries = find_binaries()
        if binaries is None:
            raise PostgresUnavailable(
                "PostgreSQL binaries (initdb, pg_ctl) are not on PATH nor in "
                "/usr/lib/postgresql/*/bin. Install them with `apt-get install -y postgresql`."
            )
        initdb, self._pg_ctl = binaries
        self.directory = Path(tempfile.mkdtemp(prefix="studio_pg_"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as error:
                raise PostgresUnavailable(
                    "Running as root and there is no 'postgres' user to run the server as "
                    "(PostgreSQL refuses root). `apt-get install -y postgresql` creates it."
                ) from error
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]
        password_file = self.directory / "superuser.pw"
        password_file.write_text(SUPERUSER_PASSWORD + "\n")
        if self._prefix:
            os.chown(password_file, pwd.getpwnam("postgres").pw_uid, -1)
        data = self.directory / "data"
        self._run([str(initdb), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--no-sync",
                   "--auth-local=trust", "--auth-host=scram-sha-256",
                   f"--pwfile={password_file}"], "initdb")
        self.port = free_port()
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off")
        self._run([str(self._pg_ctl), "-D", str(data), "-o", options, "-w",
                   "-t", str(_START_TIMEOUT_S), "-l", str(self.directory / "server.log"),
                   "start"], "pg_ctl start")
        self._create_role_and_database()
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        if self.directory is None:
            return
        data = self.directory / "data"
        if self._pg_ctl is not None and (data / "postmaster.pid").exists():
            subprocess.run([*self._prefix, str(self._pg_ctl), "-D", str(data), "-m", "fast",
                            "-w", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None

    def superuser_connect(self, database: str = DATABASE,
                          autocommit: bool = True) -> psycopg.Connection:
        """A psycopg connection as the superuser (for setting up fixtures)."""
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=SUPERUSER,
                               password=SUPERUSER_PASSWORD, dbname=database,
                               autocommit=autocommit, connect_timeout=10)

    def create_reader(self, schemas: tuple[str, ...] = ("public",),
                      database: str = DATABASE) -> None:
        """Create :data:`READER`, a role that can only read ``schemas`` (the README's SQL).

        Run it after the tables exist: it grants SELECT on the tables there now and on
        those the test role creates later.
        """
        from psycopg import sql

        with self.superuser_connect(database) as connection:
            exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                        (READER,)).fetchone()
            if not exists:
                connection.execute(sql.SQL(
                    "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE "
                    "NOREPLICATION").format(sql.Identifier(READER), sql.Literal(READER_PASSWORD)))
            connection.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(READER)))
            for schema in schemas:
                names = {"schema": sql.Identifier(schema), "reader": sql.Identifier(READER),
                         "owner": sql.Identifier(ROLE)}
                connection.execute(sql.SQL("GRANT USAGE ON SCHEMA {schema} TO {reader}").format(
                    **names))
                connection.execute(sql.SQL(
                    "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {reader}").format(**names))
                connection.execute(sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
                    "GRANT SELECT ON TABLES TO {reader}").format(**names))

    def server_log(self) -> str:
        """The server's log (for failure messages)."""
        if self.directory is None:
            return ""
        log = self.directory / "server.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _run(self, command: list[str], what: str) -> None:
        try:
            completed = subprocess.run([*self._prefix, *command], capture_output=True,
                                       text=True, timeout=120, check=False, cwd="/")
        except (OSError, subprocess.TimeoutExpired) as error:
            self.stop()
            raise PostgresUnavailable(f"{what} could not run: {error}") from error
        if completed.returncode != 0:
            log = self.server_log()
            self.stop()
            raise PostgresUnavailable(
                f"{what} failed (exit {completed.returncode}): "
                f"{completed.stderr.strip() or completed.stdout.strip()}\n{log}"
            )

    def _create_role_and_database(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                connection = self.superuser_connect("postgres")
                break
            except Exception as error:  # noqa: BLE001 - retried until the deadline
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(f"server did not accept connections: {error}"
                                              ) from error
                time.sleep(0.2)
        from psycopg import sql

        with connection:
            connection.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(ROLE_PASSWORD)))
            connection.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE), sql.Identifier(ROLE)))


if __name__ == "__main__":
    server = TempPostgres().start()
    print(f"PostgreSQL running: {server.url(password=ROLE_PASSWORD)}  (Ctrl-C stops it)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
