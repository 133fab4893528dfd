"""HMAC signatures for model files.

Model files are cloudpickle, and unpickling runs code. The server signs every model file
it writes with a secret only it knows (``core.store.settings.load_or_create_secret``) and verifies
the signature before unpickling, so a tampered file, or a file made elsewhere and
uploaded, is refused without ever being loaded.
"""

from __future__ import annotations

import hashlib
import hmac

from core.store.settings import Settings, get_settings, load_or_create_secret

__all__ = ["sign", "verify"]


def sign(payload: bytes, settings: Settings | None = None) -> str:
    """Hex HMAC-SHA256 of ``payload`` with the server secret."""
    key = load_or_create_secret(settings or get_settings())
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def verify(payload: bytes, signature: str, settings: Settings | None = None) -> bool:
    """True when ``signature`` was made by this server for exactly ``payload``."""
    if not isinstance(signature, str) or not signature:
        return False
    # As bytes: compare_digest refuses a str with non-ASCII characters (a forged bundle).
    return hmac.compare_digest(sign(payload, settings).encode(),
                               signature.encode("utf-8", "surrogatepass"))
