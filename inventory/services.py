"""Services that change inventory: one per state change, each a single transaction.

Every service locks the environment's inventory row, checks its guard, asks a pure rule what to do,
writes the record and appends exactly one ``InventoryTransition`` (rule 11). Nothing else writes a
state field. ``bootstraps.services`` builds on ``lock_inventory`` and ``apply_transition``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.choices import CheckStatus, InventoryEffect, RuntimeIdentityStatus
from inventory.models import (
    DeploymentRecord,
    Environment,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
)
from inventory.rules import (
    CHECKS,
    NOT_SENT,
    DeploymentFacts,
    IdentityComparison,
    IdentityInput,
    ObservationFacts,
    combine,
    compare_identity,
    decide_deployment,
    decide_observation,
    deployment_is_superseded,
    observation_is_superseded,
    state_reason,
)
from inventory.selectors import expire_overdue
from launchplane.errors import Conflict, ContradictoryResult, InvalidInput, NotFound

CauseType = InventoryTransition.CauseType

# ---------------------------------------------------------------------------------------------------
# Shared plumbing
# ---------------------------------------------------------------------------------------------------


def _validation_fields(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {name: " ".join(m for e in errors for m in e.messages) for name, errors in exc.error_dict.items()}
    return {"__all__": " ".join(exc.messages)}


def create_environment(
    *,
    context: str,
    instance: str,
    base_url: str = "",
    required_checks: Sequence[str] | None = None,
    requires_runtime_identity: bool = True,
    verification_ttl_seconds: int = 86400,
    now: datetime | None = None,
) -> Environment:
    """Create an environment and its inventory pointer together. A duplicate raises ``Conflict``."""
    environment = Environment(
        context=context,
        instance=instance,
        base_url=base_url,
        required_checks=list(CHECKS if required_checks is None else required_checks),
        requires_runtime_identity=requires_runtime_identity,
        verification_ttl_seconds=verification_ttl_seconds,
    )
    try:
        environment.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput("The environment is not valid.", fields=_validation_fields(exc)) from exc
    try:
        with transaction.atomic():
            environment.save()
            EnvironmentInventory.objects.create(environment=environment, state_changed_at=now or timezone.now())
    except IntegrityError as exc:
        raise Conflict(
            f"Environment {context}/{instance} already exists.", fields={"instance": "already exists"}
        ) from exc
    return environment


def get_environment(context: str, instance: str) -> Environment:
    try:
        return Environment.objects.get(context=context, instance=instance)
    except Environment.DoesNotExist as exc:
        raise NotFound(
            f"No environment {context}/{instance}. Create it first (POST /api/v1/environments/).",
            fields={"context": "unknown environment", "instance": "unknown environment"},
        ) from exc


def lock_inventory(environment: Environment) -> EnvironmentInventory:
    """Lock and return the environment's inventory row; call inside ``transaction.atomic()``.

    The row lock serialises every record for one environment (rule 12), so each service reads the
    pointers it decides on and writes them back without another writer in between.
    """
    inventory, _created = EnvironmentInventory.objects.select_for_update().get_or_create(
        environment=environment, defaults={"state_changed_at": timezone.now()}
    )
    inventory.environment = environment
    return inventory


def next_sequence(inventory: EnvironmentInventory) -> int:
    """The next number in the environment's server order. The caller saves ``last_sequence``."""
    inventory.last_sequence += 1
    return inventory.last_sequence


def note_identity(
    inventory: EnvironmentInventory, identity: IdentityInput, comparison: IdentityComparison, at: datetime
) -> list[str]:
    """Copy what a record observed of the runtime into inventory. Returns the fields it changed."""
    if not identity.carries_identity:
        return []
    inventory.observed_runtime_identity = identity.value if identity.sent else None
    inventory.runtime_identity_status = comparison.status
    inventory.runtime_identity_mismatches = list(comparison.mismatches)
    inventory.observed_at = at
    return ["observed_runtime_identity", "runtime_identity_status", "runtime_identity_mismatches", "observed_at"]


def forget_identity_comparison(inventory: EnvironmentInventory) -> list[str]:
    """The current deployment moved without a fresh identity: the old comparison no longer applies.

    The last observed identity stays visible; its status goes back to ``unchecked``.
    """
    inventory.runtime_identity_status = RuntimeIdentityStatus.UNCHECKED
    inventory.runtime_identity_mismatches = []
    return ["runtime_identity_status", "runtime_identity_mismatches"]


