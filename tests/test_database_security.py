"""A hostile suite: what people sharing one studio must not be able to do with its databases.

Against a real throw-away PostgreSQL (``tests/postgres_db.py``), real SQLite and DuckDB
files and a fake PostgreSQL server on 127.0.0.1 that asks for passwords. The SQL guard is
switched off where a test is about what the database itself allows (``no_guard``): the
guard is a courtesy, the databases are the protection.
"""

from __future__ import annotations

import os
import site
import socket
import sqlite3
import struct
import threading
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core.__main__ import main
from core.data import databases as db
from core.data.databases.connecting import _connected, _driver_sql
from core.store.settings import get_settings
from tests.postgres_db import (
    READER,
    READER_PASSWORD,
    ROLE,
    ROLE_PASSWORD,
    SUPERUSER,
    SUPERUSER_PASSWORD,
    TempPostgres,
    start_for_tests,
)

SERVER_FILE = Path("/etc/hostname")
LOANS = pd.DataFrame({"amount": [1_000, 2_500, 4_000, 7_500], "grade": ["A", "B", "A", "C"]})
SWITCHES = ("STUDIO_DATABASES", "STUDIO_DB_HOSTS", "STUDIO_DB_FILE_DIRS", "STUDIO_DB_PASSWORD",
            "STUDIO_DB_PASSWORD_HOSTS", "PGPASSWORD", "PGHOST", "PGHOSTADDR", "PGSERVICE",
            "PGPASSFILE")

