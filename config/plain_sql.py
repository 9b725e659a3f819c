"""Statements for the hottest path (a worker executing a run), written from the models'
metadata instead of compiled by the ORM on every call.

Measured on PostgreSQL (bench/run_cost.py): compiling `filter(...).update(...)` costs the
worker about 0.6 ms of CPU before the statement is sent, and a `select_related` get over five
tables about 3 ms, while the same statements sent as text cost 0.2 and 0.8 ms. A run made 19
such statements. These helpers build the same SQL from `_meta` (table and column names), put
every value through its field's own `get_db_prep_save` (the backends' datetime, JSON and
UUID handling, config/db_time.py's UTC rule) and read rows back through the same converters
the ORM uses, so instances come out exactly as the ORM makes them. Portable between the two
backends we support (PostgreSQL, SQLite >= 3.35 for RETURNING).

Only for statements of a fixed shape on a path measured to need it; everything else uses the
ORM."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models

_OPS = {"": "=", "lte": "<=", "lt": "<", "gte": ">=", "gt": ">", "ne": "<>"}


@dataclass(frozen=True)
class Sql:
    """A fragment written by hand (`"attempt" + 1`, a subquery), with its own parameters."""

    text: str
    params: Sequence[Any] = field(default_factory=tuple)


_texts: dict[tuple, str] = {}


def cached(key: tuple, build: Callable[[], str]) -> str:
    """The statement text `build()` makes, built once per key and database vendor: the
    text of a fixed-shape statement never changes, and building it (quoting a hundred
    names) costs more than sending it."""
    full = (connections[DEFAULT_DB_ALIAS].vendor, *key)
    text = _texts.get(full)
    if text is None:
        text = _texts[full] = build()
    return text


def qn(name: str) -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(name)


def table(model: type[models.Model]) -> str:
    return qn(model._meta.db_table)


def column(model: type[models.Model], name: str, alias: str | None = None) -> str:
    """The quoted column of field `name` ("pk", a field name or an attname)."""
    f = _field(model, name)
    return f"{qn(alias)}.{qn(f.column)}" if alias else qn(f.column)


def _field(model: type[models.Model], name: str) -> models.Field:
    return _fields(model)[name]


@functools.cache
def _fields(model: type[models.Model]) -> dict[str, models.Field]:
    """Each concrete field by its name and by its attname (`run` and `run_id`), and "pk"."""
    found: dict[str, models.Field] = {"pk": model._meta.pk}
    for f in model._meta.concrete_fields:
        found[f.name] = found[f.attname] = f
    return found


# Fields whose get_db_prep_save returns a value of this exact type (or None) unchanged.
# Looked up by the field's exact class, so a subclass with its own preparation
# (config.fields.EncryptedJSONField is a TextField) always goes the full way.
_AS_IS: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.SlugField: str,
    models.BooleanField: bool,
    models.AutoField: int,
    models.BigAutoField: int,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.ForeignKey: int,  # integer keys here; anything else goes the full way
}


def prep(model: type[models.Model], name: str, value: Any, conn=None) -> Any:
    """`value` as the database takes it for field `name` (what the ORM would send)."""
    if isinstance(value, Sql):
        raise TypeError("an Sql fragment is not a value")
    f = _field(model, name)
    kind = _AS_IS.get(type(f))
    if (
        kind is not None
        # A str subclass (a TextChoices member) is what CharField.to_python keeps as it is;
        # an int must be exactly int (IntegerField turns True into 1).
        and (value is None or type(value) is kind or (kind is str and isinstance(value, str)))
        and (type(f) is not models.ForeignKey or value is None or _int_key(f))
    ):
        return value
    if isinstance(f, models.ForeignKey) and isinstance(value, models.Model):
        value = value.pk
    return f.get_db_prep_save(value, conn or connections[DEFAULT_DB_ALIAS])


@functools.cache
def _int_key(f: models.ForeignKey) -> bool:
    return type(f.target_field) in (models.AutoField, models.BigAutoField, models.IntegerField)


def _shape(items: dict[str, Any]) -> tuple:
    # What the text depends on: the names, and which values are fragments or NULL.
    return tuple((k, v.text if isinstance(v, Sql) else v is None) for k, v in items.items())


def _where_text(model: type[models.Model], conditions: dict[str, Any], alias: str | None) -> str:
    parts = []
    for key, value in conditions.items():
        name, _, op = key.partition("__")
        if isinstance(value, Sql):
            parts.append(f"{column(model, name, alias)} {_OPS[op]} {value.text}")
        elif value is None and op in ("", "ne"):
            parts.append(f"{column(model, name, alias)} IS {'NOT ' if op else ''}NULL")
        else:
            parts.append(f"{column(model, name, alias)} {_OPS[op]} %s")
    return " AND ".join(parts) or "1=1"


def _params(model: type[models.Model], items: dict[str, Any], *, conditions: bool) -> list:
    conn = connections[DEFAULT_DB_ALIAS]
    params: list[Any] = []
    for key, value in items.items():
        if isinstance(value, Sql):
            params.extend(value.params)
        elif value is None and conditions and key.partition("__")[2] in ("", "ne"):
            continue  # IS NULL takes no parameter
        else:
            params.append(prep(model, key.partition("__")[0], value, conn))
    return params


def where(model: type[models.Model], conditions: dict[str, Any], alias: str | None = None):
    """`{"pk": 3, "status": "running", "scheduled_for__lte": t, "x": Sql(...)}` as a WHERE
    clause (without the keyword) and its parameters. None compares with IS NULL."""
    text = cached(
        ("where", model, alias, _shape(conditions)),
        lambda: _where_text(model, conditions, alias),
    )
    return text, _params(model, conditions, conditions=True)


def update_sql(
    model: type[models.Model], *, values: dict[str, Any], conditions: dict[str, Any]
) -> tuple[str, list[Any]]:
    def build() -> str:
        sets = ", ".join(
            f"{column(model, n)} = {v.text if isinstance(v, Sql) else '%s'}"
            for n, v in values.items()
        )
        return f"UPDATE {table(model)} SET {sets} WHERE {_where_text(model, conditions, None)}"

    text = cached(("update", model, _shape(values), _shape(conditions)), build)
    return text, [
        *_params(model, values, conditions=False),
        *_params(model, conditions, conditions=True),
    ]


def update(model: type[models.Model], *, values: dict[str, Any], **conditions: Any) -> int:
    """`model.objects.filter(**conditions).update(**values)` (equality and the lookups in
    _OPS only; no auto_now: pass updated_at when the ORM call did); rows changed."""
    sql, params = update_sql(model, values=values, conditions=conditions)
    with connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def insert(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, suffix: Sql | None = None
) -> list[int]:
    """One INSERT of `rows` (each a dict of field name -> value, the same keys in each; the
    caller fills defaults); returns their primary keys in order. `suffix` goes after VALUES
    (an ON CONFLICT clause)."""
    if not rows:
        return []
    names = tuple(rows[0])

    def build() -> str:
        cols = ", ".join(column(model, n) for n in names)
        one = "(" + ", ".join(["%s"] * len(names)) + ")"
        text = f"INSERT INTO {table(model)} ({cols}) VALUES {', '.join([one] * len(rows))}"
        if suffix is not None:
            text += " " + suffix.text
        return text + f" RETURNING {column(model, 'pk')}"

    sql = cached(("insert", model, names, len(rows), suffix.text if suffix else None), build)
    conn = connections[DEFAULT_DB_ALIAS]
    params = [prep(model, n, row[n], conn) for row in rows for n in names]
    if suffix is not None:
        params.extend(suffix.params)
    with connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute(sql, params)
        # RETURNING gives rows in VALUES order on both backends for a plain multi-row INSERT.
        return [r[0] for r in cur.fetchall()]


class Reader:
    """Reads one model's columns out of a joined row into an instance, like the ORM does
    (the backend's and the field's converters, then Model.from_db)."""

    def __init__(self, model: type[models.Model], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.pk_index = self.attnames.index(model._meta.pk.attname)
        self._converters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @property
    def columns(self) -> str:
        return cached(
            ("columns", self.model, self.alias),
            lambda: ", ".join(f"{qn(self.alias)}.{qn(f.column)}" for f in self.fields),
        )

    def __len__(self) -> int:
        return len(self.fields)

    def _for(self, conn) -> list[tuple[int, list, Any]]:
        # Per connection object: converters come from its backend's operations.
        found = self._converters.get(conn)
        if found is None:
            found = []
            for i, f in enumerate(self.fields):
                col = f.get_col(self.alias)
                funcs = conn.ops.get_db_converters(col) + f.get_db_converters(conn)
                if funcs:
                    found.append((i, funcs, col))
            self._converters[conn] = found
        return found

    def read(self, row: Sequence[Any], start: int = 0) -> models.Model | None:
        """The instance in row[start:start + len(self)]; None when its primary key is NULL
        (a LEFT JOIN that matched nothing)."""
        values = list(row[start : start + len(self.fields)])
        if values[self.pk_index] is None:
            return None
        conn = connections[DEFAULT_DB_ALIAS]
        for i, funcs, col in self._for(conn):
            value = values[i]
            for func in funcs:
                value = func(value, col, conn)
            values[i] = value
        return self.model.from_db(conn.alias, self.attnames, values)


def fetch(sql: str, params: Iterable[Any]) -> list[tuple]:
    with connections[DEFAULT_DB_ALIAS].cursor() as cur:
        cur.execute(sql, list(params))
        return cur.fetchall()
