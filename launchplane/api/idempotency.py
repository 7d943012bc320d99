"""Safe retries: the first response to a POST with an ``Idempotency-Key`` is replayed.

The fingerprint covers method, path and the canonical JSON body. The key row is committed *before*
the work starts, so a duplicate that arrives while the first is still running sees it (409
``idempotency_in_flight``). A request that fails (4xx, 5xx or an exception) removes its key, so the
client may retry it with the same key. A request still running after the in-flight lease
(``IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS``) may find that a retry took its key over: its work is rolled
back and it answers 409 ``idempotency_in_flight`` too, so the work is recorded once, by the retry.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from launchplane.api.auth import scope_of
from launchplane.api.errors import error_body
from launchplane.models import IdempotencyKey
from launchplane.transactions import all_or_nothing

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEY_CHARACTERS = re.compile(r"[\x21-\x7e]+")


def fingerprint(method: str, path: str, body: object) -> str:
    # ensure_ascii: escapes keep any text (even a lone surrogate, refused later) encodable.
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def _insert_key(**fields: object) -> IdempotencyKey:
    """Insert the key row and commit it, so a duplicate that arrives meanwhile sees it in flight.

    Outside a transaction (a request) the insert is its own statement, committed at once: no BEGIN and
    COMMIT around it. Inside one (a test, a caller's transaction), a savepoint keeps a duplicate's
    IntegrityError from breaking the caller's transaction.
    """
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return IdempotencyKey.objects.create(**fields)
    return IdempotencyKey.objects.create(**fields)


def _claim(owner: str, key: str, print_: str) -> tuple[IdempotencyKey | None, IdempotencyKey | None]:
    """Insert the in-flight row: ``(ours, None)``; or ``(None, theirs)``, the row that already holds the key."""
    now = timezone.now()
    ttl = timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    for _attempt in range(2):
        try:
            return _insert_key(owner=owner, key=key, fingerprint=print_, created_at=now, expires_at=now + ttl), None
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(owner=owner, key=key).first()
            if existing is None:  # released between our insert and our read: try again
                continue
            if existing.is_expired(now):
                IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
                continue
            abandoned_before = now - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS)
            if existing.state == IdempotencyKey.State.IN_FLIGHT and existing.created_at <= abandoned_before:
                # The worker that claimed it died mid-request: let the retry take the key over.
                IdempotencyKey.objects.filter(
                    pk=existing.pk, state=IdempotencyKey.State.IN_FLIGHT, created_at__lte=abandoned_before
                ).delete()
                continue
            return None, existing
    return None, IdempotencyKey.objects.filter(owner=owner, key=key).first()


class TakenOver(Exception):
    """The key's in-flight row is no longer this request's (a retry took it over after the lease)."""


def _release(ours: IdempotencyKey) -> None:
    """Remove this request's in-flight row (never a row a retry took the key over with), so that the
    client may retry with the same key."""
    IdempotencyKey.objects.filter(pk=ours.pk, state=IdempotencyKey.State.IN_FLIGHT).delete()


def in_flight(key: str) -> Response:
    return Response(
        error_body(
            "idempotency_in_flight",
            f"A request with {HEADER} {key!r} is still being processed; retry shortly.",
            {HEADER: "in flight"},
        ),
        status=409,
        headers={"Retry-After": "1"},
    )


def idempotent(*, required: bool = False) -> Callable:
    """Decorate a viewset method that handles a POST."""

    def decorator(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            # No header means no key; a header that is there is the key exactly as sent, so an empty or
            # padded one is refused like any other key outside the rule (the OpenAPI pattern).
            key = request.headers.get(HEADER)
            if key is None or (required and key == ""):
                if required:
                    return Response(
                        error_body(
                            "idempotency_key_required",
                            f"Send an {HEADER} header so this request can be retried safely.",
                            {HEADER: "required"},
                        ),
                        status=400,
                    )
                return handler(view, request, *args, **kwargs)
            if len(key) > MAX_KEY_LENGTH or not KEY_CHARACTERS.fullmatch(key):
                return Response(
                    error_body(
                        "validation_error",
                        f"{HEADER} must be 1-{MAX_KEY_LENGTH} visible ASCII characters.",
                        {HEADER: "invalid"},
                    ),
                    status=400,
                )
            owner = scope_of(request).owner
            print_ = fingerprint(request.method, request.path, request.data)
            ours, existing = _claim(owner, key, print_)
            if ours is None and existing is None:  # the key changed hands twice while we looked
                return in_flight(key)
            if ours is None:
                assert existing is not None
                if existing.fingerprint != print_:
                    return Response(
                        error_body(
                            "idempotency_key_reused",
                            f"{HEADER} {key!r} was already used for a different request.",
                            {HEADER: "reused with another request"},
                        ),
                        status=422,
                    )
                if existing.state == IdempotencyKey.State.IN_FLIGHT:
                    return in_flight(key)
                return Response(
                    existing.response_body, status=existing.response_status, headers={REPLAYED_HEADER: "true"}
                )
            request.idempotency_key = key
            request.request_fingerprint = print_
            try:
                # The work and the key's completion commit together: a worker that dies in between
                # leaves neither, so a retry after the in-flight lease cannot record the work twice.
                # Any error rolls back all of it, so the services inside open no savepoints.
                with all_or_nothing():
                    response = handler(view, request, *args, **kwargs)
                    if 200 <= response.status_code < 300:
                        ours.state = IdempotencyKey.State.COMPLETED
                        ours.response_status = response.status_code
                        ours.response_body = json.loads(json.dumps(response.data, default=str))
                        if not ours.update_stored("state", "response_status", "response_body"):
                            raise TakenOver
            except TakenOver:
                # This request outlived the in-flight lease and a retry took the key over: its work
                # was rolled back here, and the retry's answer is the one the key will replay.
                return in_flight(key)
            except BaseException:
                _release(ours)
                raise
            if not 200 <= response.status_code < 300:
                _release(ours)
            return response

        return wrapper

    return decorator


def expire_keys(now=None) -> int:
    """Delete keys past their expiry; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
