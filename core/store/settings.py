"""Settings shared by the app and the command line.

One source of truth for each setting: the upload limit is read from
``.streamlit/config.toml`` (the same number Streamlit enforces in the browser), the data
directory and signing secret from the environment, with defaults that need no set-up.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import ConfigurationError

__all__ = ["PROJECT_ROOT", "SECRET_BYTES", "Settings", "get_settings", "load_or_create_secret"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_STREAMLIT_CONFIG = PROJECT_ROOT / ".streamlit" / "config.toml"
_DEFAULT_UPLOAD_MB = 200
_DEFAULT_TABLE_MB = 1024
#: The memory budget for one table read from a file or a database: environment variable, and
#: its key under ``[studio]`` in ``.streamlit/secrets.toml``. Refusal messages name both.
TABLE_LIMIT_ENV = "STUDIO_MAX_TABLE_MB"
TABLE_LIMIT_KEY = "max_table_mb"


@dataclass(frozen=True)
class Settings:
    """Resolved settings (immutable, so it can key caches)."""

    data_dir: Path
    max_upload_mb: int
    sample_data_dir: Path
    max_table_mb: int = _DEFAULT_TABLE_MB

    @property
    def max_table_bytes(self) -> int:
        """The memory budget for one loaded table (file or database read), in bytes."""
        return self.max_table_mb * 1024 * 1024

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return self.max_upload_mb * 1024 * 1024

    @property
    def models_dir(self) -> Path:
        """Where signed model files are written."""
        return self.data_dir / "models"

    @property
    def jobs_dir(self) -> Path:
        """Where training jobs keep their progress and inputs."""
        return self.data_dir / "jobs"

    @property
    def registry_path(self) -> Path:
        """The SQLite index of trained models."""
        return self.data_dir / "registry.sqlite3"

    @property
    def secret_path(self) -> Path:
        """The server's signing secret (created on first use, mode 600)."""
        return self.data_dir / "secret.key"


def _read_upload_limit_mb() -> int:
    try:
        with _STREAMLIT_CONFIG.open("rb") as handle:
            config = tomllib.load(handle)
        return int(config.get("server", {}).get("maxUploadSize", _DEFAULT_UPLOAD_MB))
    except (OSError, tomllib.TOMLDecodeError, ValueError):
        return _DEFAULT_UPLOAD_MB


def _studio_setting(env: str, key: str, secrets_path: Path | None) -> tuple[str, str] | None:
    """A ``[studio]`` setting's text and where it came from; the environment wins.

    None when neither the environment nor ``.streamlit/secrets.toml`` sets it.
    """
    text = os.environ.get(env, "").strip()
    if text:
        return text, env
    path = secrets_path or PROJECT_ROOT / ".streamlit" / "secrets.toml"
    try:
        with path.open("rb") as handle:
            section = tomllib.load(handle).get("studio", {})
    except (OSError, tomllib.TOMLDecodeError):
        section = {}
    value = section.get(key) if isinstance(section, dict) else None
    if value is None:
        return None
    return str(value).strip(), f"{key} under [studio] in {path.name}"


