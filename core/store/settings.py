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

__all__ = ["PROJECT_ROOT", "Settings", "get_settings", "load_or_create_secret"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_STREAMLIT_CONFIG = PROJECT_ROOT / ".streamlit" / "config.toml"
_DEFAULT_UPLOAD_MB = 200


@dataclass(frozen=True)
class Settings:
    """Resolved settings (immutable, so it can key caches)."""

    data_dir: Path
    max_upload_mb: int
    sample_data_dir: Path

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read settings once per process.

    Environment variables:
        STUDIO_DATA_DIR: where models, jobs and the registry live (default ``./.studio_data``).
        STUDIO_MAX_UPLOAD_MB: overrides ``server.maxUploadSize`` for core's own check.
    """
    data_dir = Path(os.environ.get("STUDIO_DATA_DIR", PROJECT_ROOT / ".studio_data")).expanduser()
    upload_mb = int(os.environ.get("STUDIO_MAX_UPLOAD_MB", _read_upload_limit_mb()))
    return Settings(
        data_dir=data_dir.resolve(),
        max_upload_mb=upload_mb,
        sample_data_dir=PROJECT_ROOT / "sample_data",
    )


def load_or_create_secret(settings: Settings) -> bytes:
    """Return the server's HMAC secret, creating a random one on first use.

    ``STUDIO_SECRET`` (hex or text) wins, so several servers can share models.
    """
    from_env = os.environ.get("STUDIO_SECRET")
    if from_env:
        return from_env.encode()
    path = settings.secret_path
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # O_EXCL so two processes racing on first start agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
