"""Model fields whose value is encrypted in the database column."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from config.crypto import decrypt, encrypt


class EncryptedJSONField(models.TextField):
    """A JSON value, stored as a Fernet token: the column never holds the plaintext."""

    description = "Encrypted JSON"

    def from_db_value(self, value, expression, connection) -> Any:
        if value is None or value == "":
            return None if value is None else {}
        return json.loads(decrypt(value))

    def to_python(self, value) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return json.loads(decrypt(value))
        return value

    def get_prep_value(self, value) -> str | None:
        if value is None:
            return None
        return encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj) -> str:
        return json.dumps(self.value_from_object(obj))
