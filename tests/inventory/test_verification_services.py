"""Verification runs through the services: queueing (one active run, guards), executing (claim once,
probe outside the lock, apply rule 15 with one transition), superseding, abandoning and scheduling.

The probes are replaced by a fake prober that returns a report as the real probes would, so these tests
send no traffic at all; tests/inventory/test_probes.py proves the probes against a fake runtime.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from inventory.models import EnvironmentInventory, InventoryTransition, VerificationRun
from inventory.probes import ProbeEvidence, ProbeReport
from inventory.rules import NOT_SENT
from inventory.services import create_environment, record_deployment
from inventory.services.verification import (
    abandon_overdue_runs,
    claim_run,
    execute_run,
    queue_after_record,
    queue_scheduled_runs,
    queue_verification,
)
from launchplane.errors import BootstrapActive, NotVerifiable

pytestmark = pytest.mark.django_db

BASE_URL = "http://127.0.0.1:9/runtime"


def report(
    *,
    health: str = "pass",
    canonical: str = "pass",
    logo: str = "pass",
    identity: Any = "match",
    expected: dict | None = None,
    unverifiable: bool = False,
    failures: dict[str, str] | None = None,
) -> ProbeReport:
    """What the probes would report; ``identity="match"`` reports ``expected``."""
    failures = failures or {}
    statuses = {"health": health, "canonical": canonical, "logo": logo}
    probes = tuple(
        ProbeEvidence(
            probe=name,
            url=f"{BASE_URL}/{name}",
            status=status,
            status_code=200 if status == "pass" else None,
            content_type="application/json",
            failure_class=failures.get(name, "" if status == "pass" else "http"),
            detail="",
            elapsed_ms=3,
        )
        for name, status in statuses.items()
    )
    value = expected if identity == "match" else identity
    return ProbeReport(
        health_status=health,
        canonical_status=canonical,
        logo_status=logo,
        identity_sent=not unverifiable,
        identity_value=None if unverifiable else value,
        identity_unverifiable=unverifiable,
        probes=probes,
    )


def prober_for(environment, **kwargs: Any):
    """A prober that reports the current deployment's identity unless told otherwise, counting calls."""

    def prober(target):
        prober.calls.append(target)
        current = EnvironmentInventory.objects.get(pk=environment.pk).current_deployment
        return report(expected=current.own_identity if current else None, **kwargs)

    prober.calls = []
    return prober


def deployed(instance: str = "testing", *, post_deploy_status: str = "not_run", **settings: Any):
    """An environment with a base URL and a deployment whose post-deploy update never ran: unverified."""
    environment = create_environment(
        context="cm", instance=instance, base_url=BASE_URL, verify_after_records=False, **settings
    )
    now = timezone.now() - timedelta(minutes=5)
    recorded = record_deployment(
        environment,
        record_id=f"dep-{instance}",
        artifact_id=f"artifact-{instance}",
        source_git_ref="refs/heads/main",
        deploy_status="pass",
        post_deploy_status=post_deploy_status,
        health_status="pass",
        started_at=now - timedelta(minutes=1),
        finished_at=now,
        identity=_own(environment, instance),
        actor="ci",
        now=now,
    )
    assert recorded.inventory.deployment_state == ("unverified" if post_deploy_status == "not_run" else "current")
    return environment


def _own(environment, instance: str):
    """The identity deployment ``dep-<instance>`` of cm/<instance> expects."""
    from inventory.rules import IdentityInput

    return IdentityInput(
        sent=True,
        value={
            "context": "cm",
            "instance": instance,
            "deployment_record_id": f"dep-{instance}",
            "artifact_id": f"artifact-{instance}",
            "source_git_ref": "refs/heads/main",
        },
    )


def inventory(environment) -> EnvironmentInventory:
    return EnvironmentInventory.objects.select_related("last_verification", "lkg_deployment").get(pk=environment.pk)


def verify(environment, prober=None, **kwargs: Any) -> VerificationRun:
    run, created = queue_verification(environment, trigger="operator", requested_by="olga")
    assert created
    return execute_run(run.run_id, prober=prober or prober_for(environment, **kwargs))


# ---------------------------------------------------------------------------------------------------
# Queueing
# ---------------------------------------------------------------------------------------------------


def test_asking_twice_gives_the_one_queued_run() -> None:
    environment = deployed()

    first, created = queue_verification(environment, trigger="api", requested_by="ci")
    again, created_again = queue_verification(environment, trigger="operator", requested_by="olga")

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert VerificationRun.objects.count() == 1
    assert (first.status, first.trigger, first.requested_by) == ("queued", "api", "ci")


def test_an_environment_without_a_base_url_is_not_verifiable() -> None:
    environment = create_environment(context="cm", instance="bare")

    with pytest.raises(NotVerifiable) as refused:
        queue_verification(environment, trigger="api", requested_by="ci")

    assert refused.value.code == "not_verifiable"
    assert not VerificationRun.objects.exists()


