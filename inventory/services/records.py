"""Recording artifact deployments (rule 6) and observations of the runtime (rule 8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from inventory.choices import CheckStatus, InventoryEffect
from inventory.models import (
    DeploymentRecord,
    Environment,
    EnvironmentInventory,
    InventoryTransition,
    RuntimeObservation,
)
from inventory.rules import (
    NOT_SENT,
    DeploymentFacts,
    IdentityInput,
    ObservationFacts,
    compare_identity,
    decide_deployment,
    decide_observation,
    deployment_is_superseded,
    observation_is_superseded,
)
from inventory.services.transitions import (
    Cause,
    apply_transition,
    check_status,
    forget_identity_comparison,
    lock_inventory,
    next_sequence,
    note_identity,
    refuse_future,
    save_new_record,
    validation_fields,
    verified_at,
)
from inventory.services.verification import queue_after_record
from launchplane.errors import ContradictoryResult, InvalidInput
from launchplane.transactions import atomic

CauseType = InventoryTransition.CauseType


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
    with atomic():
        inventory = lock_inventory(environment, now=now)  # overdue operations time out first (rule 9)
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
                # environment: the locked row's own (no query to ask whether it exists); record_id's
                # uniqueness: the insert's unique index answers it (save_new_record: 409).
                exclude=["environment", "sequence", "inventory_effect"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            raise InvalidInput("The deployment record is not valid.", fields=validation_fields(exc)) from exc
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
    queue_after_record(environment, inventory, actor=actor)
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
    with atomic():
        inventory = lock_inventory(environment, now=now)  # overdue operations time out first (rule 9)
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