# Each payload tries to leave the read-only transaction or to run a second statement. They
# are written to escape the reader's wrapper, SELECT * FROM (\n<query>\n) AS studio_query.
ESCAPING_PAYLOADS = {
    # PostgreSQL reads €$$ as a name; a lexer that sees a $$ quote skips the rest.
    "euro-dollar": ("SELECT 1 AS €$$) AS x; COMMIT; BEGIN READ WRITE; DROP TABLE loans; "
                    "CREATE TABLE pwned (a int); COMMIT; SELECT * FROM (SELECT 1 AS €$$"),
    "comment": ("SELECT 1 -- just a comment\n) AS x; COMMIT; BEGIN READ WRITE; "
                "DROP TABLE loans; COMMIT; SELECT * FROM (SELECT 1 /* */"),
    "cte": ("SELECT 1) AS x; COMMIT; BEGIN READ WRITE; WITH d AS (DELETE FROM loans "
            "RETURNING *) SELECT count(*) FROM d; COMMIT; SELECT * FROM (SELECT 1"),
}
# The same sent as written, straight through the reading connection.
RAW_PAYLOADS = {
    "multi-statement": "SELECT 1; COMMIT; BEGIN READ WRITE; DROP TABLE loans; COMMIT;",
    "euro-dollar": ("SELECT 1 AS €$$; COMMIT; BEGIN READ WRITE; DROP TABLE loans; COMMIT; "
                    "SELECT 1 AS €$$"),
    "cte": "WITH d AS (DELETE FROM loans RETURNING *) SELECT count(*) FROM d",
    "read-write again": "SELECT set_config('transaction_read_only', 'off', true)",
    "comment": "SELECT 1 /* a /* nested */ comment */; DROP TABLE loans",
}
READ_SERVER_FILE = f"SELECT U&\"\\0070g_read_file\"('{SERVER_FILE}')"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def postgres() -> TempPostgres:
    """A private server: ``public.loans`` owned by the test role, and a read-only role."""
    server = start_for_tests("The hostile PostgreSQL tests")
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(server.url(password=ROLE_PASSWORD,
                                             scheme="postgresql+psycopg"))
        with engine.begin() as connection:
            LOANS.to_sql("loans", connection, index=False)
        engine.dispose()
        server.create_reader()
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _app_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the app's defaults: read, localhost, no folders."""
    for variable in SWITCHES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def no_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let every query past the SQL guard, as a lexer mistake would."""
    from core.data.databases import reading

    monkeypatch.setattr(reading, "check_select", lambda query, backend=None: query)


def tables_of(server: TempPostgres) -> dict[str, int]:
    """``{table: rows}`` of the public schema, read as the superuser."""
    with server.superuser_connect() as connection:
        names = [row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        return {name: connection.execute(f'SELECT count(*) FROM public."{name}"').fetchone()[0]
                for name in names}


def source_as(server: TempPostgres, user: str, password: str, **environ: str
              ) -> db.DatabaseSource:
    return db.parse_source(server.url(user=user), password=password, environ=environ)


def server_file_text() -> str:
    return SERVER_FILE.read_text().strip() if SERVER_FILE.exists() else "no-such-content"


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.parametrize("payload", ESCAPING_PAYLOADS.values(), ids=ESCAPING_PAYLOADS.keys())
def test_payloads_that_escape_the_query_wrapper_change_nothing(postgres, no_guard, payload):
    """Even a user that can write, allowed by readwrite, gets one read-only statement."""
    before = tables_of(postgres)
    writer = source_as(postgres, ROLE, ROLE_PASSWORD, STUDIO_DATABASES="readwrite")
    for attempt in (lambda: db.preview(writer, payload),
                    lambda: db.read_table(writer, payload)):
        with pytest.raises(db.DatabaseError, match="Only one statement can run"):
            attempt()
    assert tables_of(postgres) == before == {"loans": len(LOANS)}


@pytest.mark.parametrize("payload", RAW_PAYLOADS.values(), ids=RAW_PAYLOADS.keys())
def test_payloads_sent_straight_through_the_reading_connection_change_nothing(postgres,
                                                                              payload):
    before = tables_of(postgres)
    writer = source_as(postgres, ROLE, ROLE_PASSWORD, STUDIO_DATABASES="readwrite")
    with pytest.raises(db.DatabaseError), _connected(writer, "test") as connection:
        _driver_sql(connection, payload)
        _driver_sql(connection, "SELECT 1")
    assert tables_of(postgres) == before == {"loans": len(LOANS)}


def test_no_user_reads_a_server_file(postgres, no_guard):
    secret = server_file_text()
    for user, password in ((READER, READER_PASSWORD), (ROLE, ROLE_PASSWORD),
                           (SUPERUSER, SUPERUSER_PASSWORD)):
        # The reader may not call the function; the owner and the superuser are refused.
        with pytest.raises(db.DatabaseError) as caught:
            db.preview(source_as(postgres, user, password), READ_SERVER_FILE)
        assert secret not in str(caught.value)
    with pytest.raises(db.QueryNotAllowedError, match="pg_read_file"):  # the early message
        db.check_select(READ_SERVER_FILE, "postgresql")


def test_a_superuser_is_refused_by_default_and_allowed_with_readwrite(postgres, no_guard):
    with pytest.raises(db.DatabaseNotAllowedError) as caught:
        db.list_tables(source_as(postgres, SUPERUSER, SUPERUSER_PASSWORD))
    message = str(caught.value)
    assert "is a superuser" in message and "CREATE ROLE studio_reader" in message
    assert "STUDIO_DATABASES=readwrite" in message and SUPERUSER_PASSWORD not in message

    allowed = source_as(postgres, SUPERUSER, SUPERUSER_PASSWORD, STUDIO_DATABASES="readwrite")
    assert "public.loans" in {table.label for table in db.list_tables(allowed)}
    with pytest.raises(db.DatabaseError, match="Only one statement can run"):
        db.preview(allowed, ESCAPING_PAYLOADS["euro-dollar"])
    assert tables_of(postgres) == {"loans": len(LOANS)}


def test_a_user_that_can_write_is_refused_with_the_reasons_and_a_reader_is_not(postgres):
    with pytest.raises(db.DatabaseNotAllowedError) as caught:
        db.list_tables(source_as(postgres, ROLE, ROLE_PASSWORD))
    assert "may create tables in public" in str(caught.value)
    assert "may change tables (public.loans)" in str(caught.value)
    reader = source_as(postgres, READER, READER_PASSWORD)
    assert len(db.read_table(reader, db.find_table(reader, "loans")).frame) == len(LOANS)


def test_the_cli_runs_a_hostile_query_as_a_writer_without_harm(postgres, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.setenv("PGPASSWORD", ROLE_PASSWORD)
    code = main(["run", "--data", postgres.url(), "--query", ESCAPING_PAYLOADS["euro-dollar"],
                 "--synthesizer", "gaussian_copula", "--target", "none",
                 "--out", str(tmp_path / "out")])
    assert code != 0 and "error:" in capsys.readouterr().err
    assert tables_of(postgres) == {"loans": len(LOANS)}


# --------------------------------------------------------------------------- passwords


class FakePostgres:
    """A server on 127.0.0.1 that speaks just enough PostgreSQL to ask for a password.

    It answers SSL/GSS requests with "N", reads the startup message, asks for the password
    (clear text, or MD5 with a salt) and records every byte the client sends after that.
    """

    CLEARTEXT, MD5 = 3, 5

    def __init__(self, method: int) -> None:
        self.method = method
        self.after_request = bytearray()
        self.asked = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def messages(self) -> list[bytes]:
        """The type bytes of the messages received after the password request."""
        kinds, data, at = [], bytes(self.after_request), 0
        while at + 5 <= len(data):
            kinds.append(data[at:at + 1])
            at += 1 + struct.unpack("!i", data[at + 1:at + 5])[0]
        return kinds

    def close(self) -> None:
        self._socket.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._socket.accept()
            except OSError:
                return
            with client:
                client.settimeout(5)
                try:
                    self._talk(client)
                except OSError:
                    pass

    def _talk(self, client: socket.socket) -> None:
        while True:
            length, code = struct.unpack("!ii", _read(client, 8))
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: no
                client.sendall(b"N")
                continue
            _read(client, length - 8)  # the startup message's parameters
            break
        # Counted before it is sent: the client may give up (and the test look) as soon as
        # the request arrives, before this thread runs again.
        self.asked += 1
        if self.method == self.CLEARTEXT:
            client.sendall(b"R" + struct.pack("!ii", 8, 3))
        else:
            client.sendall(b"R" + struct.pack("!ii", 12, 5) + b"salt")
        chunk = client.recv(65536)  # the answer, if any; then hang up
        self.after_request += chunk


def _read(client: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


@pytest.fixture
def fake_server():
    servers: list[FakePostgres] = []

    def start(method: int) -> FakePostgres:
        servers.append(FakePostgres(method))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_a_fake_server_asking_for_a_cleartext_password_receives_nothing(fake_server,
                                                                        monkeypatch):
    fake = fake_server(FakePostgres.CLEARTEXT)
    url = f"postgresql://ann@127.0.0.1:{fake.port}/bank"
    secret = "Hunter-2-secret"
    attempts = [
        lambda: db.parse_source(url, password=secret),
        lambda: db.parse_source(url.replace("ann@", f"ann:{secret}@")),
        lambda: db.parse_source(url, secrets={"database": {"password": secret}}),
        lambda: db.parse_source(url, environ={"STUDIO_DB_PASSWORD": secret}),
        lambda: db.parse_source(url, environ={"PGPASSWORD": secret}),
    ]
    for attempt in attempts:
        with pytest.raises(db.DatabaseError, match="password in clear text"):
            db.list_tables(attempt())
    assert fake.asked == len(attempts)
    assert b"p" not in fake.messages() and secret.encode() not in fake.after_request


def test_a_password_for_one_host_is_not_sent_to_another_hostaddr(fake_server, monkeypatch):
    """host= names the allowed server, hostaddr= sends the connection elsewhere."""
    fake = fake_server(FakePostgres.MD5)
    url = f"postgresql://ann@db.internal:{fake.port}/bank?hostaddr=127.0.0.1"
    environ = {"STUDIO_DB_HOSTS": "db.internal, 127.0.0.1", "STUDIO_DB_PASSWORD": "e-secret",
               "PGPASSWORD": "pg-secret", "STUDIO_DB_PASSWORD_HOSTS": "db.internal"}
    secrets = {"database": {"password": "s-secret", "host": "db.internal"}}
    source = db.parse_source(url, environ=environ, secrets=secrets)
    assert source.url.password is None
    with pytest.raises(db.DatabaseError, match="asks for a password"):
        db.list_tables(source)
    assert fake.asked == 1 and b"p" not in fake.messages()


def test_hosts_outside_the_allowed_ones_are_refused_before_connecting(postgres, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", ROLE_PASSWORD)
    elsewhere = [f"{postgres.url(user=READER)}?hostaddr=192.0.2.10",
                 f"{postgres.url(user=READER)}?host=192.0.2.10",
                 f"postgresql://{READER}@192.0.2.10:{postgres.port}/studio"]
    for url in elsewhere:
        with pytest.raises(db.DatabaseNotAllowedError, match="may not contact 192.0.2.10"):
            db.list_tables(db.parse_source(url, connect_timeout_s=2))
    monkeypatch.setenv("PGHOSTADDR", "192.0.2.10")  # libpq would read it by itself
    with pytest.raises(db.DatabaseNotAllowedError, match="may not contact 192.0.2.10"):
        db.list_tables(db.parse_source(postgres.url(user=READER), connect_timeout_s=2))


def test_url_options_that_would_change_the_rules_are_refused():
    for option in ("options=-c%20default_transaction_read_only%3Doff", "service=bank",
                   "passfile=/tmp/pgpass", "require_auth=password",
                   "sslkeylogfile=/tmp/keys"):
        with pytest.raises(db.DatabaseError, match="not used by the studio"):
            db.parse_source(f"postgresql://ann@localhost/bank?{option}")


# --------------------------------------------------------------------------- files


@pytest.fixture
def registry() -> Path:
    """The studio's own model index (created by the registry if no test made it yet)."""
    from core.store.registry import ModelRegistry

    path = get_settings().registry_path
    if not path.exists():
        ModelRegistry().get("probe")
    return path