def test_a_run_is_refused_while_a_bootstrap_is_active() -> None:
    from bootstraps.services import start_bootstrap

    environment = deployed()
    operation = start_bootstrap(environment, data_source="empty", actor="driver")

    with pytest.raises(BootstrapActive) as refused:
        queue_verification(environment, trigger="api", requested_by="ci")

    assert operation.operation_id in refused.value.message
    assert not VerificationRun.objects.exists()


def test_the_database_allows_one_active_run_per_environment() -> None:
    from django.db import IntegrityError, transaction

    environment = deployed()
    run, _ = queue_verification(environment, trigger="api", requested_by="ci")

    with pytest.raises(IntegrityError), transaction.atomic():
        VerificationRun.objects.create(
            environment=environment,
            trigger="api",
            requested_by="x",
            queued_at=run.queued_at,
            timeout_seconds=30,
            deadline=run.deadline,
        )


# ---------------------------------------------------------------------------------------------------
# Executing and applying (rule 15)
# ---------------------------------------------------------------------------------------------------


def test_a_healthy_runtime_brings_an_unverified_deployment_to_current() -> None:
    environment = deployed()
    transitions = InventoryTransition.objects.count()

    run = verify(environment)

    after = inventory(environment)
    assert (run.status, run.inventory_effect) == ("finished", "advanced")
    assert (after.state, after.deployment_state) == ("current", "current")
    assert after.lkg_deployment.record_id == "dep-testing"
    assert after.lkg_verified_at == run.finished_at
    assert after.freshness_at(timezone.now()) == "verified"
    assert after.last_verification == run
    assert InventoryTransition.objects.count() == transitions + 1
    transition = InventoryTransition.objects.order_by("-sequence").first()
    assert (transition.cause_type, transition.cause_id, transition.actor) == ("verification", run.run_id, "olga")
    assert (transition.from_state, transition.to_state, transition.effect) == ("unverified", "current", "advanced")
    assert [probe["probe"] for probe in run.probes] == ["health", "canonical", "logo"]


def test_a_wrong_identity_marks_stale_inventory_with_the_differing_keys() -> None:
    environment = deployed(post_deploy_status="pass")
    wrong = {**_own(environment, "testing").value, "artifact_id": "artifact-hotfix"}

    run = verify(environment, identity=wrong)

    after = inventory(environment)
    assert (run.runtime_identity_status, run.runtime_identity_mismatches) == ("mismatch", ["artifact_id"])
    assert after.state == "stale_inventory"
    assert "artifact_id" in after.state_reason
    assert after.observed_runtime_identity == wrong
    assert run.inventory_effect == "marked"


def test_a_missing_identity_where_required_leaves_a_current_deployment_unverified() -> None:
    environment = deployed(post_deploy_status="pass")

    run = verify(environment, identity=None)

    assert run.runtime_identity_status == "missing"
    assert inventory(environment).state == "unverified"


def test_a_missing_canonical_fails_verification_and_says_so() -> None:
    environment = deployed()

    run = verify(environment, canonical="fail", failures={"canonical": "canonical_missing"})

    after = inventory(environment)
    assert after.state == "verification_failed"
    assert "canonical_missing" in after.state_reason
    assert run.inventory_effect == "marked"


def test_an_optional_logo_failure_does_not_block_and_is_named() -> None:
    environment = deployed(required_checks=["health", "canonical"])

    verify(environment, logo="fail", failures={"logo": "html_404"})

    after = inventory(environment)
    assert after.state == "current"
    assert "logo check failed (html_404) but not required" in after.state_reason


def test_a_passing_run_proves_a_bootstraps_unverified_data_and_pairs_it_in_last_known_good() -> None:
    from bootstraps.services import BootstrapResult, run_bootstrap_once

    environment = deployed(post_deploy_status="pass")
    operation = run_bootstrap_once(
        environment,
        BootstrapResult(
            bootstrap_run_status="pass", data_mutated=True, post_deploy_status="pass", health_status="pass"
        ),
        data_source="empty",
        actor="driver",
    )
    assert inventory(environment).data_state == "unverified"

    run = verify(environment)

    after = inventory(environment)
    assert run.inventory_effect == "advanced"
    assert (after.deployment_state, after.data_state, after.state) == ("current", "current", "current")
    assert after.lkg_bootstrap_id == operation.pk
    assert after.current_bootstrap_id == operation.pk


def test_verification_never_clears_unknown_data() -> None:
    from bootstraps.services import BootstrapResult, run_bootstrap_once

    environment = deployed(post_deploy_status="pass")
    run_bootstrap_once(
        environment,
        BootstrapResult(bootstrap_run_status="unknown", data_mutated=None),
        data_source="empty",
        actor="driver",
    )

    run = verify(environment)

    after = inventory(environment)
    assert after.data_state == "unknown"
    assert after.state == "unknown"
    assert run.inventory_effect == "retained"


