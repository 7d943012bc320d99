"""Queries Django compiles once per database connection (``CompiledLookup``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # Django's own, for ModelIterable

CACHE_ATTRIBUTE = "_launchplane_compiled_lookups"


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
