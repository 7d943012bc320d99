"""API clients and idempotency keys: the plumbing every app's API shares."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models

from launchplane.compiled import CompiledSaves

TOKEN_PREFIX = "lp_"
CONTEXT_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def validate_contexts(value: object) -> None:
    """A non-empty list of context slugs."""
    if not isinstance(value, list) or not value:
        raise ValidationError('Give a list of one or more contexts, e.g. ["cm"].', code="invalid_contexts")
    bad = [item for item in value if not isinstance(item, str) or not CONTEXT_SLUG.match(item) or len(item) > 63]
    if bad:
        raise ValidationError(f"Not context slugs: {bad!r}", code="invalid_contexts")


class ApiClient(models.Model):
    """An automation client (a CI workflow, a deploy or bootstrap driver) with a bearer token.

    Only the token's hash is stored; the token is shown once, when the client is created. A client is
    scoped to one or more contexts and may be read-only.
    """

    name = models.CharField(max_length=150, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(max_length=12, editable=False, help_text="The token's first characters.")
    contexts = models.JSONField(
        default=list, validators=[validate_contexts], help_text='Contexts this client may use, e.g. ["cm", "acme"].'
    )
    read_only = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name

    # DRF and Django's permission machinery ask the authenticated principal these.
    is_authenticated = True
    is_anonymous = False

    def get_username(self) -> str:
        return f"api:{self.name}"

    @classmethod
    def issue(cls, name: str, *, contexts: list[str], read_only: bool = False) -> tuple[ApiClient, str]:
        """Create a client and return it with its token (the only time the token exists in clear)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        client = cls.objects.create(
            name=name,
            token_hash=hash_token(token),
            token_hint=token[:10],
            contexts=sorted(set(contexts)),
            read_only=read_only,
        )
        return client, token

    issue.alters_data = True  # type: ignore[attr-defined]


class IdempotencyKey(CompiledSaves):
    """The first response to a POST carrying an ``Idempotency-Key``, replayed for retries.

    ``owner`` is the client (or staff user) the key belongs to; keys of different owners never
    collide. A row exists while the first request is in flight, and afterwards only if it succeeded.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "in flight"
        COMPLETED = "completed", "completed"

    owner = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_unique_owner_key"),
            models.CheckConstraint(
                condition=models.Q(state__in=["in_flight", "completed"]), name="idempotency_state_valid"
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now