def test_a_run_overtaken_by_a_deployment_is_superseded_and_changes_nothing() -> None:
    environment = deployed()
    run, _ = queue_verification(environment, trigger="api", requested_by="ci")

    def prober(target):
        # While the probes run, automation records a newer deployment.
        now = timezone.now()
        record_deployment(
            environment,
            record_id="dep-newer",
            artifact_id="artifact-newer",
            source_git_ref="refs/heads/main",
            deploy_status="pass",
            post_deploy_status="not_run",
            health_status="pass",
            started_at=now - timedelta(seconds=30),
            finished_at=now,
            identity=NOT_SENT,
            actor="ci",
        )
        return report(expected=None, identity={"context": "cm"})

    before = InventoryTransition.objects.count()
    state_before = inventory(environment)
    applied = execute_run(run.run_id, prober=prober)

    after = inventory(environment)
    assert applied.inventory_effect == "superseded"
    assert InventoryTransition.objects.count() == before + 1  # the deployment's, none for the run
    assert after.current_deployment.record_id == "dep-newer"
    assert after.state == "unverified"
    assert after.last_verification == applied
    assert state_before.lkg_verified_at == after.lkg_verified_at


def test_a_run_runs_once_however_often_it_is_executed() -> None:
    environment = deployed()
    run, _ = queue_verification(environment, trigger="api", requested_by="ci")
    prober = prober_for(environment)

    first = execute_run(run.run_id, prober=prober)
    second = execute_run(run.run_id, prober=prober)

    assert len(prober.calls) == 1
    assert (first.status, second.status) == ("finished", "finished")
    assert InventoryTransition.objects.filter(cause_type="verification").count() == 1


def test_probes_that_raise_leave_a_finished_run_that_proves_nothing() -> None:
    environment = deployed(post_deploy_status="pass")

    def broken(target):
        raise RuntimeError("bug")

    run = verify(environment, prober=broken)

    assert run.status == "finished"
    assert run.health_status == "unknown"
    assert run.probes[0]["failure_class"] == "internal"
    assert inventory(environment).state == "unverified"


# ---------------------------------------------------------------------------------------------------
# Abandoning, scheduling, after records
# ---------------------------------------------------------------------------------------------------


def test_a_run_whose_worker_died_is_abandoned_after_its_budget_and_can_be_asked_again() -> None:
    environment = deployed(verification_timeout_seconds=5)
    run, _ = queue_verification(environment, trigger="api", requested_by="ci")
    started = timezone.now()
    assert claim_run(run, started)
    before = inventory(environment)

    assert abandon_overdue_runs(started + timedelta(seconds=5)) == 0  # inside the budget (and grace)
    assert abandon_overdue_runs(started + timedelta(seconds=5 + 31)) == 1

    run.refresh_from_db()
    after = inventory(environment)
    assert (run.status, run.inventory_effect) == ("abandoned", "retained")
    assert (after.state, after.last_sequence) == (before.state, before.last_sequence)
    fresh, created = queue_verification(environment, trigger="api", requested_by="ci")
    assert created and fresh.pk != run.pk
    # The dead worker's late answer is not applied.
    late = execute_run(run.run_id, prober=prober_for(environment))
    assert late.status == "abandoned"


def test_the_schedule_queues_runs_for_environments_due_and_only_those() -> None:
    due = deployed("due")
    fresh = deployed("fresh")
    never = deployed("never", verification_interval_seconds=0)
    bare = create_environment(context="cm", instance="bare")
    verify(fresh)
    now = timezone.now()

    assert queue_scheduled_runs(now) == 1

    queued = VerificationRun.objects.filter(status="queued")
    assert [(run.environment_id, run.trigger) for run in queued] == [(due.pk, "schedule")]
    assert queue_scheduled_runs(now) == 0  # the run is queued: asking again adds none
    assert not VerificationRun.objects.filter(environment__in=[never, bare]).exists()
    # Half the TTL later the fresh one is due too.
    later = now + timedelta(seconds=fresh.effective_interval_seconds + 1)
    assert queue_scheduled_runs(later) == 1


def test_the_interval_defaults_to_half_the_ttl() -> None:
    environment = create_environment(context="cm", instance="ttl", verification_ttl_seconds=6)

    assert environment.effective_interval_seconds == 3


def test_after_records_a_run_is_queued_when_a_side_is_left_unverified() -> None:
    environment = create_environment(context="cm", instance="after", base_url=BASE_URL)
    now = timezone.now()

    recorded = record_deployment(
        environment,
        record_id="dep-after",
        artifact_id="artifact-after",
        source_git_ref="refs/heads/main",
        deploy_status="pass",
        post_deploy_status="not_run",
        health_status="pass",
        started_at=now - timedelta(seconds=30),
        finished_at=now,
        identity=_own(environment, "after"),
        actor="ci",
    )

    assert recorded.inventory.deployment_state == "unverified"
    run = VerificationRun.objects.get(environment=environment)
    assert (run.trigger, run.requested_by, run.status) == ("after_record", "ci", "queued")


def test_after_records_nothing_is_queued_when_the_environment_opts_out_or_all_is_current() -> None:
    opted_out = deployed("optout")  # verify_after_records=False
    queue_after_record(opted_out, inventory(opted_out), actor="ci")

    current = deployed("current", post_deploy_status="pass")
    queue_after_record(current, inventory(current), actor="ci")

    assert not VerificationRun.objects.exists()