@pytest.fixture
def allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    monkeypatch.setenv("STUDIO_DB_FILE_DIRS", str(folder))
    return folder


def refusal(url: str, **options) -> str:
    with pytest.raises(db.DatabaseNotAllowedError) as caught:
        db.list_tables(db.parse_source(url, **options))
    return str(caught.value)


def test_the_model_index_cannot_be_opened_as_a_source(registry, allowed, monkeypatch):
    data_dir = registry.parent
    missing = data_dir / "no_such_index.sqlite3"
    link = allowed / "index.sqlite3"
    link.symlink_to(registry)
    escape = f"sqlite:///{allowed}/{os.path.relpath(registry, allowed)}"  # allowed/../..
    for folders in (str(allowed), str(data_dir), str(data_dir.parent),
                    os.pathsep.join([str(allowed), str(data_dir)])):
        monkeypatch.setenv("STUDIO_DB_FILE_DIRS", folders)
        for url in (escape, f"sqlite:///{link}"):
            assert "STUDIO_DB_FILE_DIRS" in refusal(url)
        for kind in ("sqlite", "duckdb"):
            # The same words whether or not the file is there.
            assert refusal(f"{kind}:///{registry}") == refusal(f"{kind}:///{missing}")
    # Only the configured folder was used; the data directory and its parent were not.
    assert "lies inside the studio's data directory" in refusal(f"sqlite:///{registry}")


