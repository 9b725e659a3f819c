"""Django's SQLite backend, sending every datetime in UTC (see config/db_time.py)."""

from __future__ import annotations

from django.db.backends.sqlite3 import base, operations

from config.db_time import utc_for_db


class DatabaseOperations(operations.DatabaseOperations):
    def adapt_datetimefield_value(self, value):
        return super().adapt_datetimefield_value(utc_for_db(value))


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
