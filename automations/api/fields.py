"""Serializer fields the API's input is checked with."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings: DRF's own turns 0 or true into "0" and
    "True", so a body the schema calls wrong would be accepted as something else."""

    default_error_messages = {"not_a_string": "Enter text (a JSON string)."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