@dataclass(frozen=True)
class Cause:
    """What a transition is attributed to: ``occurred_at`` is when it happened (a client's finish, a
    deadline: evidence), ``recorded_at`` when Launchplane recorded it (server time: what "since" and
    ``state_changed_at`` show, rule 14)."""

    type: str
    id: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    # occurred_at comes from our own clock (a deadline), so it is also when the state changed, however
    # late a request or the sweeper noticed it.
    server_clock: bool = False

    @property
    def state_changed_at(self) -> datetime:
        return self.occurred_at if self.server_clock else self.recorded_at


def apply_transition(
    inventory: EnvironmentInventory,
    *,
    deployment_state: str,
    data_state: str,
    effect: str,
    cause: Cause,
    reason: str,
    deployment_detail: str | None = None,
    data_detail: str | None = None,
    notes: Sequence[str] = (),
    changed_fields: Sequence[str] = (),
    recompose_reason: bool = True,
) -> InventoryTransition:
    """Set both sides, recompose ``state`` and ``state_reason``, save, and append the transition.

    ``None`` details keep the side's current detail. An acknowledgement is cleared whenever either side
    changes: it answered the state as it was.
    """
    from_state, from_deployment, from_data = inventory.state, inventory.deployment_state, inventory.data_state
    inventory.deployment_state = deployment_state
    inventory.data_state = data_state
    inventory.state = combine(deployment_state, data_state)
    if deployment_detail is not None:
        inventory.deployment_detail = deployment_detail[:500]
    if data_detail is not None:
        inventory.data_detail = data_detail[:500]
    if recompose_reason:
        inventory.state_reason = state_reason(
            deployment_state,
            data_state,
            deployment_detail=inventory.deployment_detail,
            data_detail=inventory.data_detail,
            notes=notes,
        )
    fields = {
        "deployment_state",
        "data_state",
        "state",
        "state_reason",
        "deployment_detail",
        "data_detail",
        "last_sequence",
        "updated_at",
        *changed_fields,
    }
    if (from_deployment, from_data) != (deployment_state, data_state):
        inventory.state_changed_at = cause.state_changed_at
        inventory.acknowledged_by = None
        inventory.acknowledged_at = None
        inventory.acknowledgement_note = ""
        fields |= {"state_changed_at", "acknowledged_by", "acknowledged_at", "acknowledgement_note"}
    sequence = next_sequence(inventory)
    inventory.save(update_fields=sorted(fields))
    return InventoryTransition.objects.create(
        environment=inventory.environment,
        sequence=sequence,
        from_state=from_state,
        to_state=inventory.state,
        from_deployment_state=from_deployment,
        from_data_state=from_data,
        deployment_state=deployment_state,
        data_state=data_state,
        effect=effect,
        cause_type=cause.type,
        cause_id=cause.id,
        reason=reason,
        actor=cause.actor,
        occurred_at=cause.occurred_at,
        recorded_at=cause.recorded_at,
    )


def refuse_future(field: str, moment: datetime, now: datetime) -> None:
    """Client timestamps are evidence, never order (rule 4) — but one from the future would hold its
    place over every honest record until the clock caught up, so it is refused, allowing for skew."""
    skew = timedelta(seconds=settings.CLOCK_SKEW_SECONDS)
    if moment > now + skew:
        raise InvalidInput(
            f"{field} is in the future ({moment:%Y-%m-%d %H:%M:%S} UTC; server time {now:%Y-%m-%d %H:%M:%S} UTC). "
            "Check the reporting machine's clock.",
            fields={field: "in the future"},
        )


RECORD_ID_TAKEN = "That record_id is already used; choose another or leave it out to have one assigned."


def save_new_record(record: DeploymentRecord) -> None:
    """Insert a deployment record. A record_id taken meanwhile by a writer on another environment (whose
    lock we do not hold) is a 409 like any other reuse, not a 500."""
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as exc:
        raise Conflict(RECORD_ID_TAKEN, fields={"record_id": "already used"}) from exc


def verified_at(evidence_time: datetime, now: datetime) -> datetime:
    """When last known good was verified: the record's own time, never later than we heard of it."""
    return min(evidence_time, now)


def check_status(name: str, value: str) -> str:
    if value not in CheckStatus.values:
        raise InvalidInput(
            f"{name} must be one of {', '.join(CheckStatus.values)}.", fields={name: f"not a check status: {value!r}"}
        )
    return value


# ---------------------------------------------------------------------------------------------------
# Deployments (rule 6)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """A stored record, what it did to inventory, and the inventory afterwards."""

    record: object
    effect: str
    inventory: EnvironmentInventory
    transition: InventoryTransition | None


