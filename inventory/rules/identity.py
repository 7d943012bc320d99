"""Runtime identity (rule 5): what a record said about the runtime, and how it compares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inventory.choices import (
    RuntimeIdentityStatus,
)

IDENTITY_KEYS = ("context", "instance", "deployment_record_id", "artifact_id", "source_git_ref")
ID = RuntimeIdentityStatus

# Identity outcomes that always count against the environment, whatever requires_runtime_identity says.
IDENTITY_AGAINST = frozenset({ID.MISMATCH, ID.MALFORMED})
# Identity outcomes that leave the runtime unverified where identity is required.
IDENTITY_UNPROVEN = frozenset({ID.MISSING, ID.UNVERIFIABLE, ID.UNCHECKED})

# ---------------------------------------------------------------------------------------------------
# Runtime identity (rule 5)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityInput:
    """What a record said about the runtime's identity.

    ``sent`` is False when the field was left out. ``value`` is what was sent (``None`` for JSON
    null). ``unverifiable`` is True when the client sent ``runtime_identity_status: "unverifiable"``.
    """

    sent: bool = False
    value: Any = None
    unverifiable: bool = False

    @property
    def is_contradictory(self) -> bool:
        """Unverifiable together with a non-null identity cannot both be true."""
        return self.unverifiable and self.sent and self.value is not None

    @property
    def carries_identity(self) -> bool:
        """Whether the record says anything about the runtime (and so updates inventory's view)."""
        return self.sent or self.unverifiable


NOT_SENT = IdentityInput()


@dataclass(frozen=True)
class IdentityComparison:
    status: RuntimeIdentityStatus
    mismatches: tuple[str, ...] = ()


def expected_identity(
    *, context: str, instance: str, deployment_record_id: str, artifact_id: str, source_git_ref: str
) -> dict[str, str]:
    """The identity a runtime should report when it runs the given deployment."""
    return {
        "context": context,
        "instance": instance,
        "deployment_record_id": deployment_record_id,
        "artifact_id": artifact_id,
        "source_git_ref": source_git_ref,
    }


def compare_identity(expected: Mapping[str, Any] | None, observed: IdentityInput) -> IdentityComparison:
    """Compare an observed runtime identity with the expected one (rule 5).

    Every non-empty expected key must be equal, as an exact string, in the observed object; an absent
    key is a difference. ``missing`` and ``malformed`` describe what was sent and apply even when
    there is nothing to compare with. Callers reject contradictory input before comparing.
    """
    if observed.unverifiable:
        return IdentityComparison(ID.UNVERIFIABLE)
    if not observed.sent:
        return IdentityComparison(ID.UNCHECKED)
    if observed.value is None:
        return IdentityComparison(ID.MISSING)
    if not isinstance(observed.value, Mapping):
        return IdentityComparison(ID.MALFORMED)
    if not expected:
        return IdentityComparison(ID.UNCHECKED)
    differing = tuple(
        key
        for key in IDENTITY_KEYS
        if expected.get(key) not in (None, "")
        and not (isinstance(observed.value.get(key), str) and observed.value.get(key) == expected[key])
    )
    if not any(expected.get(key) not in (None, "") for key in IDENTITY_KEYS):
        return IdentityComparison(ID.UNCHECKED)
    return IdentityComparison(ID.MISMATCH, differing) if differing else IdentityComparison(ID.MATCH)
