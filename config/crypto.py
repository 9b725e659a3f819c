"""Encryption of secrets at rest (Fernet, with MultiFernet for key rotation).

FIELD_ENCRYPTION_KEY holds one or more comma-separated Fernet keys. The first encrypts; all
decrypt. To rotate: put a new key first, keep the old ones after it, run
`manage.py rotate_encryption_keys`, then drop the old keys.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    pass


@lru_cache(maxsize=4)
def _fernet(keys: str, secret_key: str, debug: bool) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        if not debug:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEY must be set when DEBUG=False. Make one with: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        # Local development only: a key derived from SECRET_KEY.
        parts = [base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()).decode()]
    try:
        return MultiFernet([Fernet(p.encode()) for p in parts])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEY is not a valid Fernet key: {exc}"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY, settings.DEBUG)


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY (was a key removed "
            "before rotate_encryption_keys ran?)."
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt with the first key."""
    return fernet().rotate(token.encode()).decode()
