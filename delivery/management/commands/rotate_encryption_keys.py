"""`manage.py rotate_encryption_keys`: re-encrypt every stored secret with the first key of
FIELD_ENCRYPTION_KEY, so older keys can then be removed."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from config.crypto import rotate
from config.fields import EncryptedJSONField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the current (first) key."

    @transaction.atomic
    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.fields if isinstance(f, EncryptedJSONField)]
            if not fields:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            for field in fields:
                column = connection.ops.quote_name(field.column)
                with connection.cursor() as cur:
                    cur.execute(f"SELECT id, {column} FROM {table} WHERE {column} <> ''")
                    rows = cur.fetchall()
                    for pk, token in rows:
                        cur.execute(
                            f"UPDATE {table} SET {column} = %s WHERE id = %s",
                            [rotate(token), pk],
                        )
                total += len(rows)
                self.stdout.write(f"{model._meta.label}.{field.name}: {len(rows)} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} secrets re-encrypted with the first key"))