def record_deployment(
    environment: Environment,
    *,
    artifact_id: str,
    source_git_ref: str,
    deploy_status: str,
    started_at: datetime,
    finished_at: datetime,
    actor: str,
    record_id: str | None = None,
    image_digest: str = "",
    post_deploy_status: str = CheckStatus.NOT_RUN,
    health_status: str = CheckStatus.NOT_RUN,
    identity: IdentityInput = NOT_SENT,
    now: datetime | None = None,
) -> Recorded:
    """Record an artifact deployment and apply rule 6 (or store it as superseded, rule 4)."""
    now = now or timezone.now()
    if deploy_status not in DeploymentRecord.DeployStatus.values:
        raise InvalidInput(
            "deploy_status must be pass or fail.", fields={"deploy_status": f"not pass or fail: {deploy_status!r}"}
        )
    check_status("post_deploy_status", post_deploy_status)
    check_status("health_status", health_status)
    if finished_at < started_at:
        raise InvalidInput("finished_at is before started_at.", fields={"finished_at": "before started_at"})
    refuse_future("finished_at", finished_at, now)
    if identity.is_contradictory:
        raise ContradictoryResult(
            "runtime_identity_status 'unverifiable' contradicts the runtime identity that was sent.",
            fields={
                "runtime_identity_status": "unverifiable with an identity",
                "observed_runtime_identity": "sent with unverifiable",
            },
        )
    expire_overdue(environment, now)  # rule 9, committed whatever follows
    with transaction.atomic():
        inventory = lock_inventory(environment)
        if record_id and DeploymentRecord.objects.filter(record_id=record_id).exists():
            raise Conflict(RECORD_ID_TAKEN, fields={"record_id": "already used"})
        current = inventory.current_deployment
        record = DeploymentRecord(
            environment=environment,
            artifact_id=artifact_id,
            source_git_ref=source_git_ref,
            image_digest=image_digest,
            deploy_status=deploy_status,
            post_deploy_status=post_deploy_status,
            health_status=health_status,
            started_at=started_at,
            finished_at=finished_at,
            recorded_by=actor,
            observed_runtime_identity=identity.value if identity.sent else None,
        )
        if record_id:
            record.record_id = record_id
        try:
            record.full_clean(
                exclude=["sequence", "inventory_effect"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            raise InvalidInput("The deployment record is not valid.", fields=_validation_fields(exc)) from exc
        passed = deploy_status == DeploymentRecord.DeployStatus.PASS
        record.expected_runtime_identity = (
            record.own_identity if passed else (current.own_identity if current else None)
        )
        comparison = compare_identity(record.expected_runtime_identity, identity)
        record.runtime_identity_status = comparison.status
        record.runtime_identity_mismatches = list(comparison.mismatches)
        record.sequence = next_sequence(inventory)

        if deployment_is_superseded(finished_at, current.finished_at if current else None):
            record.inventory_effect = InventoryEffect.SUPERSEDED
            save_new_record(record)
            inventory.save(update_fields=["last_sequence"])
            return Recorded(record, record.inventory_effect, inventory, None)

        outcome = decide_deployment(
            DeploymentFacts(
                deploy_status=deploy_status,
                post_deploy_status=post_deploy_status,
                health_status=health_status,
                identity=comparison,
                health_required=environment.requires("health"),
                identity_required=environment.requires_runtime_identity,
                data_state=inventory.data_state,
                deployment_state=inventory.deployment_state,
            )
        )
        record.inventory_effect = outcome.effect
        save_new_record(record)
        changed = ["last_deployment_attempt"]
        inventory.last_deployment_attempt = record
        if outcome.moves_pointer:
            inventory.current_deployment = record
            changed.append("current_deployment")
        if identity.carries_identity:
            changed += note_identity(inventory, identity, comparison, finished_at)
        elif outcome.moves_pointer:
            changed += forget_identity_comparison(inventory)
        if outcome.advances:
            inventory.lkg_deployment = record
            inventory.lkg_bootstrap = inventory.current_bootstrap if inventory.data_state == "current" else None
            inventory.lkg_verified_at = verified_at(finished_at, now)
            changed += ["lkg_deployment", "lkg_bootstrap", "lkg_verified_at"]
        verb = "passed" if passed else "failed"
        # The side's detail carries why it is not current, and any check that failed without being
        # required, so state_reason keeps naming it until the side changes again. A failed attempt
        # that leaves the current deployment in place leaves its remarks in place too.
        remarks = "; ".join(part for part in (outcome.detail, *outcome.notes) if part)
        if outcome.moves_pointer or outcome.detail:
            deployment_detail: str | None = f"deployment {record.record_id}: {remarks}" if remarks else ""
        else:
            deployment_detail = None
        transition = apply_transition(
            inventory,
            deployment_state=outcome.deployment_state,
            data_state=outcome.data_state,
            effect=outcome.effect,
            cause=Cause(CauseType.DEPLOYMENT, record.record_id, actor, finished_at, now),
            reason=f"Deployment {record.record_id} of {artifact_id} {verb}"
            + (f": {outcome.detail}." if outcome.detail else "."),
            deployment_detail=deployment_detail,
            changed_fields=changed,
        )
    return Recorded(record, outcome.effect, inventory, transition)


# ---------------------------------------------------------------------------------------------------
# Observations (rule 8)
# ---------------------------------------------------------------------------------------------------


def record_observation(
    environment: Environment,
    *,
    identity: IdentityInput,
    source: str,
    observed_at: datetime,
    actor: str,
    now: datetime | None = None,
) -> Recorded:
    """Record what a prober read of the runtime's identity and apply rule 8."""
    if identity.is_contradictory:
        raise ContradictoryResult(
            "runtime_identity_status 'unverifiable' contradicts the runtime identity that was sent.",
            fields={
                "runtime_identity_status": "unverifiable with an identity",
                "observed_runtime_identity": "sent with unverifiable",
            },
        )
    if not identity.carries_identity:
        raise InvalidInput(
            "An observation needs observed_runtime_identity (or runtime_identity_status 'unverifiable').",
            fields={"observed_runtime_identity": "required"},
        )
    if not source:
        raise InvalidInput("An observation needs a source.", fields={"source": "required"})
    now = now or timezone.now()
    refuse_future("observed_at", observed_at, now)
    expire_overdue(environment, now)  # rule 9, committed whatever follows
    with transaction.atomic():
        inventory = lock_inventory(environment)
        current = inventory.current_deployment
        expected = current.own_identity if current else None
        comparison = compare_identity(expected, identity)
        observation = RuntimeObservation(
            environment=environment,
            sequence=next_sequence(inventory),
            source=source,
            observed_at=observed_at,
            expected_runtime_identity=expected,
            observed_runtime_identity=identity.value if identity.sent else None,
            runtime_identity_status=comparison.status,
            runtime_identity_mismatches=list(comparison.mismatches),
            recorded_by=actor,
        )
        if observation_is_superseded(observed_at, current.finished_at if current else None):
            observation.inventory_effect = InventoryEffect.SUPERSEDED
            observation.save()
            inventory.save(update_fields=["last_sequence"])
            return Recorded(observation, observation.inventory_effect, inventory, None)
        outcome = decide_observation(
            ObservationFacts(
                identity=comparison,
                deployment_state=inventory.deployment_state,
                data_state=inventory.data_state,
                identity_required=environment.requires_runtime_identity,
            )
        )
        observation.inventory_effect = outcome.effect
        observation.save()
        changed = note_identity(inventory, identity, comparison, observed_at)
        detail = f"observed by {source}: {outcome.detail}" if outcome.detail else None
        transition = apply_transition(
            inventory,
            deployment_state=outcome.deployment_state,
            data_state=outcome.data_state,
            effect=outcome.effect,
            cause=Cause(CauseType.OBSERVATION, str(observation.pk), actor, observed_at, now),
            reason=f"Observation by {source}: runtime identity {comparison.status}"
            + (f" ({', '.join(comparison.mismatches)} differ)." if comparison.mismatches else "."),
            deployment_detail=detail,
            changed_fields=changed,
        )
    return Recorded(observation, outcome.effect, inventory, transition)


# ---------------------------------------------------------------------------------------------------
# Review
# ---------------------------------------------------------------------------------------------------


def acknowledge(environment: Environment, *, user, note: str, now: datetime | None = None) -> InventoryTransition:
    """A reviewer has seen the environment's state. Never changes state; the next change clears it."""
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise InvalidInput("An acknowledgement needs a note.", fields={"note": "required"})
    expire_overdue(environment, now)  # rule 9, committed whatever follows
    with transaction.atomic():
        inventory = lock_inventory(environment)
        inventory.acknowledged_by = user
        inventory.acknowledged_at = now
        inventory.acknowledgement_note = note
        actor = user.get_username()
        return apply_transition(
            inventory,
            deployment_state=inventory.deployment_state,
            data_state=inventory.data_state,
            effect=InventoryEffect.RETAINED,
            cause=Cause(CauseType.REVIEW, f"review:{actor}", actor, now, now),
            reason=f"Acknowledged by {actor}: {note}",
            changed_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"],
            recompose_reason=False,
        )
