"""Queries Django compiles once per database connection (``CompiledLookup``), and the statements a
model's saves send, written once per connection (``CompiledSaves``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models
from django.db.models import sql
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # Django's own, for ModelIterable

CACHE_ATTRIBUTE = "_launchplane_compiled_lookups"
SAVES_ATTRIBUTE = "_launchplane_compiled_saves"


class CompiledLookup:
    """A query Django compiles once per database connection and then runs with other values.

    The read model's ``SELECT`` (nine tables, about a hundred columns) is the same for every environment
    but the values it looks up, and Django compiling it took three quarters of the time to fetch it
    (docs/performance.md) — in every read of one environment and every write, which reads its row under
    the lock; the same holds, smaller, for the token, the environment and the row lock every write
    looks up. ``build(*values)`` gives the queryset; it is compiled once per connection with
    ``sentinels`` as the values, which must come out as the query's only parameters, in order. Each
    lookup then runs that SQL with the values asked for: ``rows`` answers the rows as the database sends
    them (for a ``values_list`` query), ``first`` and ``all`` build objects as ``QuerySet`` iteration does
    (``ModelIterable``: the row's own fields through their converters, worked out once with the SQL,
    then the related objects by Django's own populators). It relies on ``SQLCompiler.as_sql``,
    ``get_converters``/``apply_converters`` and ``get_related_populators``, Django's own internals, pinned by Django 5.2 LTS:
    ``tests/inventory/test_compiled_lookup.py`` proves the objects equal the ORM's, and must pass again
    after a Django upgrade. A compiled query is not checked again at each run the way the ORM checks it
    (``select_for_update`` outside a transaction, say): callers keep those rules themselves.
    """

    def __init__(self, build: Callable[..., models.QuerySet], *sentinels: object) -> None:
        self.build = build
        self.sentinels = sentinels

    def rows(self, *values: object, using: str = "default") -> list[tuple[Any, ...]]:
        """The rows the values select, as the database sends them (no converters)."""
        return self._run(values, using, size=None)

    def first(self, *values: object, using: str = "default") -> Any:
        """The object the values look up, or None."""
        found = self._objects(self._run(values, using, size=1), using)
        return found[0] if found else None

    def all(self, *values: object, using: str = "default") -> list[Any]:
        """Every object the values select, in the query's order."""
        return self._objects(self._run(values, using, size=None), using)

    def _objects(self, rows: list[tuple[Any, ...]], using: str) -> list[Any]:
        compiled = self._compiled_for(connections[using], using)
        if compiled.model is None:
            raise ImproperlyConfigured("This lookup answers rows only (a values_list() or annotated query).")
        objects = []
        converted = compiled.compiler.apply_converters(rows, compiled.converters) if compiled.converters else rows
        for row in converted:
            obj = compiled.model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects

    def _run(self, values: tuple[object, ...], using: str, size: int | None) -> list[tuple[Any, ...]]:
        connection = connections[using]
        compiled = self._compiled_for(connection, using)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, list(values))  # type: ignore[arg-type]  # the sentinels checked their types
            return cursor.fetchall() if size is None else cursor.fetchmany(size)

    def _compiled_for(self, connection: Any, using: str) -> _Compiled:
        """This lookup compiled for ``connection``, kept on the connection object itself (one per thread),
        so that it goes when the connection does: the compiler holds the connection, so a cache keyed by
        it elsewhere would keep every thread's connection alive."""
        cache: dict[CompiledLookup, _Compiled] = connection.__dict__.setdefault(CACHE_ATTRIBUTE, {})
        compiled = cache.get(self)
        if compiled is None:
            compiled = cache[self] = self._compile(using)
        return compiled

    def _compile(self, using: str) -> _Compiled:
        queryset = self.build(*self.sentinels)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        if tuple(params) != self.sentinels:
            raise ImproperlyConfigured(
                f"{queryset.model.__name__}: a compiled lookup takes only its values: {params!r}"
            )
        klass_info = compiler.klass_info
        if klass_info is None or compiler.annotation_col_map:  # values_list(), annotations: rows only
            return _Compiled(
                sql=sql, compiler=compiler, converters={}, model=None, init_list=[], start=0, end=0, populators=[]
            )
        # What results_iter() works out again for every result: each column's converters (about a
        # hundred columns compared field by field, for the read model).
        columns = [column[0] for column in compiler.select[0 : compiler.col_count]]
        if compiler.has_composite_fields(columns):
            raise ImproperlyConfigured(f"{queryset.model.__name__}: a compiled lookup reads no composite field.")
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Compiled(
            sql=sql,
            compiler=compiler,
            converters=compiler.get_converters(columns),
            model=klass_info["model"],
            init_list=[column[0].target.attname for column in compiler.select[start:end]],
            start=start,
            end=end,
            populators=get_related_populators(klass_info, compiler.select, using),
        )