def test_path_errors_outside_the_allowed_folders_do_not_tell_whether_a_file_exists(
        tmp_path, allowed):
    existing, missing = tmp_path / "elsewhere.db", tmp_path / "nowhere.db"
    with sqlite3.connect(existing) as connection:
        connection.execute("CREATE TABLE t (a)")
    for kind in ("sqlite", "duckdb"):
        assert refusal(f"{kind}:///{existing}") == refusal(f"{kind}:///{missing}")
        assert refusal(f"{kind}:///{SERVER_FILE}") == refusal(f"{kind}:///{missing}")
    with pytest.raises(db.DatabaseError, match="No SQLite file at"):  # inside: said plainly
        db.list_tables(db.parse_source(f"sqlite:///{allowed / 'nowhere.db'}"))


def test_with_no_folder_configured_no_file_is_opened(tmp_path):
    path = tmp_path / "bank.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE loans (a)")
    assert "allowed no folder" in refusal(f"sqlite:///{path}")
    assert "allowed no folder" in refusal(f"duckdb:///{tmp_path / 'bank.duckdb'}")


@pytest.mark.parametrize("folder", ["home", "root", "data", "site-packages"])
def test_a_configured_folder_that_is_a_home_the_data_or_python_is_never_used(folder):
    configured = {"home": Path.home(), "root": Path("/"), "data": get_settings().data_dir,
                  "site-packages": Path(site.getsitepackages()[0])}[folder]
    policy = db.database_policy({"STUDIO_DB_FILE_DIRS": str(configured)})
    assert policy.file_dirs == ()
    assert any(str(configured) in problem for problem in policy.problems)


def write(url: str, frame: pd.DataFrame = LOANS, **options) -> db.WriteResult:
    return db.write_table(db.parse_source(url, **options), frame, "synthetic")


def test_write_back_outside_the_allowed_folders_is_refused(tmp_path, allowed, monkeypatch):
    monkeypatch.setenv("STUDIO_DATABASES", "readwrite")
    outside = tmp_path / "outside"
    outside.mkdir()
    for url in (f"sqlite:///{outside / 'new.db'}", f"duckdb:///{outside / 'new.duckdb'}",
                f"sqlite:///{allowed}/../outside/escape.db"):
        with pytest.raises(db.DatabaseNotAllowedError):
            write(url)
    assert list(outside.iterdir()) == []


def test_write_back_onto_the_data_directory_and_the_model_index_is_refused(registry, allowed,
                                                                           monkeypatch):
    monkeypatch.setenv("STUDIO_DATABASES", "readwrite")
    before = registry.read_bytes()
    targets = [f"sqlite:///{registry}", f"sqlite:///{registry.parent / 'new.db'}"]
    for folders in (str(registry.parent), str(allowed)):
        monkeypatch.setenv("STUDIO_DB_FILE_DIRS", folders)
        for url in targets:
            with pytest.raises(db.DatabaseNotAllowedError):
                write(url)
    # Not even the command line, which otherwise writes where it is told.
    anywhere = db.database_policy({}, operator_tool=True)
    for url in targets:
        with pytest.raises(db.WriteNotAllowedError, match="data directory"):
            write(url, policy=anywhere)
    assert registry.read_bytes() == before
    assert not (registry.parent / "new.db").exists()


