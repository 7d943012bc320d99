"""The one scope gate every API viewset passes (NetBox restricts every API queryset in one
``BaseViewSet.initial()`` the same way), so a new endpoint is scoped by default.

A client sees and writes only the contexts it is scoped to (PRODUCT.md, REST contract):

- a URL (``/environments/{context}/…``), a query filter (``?context=``) or a body (``"context": …``)
  naming a context outside the scope answers 403 — the body before any other fault is reported;
- a record addressed by id outside the scope answers 404, like an unknown one, because
  ``get_queryset`` only ever holds what is in scope;
- lists show only what is in scope.

A value that is not a context at all (not a slug) is left to the serializer, filter or URL lookup,
which answer 400 or 404 for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeGuard

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import viewsets
from rest_framework.request import Request

from launchplane.api.auth import Scope, require_context, restrict, scope_of
from launchplane.models import CONTEXT_SLUG


def is_context(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= 63 and CONTEXT_SLUG.match(value) is not None


class ScopedViewSet(viewsets.GenericViewSet):
    """The base of every API viewset. Subclasses give ``scoped_queryset()`` (everything, unscoped)
    and ``context_field`` (the lookup from that queryset's model to its context)."""

    context_field = "environment__context"
    now: datetime
    scope: Scope

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # One clock per request: every service and selector it calls sees the same now.
        self.now = timezone.now()
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttling
        self.scope = scope_of(request)
        named = [kwargs.get("context"), *request.query_params.getlist("context")]
        if request.method == "POST" and isinstance(request.data, dict):
            named.append(request.data.get("context"))
        for context in named:
            if is_context(context):
                require_context(request, context)

    def scoped_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "scope"):  # the schema generator inspects views without a request
            return self.scoped_queryset().none()
        return restrict(self.scoped_queryset(), self.scope.contexts, self.context_field)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": getattr(self, "now", None)}
