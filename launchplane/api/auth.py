"""Bearer-token authentication, the caller's scope, and the permissions built on it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from launchplane.compiled import CompiledLookup
from launchplane.models import ApiClient, hash_token

# Every API request looks its client up by the token's hash (unique): compiled once per connection.
CLIENT_BY_TOKEN = CompiledLookup(lambda token_hash: ApiClient.objects.filter(token_hash=token_hash), "(token hash)")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>`` for API clients. Listed first, so 401s carry
    ``WWW-Authenticate: Bearer``."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        token = token.strip()
        if not token or " " in token:
            raise exceptions.AuthenticationFailed("Malformed Authorization header; send 'Bearer <token>'.")
        client = CLIENT_BY_TOKEN.first(hash_token(token))
        if client is None or not client.is_active:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        # One cheap UPDATE, not a save(): avoid racing other fields of the client row.
        now = timezone.now()
        if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return client, client

    def authenticate_header(self, request) -> str:
        return self.keyword


@dataclass(frozen=True)
class Scope:
    """What the caller may see and do: ``contexts`` None means every context."""

    contexts: frozenset[str] | None
    read_only: bool
    actor: str
    owner: str  # who idempotency keys belong to

    def covers(self, context: str) -> bool:
        return self.contexts is None or context in self.contexts


def scope_of(request) -> Scope:
    """The scope of an authenticated request: an API client's, or a staff session's."""
    principal = request.user
    if isinstance(principal, ApiClient):
        return Scope(
            frozenset(principal.contexts), principal.read_only, principal.get_username(), f"client:{principal.pk}"
        )
    # Staff sessions (the interactive docs at /api/v1/docs/): superusers act; other staff read.
    return Scope(None, not principal.is_superuser, f"user:{principal.get_username()}", f"user:{principal.pk}")


class IsClientOrStaff(permissions.BasePermission):
    """API clients, or staff with a session. Read-only callers may only read."""

    message = "This client may only read."

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if isinstance(principal, ApiClient):
            pass
        elif not (principal and principal.is_authenticated and principal.is_staff):
            if principal and principal.is_authenticated:
                self.message = "Only staff and API clients may use the API."
                return False
            raise exceptions.NotAuthenticated("Send 'Authorization: Bearer <token>'.")
        if request.method in permissions.SAFE_METHODS:
            return True
        self.message = "This client may only read."
        return not scope_of(request).read_only


def restrict(queryset: QuerySet, contexts: Iterable[str] | None, context_field: str) -> QuerySet:
    """Only the rows of these contexts (``None``: every context): how a scope narrows a queryset."""
    if contexts is None:
        return queryset
    return queryset.filter(**{f"{context_field}__in": sorted(contexts)})


def require_context(request, context: str) -> None:
    """A URL or body naming a context outside the caller's scope answers 403."""
    if not scope_of(request).covers(context):
        raise exceptions.PermissionDenied(f"This client is not scoped to context {context[:63]!r}.")