@dataclass(frozen=True)
class _Compiled:
    sql: str
    compiler: Any
    converters: dict[int, Any]
    model: Any
    init_list: list[str]
    start: int
    end: int
    populators: list[Any]


class CompiledSaves(models.Model):
    """A model whose ``save()`` sends SQL written once per connection, not compiled at every save.

    ``Model.save()`` keeps all it does — signals, each field's ``pre_save``, the primary key set from
    what the insert returns, ``update_fields`` refusing to touch no row — and hands the statement itself
    to ``_do_insert`` and ``_do_update``, where Django builds an ``InsertQuery`` or an ``UpdateQuery``
    and compiles it, column by column, for every save: a third of a write's Python calls went into the
    four saves it makes (docs/performance.md). Here the statement for a model and a list of fields is
    written once per connection (the insert as Django's own compiler writes it; the update as
    ``UPDATE … SET col = %s, … WHERE pk = %s``) and each save only prepares its values, the way the
    compilers do (``get_db_prep_save``). Anything those statements cannot say goes through Django
    untouched: a value that is an expression, a field with a placeholder of its own, a raw save, a
    model that asks to ``select_on_save``, a base manager that filters, a database that cannot return
    the inserted columns. ``tests/test_compiled_saves.py`` proves both paths store the same rows.
    """

    class Meta:
        abstract = True

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        connection = connections[using]
        statement = (
            None if raw else _statement(connection, ("insert", type(self), tuple(fields), tuple(returning_fields)))
        )
        if statement is None:
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        values = [field.pre_save(self, True) for field in fields]
        params = _prepared(fields, values, connection)
        if params is None:
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            if not returning_fields:
                return []
            row = cursor.fetchone()
        return list(statement.compiler.apply_converters([row], statement.converters)) if statement.converters else [row]

    def update_stored(self, *names: str) -> bool:
        """Write these fields of a stored row, the UPDATE ``save(update_fields=names)`` sends, and answer
        whether the row was still there (``save`` raises instead, and sends signals: this is for a row
        whose disappearance is an answer, not an error)."""
        fields = [field for field in self._meta.concrete_fields if field.name in names]
        values = [(field, None, field.pre_save(self, False)) for field in fields]
        using = self._state.db or "default"
        manager = type(self)._base_manager.using(using)
        return self._do_update(manager, using, self.pk, values, list(names), True)

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        fields = tuple(field for field, _model, _value in values)
        if not values or base_qs.query.where or (self._meta.select_on_save and not forced_update):
            return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)
        connection = connections[using]
        statement = _statement(connection, ("update", type(self), fields, ()))
        params = None if statement is None else _prepared(fields, [value for _f, _m, value in values], connection)
        if statement is None or params is None:
            return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)
        params.append(self._meta.pk.get_db_prep_value(pk_val, connection))
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            return cursor.rowcount > 0


def _prepared(fields: tuple[Any, ...] | list[Any], values: list[Any], connection: Any) -> list[Any] | None:
    """Each value as the compilers prepare it for the database, or None when one is an expression or a
    model instance (for Django's own path)."""
    params = []
    for field, value in zip(fields, values, strict=True):
        if hasattr(value, "resolve_expression") or hasattr(value, "prepare_database_save"):
            return None
        prepared = field.get_db_prep_save(value, connection=connection)
        if hasattr(prepared, "as_sql"):
            return None
        params.append(prepared)
    return params


@dataclass(frozen=True)
class _Statement:
    sql: str
    compiler: Any  # for the converters of what an insert returns
    converters: dict[int, Any]


def _statement(connection: Any, key: tuple[Any, ...]) -> _Statement | None:
    """The statement ``key`` names, written once per connection (kept on it, as compiled lookups are);
    None when it cannot be written once for every save."""
    cache: dict[tuple[Any, ...], _Statement | None] = connection.__dict__.setdefault(SAVES_ATTRIBUTE, {})
    if key not in cache:
        kind, model, fields, returning = key
        if any(hasattr(field, "get_placeholder") for field in fields):
            cache[key] = None
        elif kind == "insert":
            cache[key] = _insert_statement(connection, model, fields, returning)
        else:
            quote = connection.ops.quote_name
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
            table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
            cache[key] = _Statement(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", None, {})
    return cache[key]


def _insert_statement(
    connection: Any, model: Any, fields: tuple[Any, ...], returning: tuple[Any, ...]
) -> _Statement | None:
    if returning and not connection.features.can_return_columns_from_insert:
        return None
    query = sql.InsertQuery(model)
    query.insert_values(list(fields), [model()], raw=True)  # an unsaved instance: only the SQL is kept
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = list(returning)
    [(text, params)] = compiler.as_sql()
    if text.count("%s") != len(fields) or len(params) != len(fields):  # each value one plain placeholder
        return None
    query.objs = []
    columns = [field.get_col(model._meta.db_table) for field in returning]
    return _Statement(text, compiler, compiler.get_converters(columns))