def _read_table_limit_mb(secrets_path: Path | None = None) -> int:
    """The table memory budget in MB: the environment wins over ``secrets.toml``.

    Raises:
        ConfigurationError: The value is not a whole number of MB of at least 1.
    """
    setting = _studio_setting(TABLE_LIMIT_ENV, TABLE_LIMIT_KEY, secrets_path)
    if setting is None:
        return _DEFAULT_TABLE_MB
    text, where = setting
    try:
        megabytes = int(text)
    except ValueError:
        megabytes = 0
    if megabytes < 1:
        raise ConfigurationError(
            f"{where} must be a whole number of MB (at least 1), not '{text}'. It limits how "
            f"much memory one loaded table may take (default {_DEFAULT_TABLE_MB}).")
    return megabytes


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read settings once per process.

    Environment variables:
        STUDIO_DATA_DIR: where models, jobs and the registry live (default ``./.studio_data``).
        STUDIO_MAX_UPLOAD_MB: overrides ``server.maxUploadSize`` for core's own check.
        STUDIO_MAX_TABLE_MB: the memory budget for one loaded table (default 1024; or
            ``max_table_mb`` under ``[studio]`` in ``.streamlit/secrets.toml``).
    """
    data_dir = Path(os.environ.get("STUDIO_DATA_DIR", PROJECT_ROOT / ".studio_data")).expanduser()
    upload_mb = int(os.environ.get("STUDIO_MAX_UPLOAD_MB", _read_upload_limit_mb()))
    return Settings(
        data_dir=data_dir.resolve(),
        max_upload_mb=upload_mb,
        sample_data_dir=PROJECT_ROOT / "sample_data",
        max_table_mb=_read_table_limit_mb(),
    )


#: Bytes of a signing key: an HMAC-SHA256 key shorter than this is guessable.
SECRET_BYTES = 32


def load_or_create_secret(settings: Settings) -> bytes:
    """Return the server's HMAC secret, creating a random one on first use.

    ``STUDIO_SECRET`` wins, so several servers can share models: at least
    :data:`SECRET_BYTES` bytes written as hex (``python -c "import secrets;
    print(secrets.token_hex(32))"``).

    Raises:
        ConfigurationError: ``STUDIO_SECRET`` or the key file is short, empty or not hex.
            A model signed with a weak key could be forged, and loading a model runs code.
    """
    from_env = os.environ.get("STUDIO_SECRET")
    if from_env is not None:
        return _secret_from_hex(from_env)
    path = settings.secret_path
    if not path.exists():
        _create_secret(path)
    key = path.read_bytes()
    if len(key) < SECRET_BYTES:
        raise ConfigurationError(
            f"The signing key {path} holds {len(key)} bytes, fewer than {SECRET_BYTES} (a crash "
            "or a full disk while it was written?). Models signed with it cannot be trusted: "
            "stop the studio, delete the file and the models/ folder beside it, and start "
            "again to make a new key.")
    return key


def _secret_from_hex(text: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) < SECRET_BYTES:
        raise ConfigurationError(
            f"STUDIO_SECRET must be at least {SECRET_BYTES} random bytes written as hex "
            f"({2 * SECRET_BYTES} hex digits); make one with: python -c \"import secrets; "
            "print(secrets.token_hex(32))\"")
    return key


def _create_secret(path: Path) -> None:
    """Write a new random key so that no reader ever sees a partial one.

    The key goes to a private temporary file, is flushed to disk, then linked into place:
    the link fails if another process won the race, and both then use the winner's key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


#: How many jobs run at once in one server process: environment variable, and its key
#: under ``[studio]`` in ``.streamlit/secrets.toml``.
MAX_JOBS_ENV = "STUDIO_MAX_JOBS"
MAX_JOBS_KEY = "max_jobs"


def default_max_jobs() -> int:
    """Half this machine's cores, at least 1 (so 1 on a 2-core machine).

    Each job is a worker process that gives torch every core and holds about 0.5-1 GB.
    Two jobs sharing the same cores each take about twice as long, so the first result
    comes later with no gain in throughput, and the Streamlit server has to compete with
    both for the CPU. Running half as many jobs as there are cores leaves room for the
    server and for the libraries' helper threads.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // 2)


def max_concurrent_jobs(secrets_path: Path | None = None) -> int:
    """How many fits, comparisons, samples and evaluations may run at once per server.

    ``STUDIO_MAX_JOBS`` takes precedence over ``max_jobs`` under ``[studio]`` in
    ``.streamlit/secrets.toml``. If neither is set, the default is :func:`default_max_jobs`.
    Jobs beyond the limit wait in a queue. The value is read each time, so a test or an
    operator can change it without a restart.

    Raises:
        ConfigurationError: The value is not a whole number of at least 1.
    """
    setting = _studio_setting(MAX_JOBS_ENV, MAX_JOBS_KEY, secrets_path)
    if setting is None:
        return default_max_jobs()
    text, where = setting
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise ConfigurationError(
            f"{where} must be a whole number of at least 1, not '{text}'. It is how many "
            f"fits, comparisons, samples and evaluations run at once (default "
            f"{default_max_jobs()} here: half the cores); later ones wait in a queue.")
    return jobs
