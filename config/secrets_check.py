"""The keys a deployment must bring, checked when settings load: a production process with
a missing or unusable key refuses to start with a message that says how to make one, instead
of running on public defaults or failing at the first request that needs the key."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

MAKE_SECRET_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
MAKE_FERNET_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
# Django's own deployment check asks for at least 50 characters; below 32 a key is a
# placeholder someone typed, not a secret.
MIN_SECRET_KEY_LENGTH = 32


def fernet_key_problem(keys: str) -> str | None:
    """Why FIELD_ENCRYPTION_KEY (comma-separated Fernet keys, newest first) is unusable, or
    None when every key is a valid Fernet key."""
    parts = [part.strip() for part in keys.split(",") if part.strip()]
    if not parts:
        return "FIELD_ENCRYPTION_KEY must be set when DEBUG=False."
    for position, part in enumerate(parts, start=1):
        try:
            Fernet(part.encode())
        except ValueError:
            return (
                f"FIELD_ENCRYPTION_KEY's key number {position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            )
    return None


def require_production_keys(*, secret_key: str, field_encryption_key: str) -> None:
    """Raise ImproperlyConfigured naming every missing or unusable key and how to make it."""
    problems = []
    if not secret_key:
        problems.append(
            f"SECRET_KEY must be set when DEBUG=False. Make one with: {MAKE_SECRET_KEY}"
        )
    elif len(secret_key) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"SECRET_KEY is {len(secret_key)} characters; use at least {MIN_SECRET_KEY_LENGTH} "
            f"random ones. Make one with: {MAKE_SECRET_KEY}"
        )
    fernet_problem = fernet_key_problem(field_encryption_key)
    if fernet_problem:
        problems.append(f"{fernet_problem} Make one with: {MAKE_FERNET_KEY}")
    if problems:
        raise ImproperlyConfigured(
            " ".join(problems) + " (For a local demo, DEBUG=true runs with development keys.)"
        )