def test_write_back_never_touches_a_file_that_is_not_a_database(allowed, monkeypatch):
    monkeypatch.setenv("STUDIO_DATABASES", "readwrite")
    files = {"evil.pth": b"import os; os.system('true')\n", "empty.pth": b"",
             "notes.db": b"not a database\n" * 10, "empty.db": b""}
    for name, content in files.items():
        (allowed / name).write_bytes(content)
    for name in files:
        for kind in ("sqlite", "duckdb"):
            with pytest.raises(db.WriteNotAllowedError, match="never writes into other files"):
                write(f"{kind}:///{allowed / name}")
    with pytest.raises(db.WriteNotAllowedError, match="must be named"):
        write(f"sqlite:///{allowed / 'new.pth'}")
    assert {path.name: path.read_bytes() for path in allowed.iterdir()} == files
    packages = Path(site.getsitepackages()[0])
    with pytest.raises(db.WriteNotAllowedError, match="Python's libraries"):
        write(f"sqlite:///{packages / 'new.db'}", policy=db.database_policy({},
                                                                              operator_tool=True))
    assert not (packages / "new.db").exists()


def test_read_mode_writes_only_new_files_in_allowed_folders(allowed, postgres):
    result = write(f"sqlite:///{allowed / 'synthetic.db'}")
    assert result.rows == len(LOANS)
    with pytest.raises(db.WriteNotAllowedError, match="STUDIO_DATABASES=read"):
        write(f"sqlite:///{allowed / 'synthetic.db'}")  # now it exists
    with pytest.raises(db.WriteNotAllowedError, match="STUDIO_DATABASES=read"):
        write(postgres.url(), password=ROLE_PASSWORD)
    assert tables_of(postgres) == {"loans": len(LOANS)}
    with sqlite3.connect(allowed / "synthetic.db") as connection:
        assert connection.execute("SELECT count(*) FROM synthetic").fetchone()[0] == len(LOANS)


def test_databases_off_refuses_every_database(allowed, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("STUDIO_DATABASES", "off")
    for url in (f"sqlite:///{allowed / 'a.db'}", "postgresql://ann@localhost/bank"):
        with pytest.raises(db.DatabaseNotAllowedError, match="turned off"):
            db.parse_source(url)
    code = main(["run", "--data", f"sqlite:///{allowed / 'a.db'}", "--table", "t",
                 "--synthesizer", "gaussian_copula", "--target", "none",
                 "--out", str(tmp_path / "out")])
    assert code != 0 and "turned off" in capsys.readouterr().err


def test_the_sqlite_reading_connection_attaches_no_file_and_loads_no_extension(registry,
                                                                              allowed):
    path = allowed / "bank.db"
    with sqlite3.connect(path) as connection:
        LOANS.to_sql("loans", connection, index=False)
    source = db.parse_source(f"sqlite:///{path}")
    for sql in (f"ATTACH DATABASE '{registry}' AS models", "SELECT load_extension('x')",
                "PRAGMA query_only = OFF", "SELECT 1; DROP TABLE loans"):
        with pytest.raises(db.DatabaseError), _connected(source, "test") as connection:
            _driver_sql(connection, sql)
    assert len(db.read_table(source, db.find_table(source, "loans")).frame) == len(LOANS)


def test_the_duckdb_reading_connection_runs_one_statement_and_reads_no_file(allowed):
    path = allowed / "bank.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE loans AS SELECT * FROM LOANS")
    connection.close()
    source = db.parse_source(f"duckdb:///{path}")
    for sql in ("SELECT 1; SELECT 2", f"SELECT * FROM read_text('{SERVER_FILE}')",
                "SET threads = 1", "SET enable_external_access = true",
                f"ATTACH '{allowed / 'x.duckdb'}'"):
        with pytest.raises(db.DatabaseError) as caught, \
                _connected(source, "test") as connection:
            _driver_sql(connection, sql)
        assert server_file_text() not in str(caught.value)
    assert not (allowed / "x.duckdb").exists()
    assert len(db.read_table(source, db.find_table(source, "loans")).frame) == len(LOANS)


def test_the_data_page_says_databases_are_off_and_offers_no_connection(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("STUDIO_DATABASES", "off")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"),
                           default_timeout=120).run()
    at.radio(key="data_source").set_value("Database").run()
    assert not at.exception
    assert any("turned off on this server" in caption.value for caption in at.caption)
    assert not [button for button in at.button if button.key == "db_connect"]
