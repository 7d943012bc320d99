"""Every row of PRODUCT.md's rules 6, 7 and 8 driven end to end over HTTP: the client posts the record,
the API applies it, and the environment's read model is read back with GET.

Prior state is written through the services (as production code writes it); the record under test and
the read-back go over HTTP. Each test also checks that an applied record appended exactly one
transition and that a superseded one appended none (rule 11).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bootstraps.models import BootstrapOperation
from inventory.models import InventoryTransition
from inventory.rules import NOT_SENT
from tests.api.support import (
    BOOTSTRAPS,
    DEPLOYMENTS,
    OMIT,
    at,
    cancel_url,
    deployment_body,
    environment_url,
    new_key,
    observations_url,
    post,
    result_body,
    result_url,
    start_body,
)
from tests.factories import (
    T0,
    bootstrap_once,
    deploy,
    make_environment,
    observe,
    passing_result,
    report_progress,
    runtime_identity,
    start,
)

pytestmark = pytest.mark.django_db

MALFORMED = ["not", "an", "object"]
# A result body whose checks were never reached and which reports no identity.
NOT_REACHED = {
    **dict.fromkeys(("post_deploy_status", "health_status", "canonical_status", "logo_status"), "not_run"),
    "observed_runtime_identity": OMIT,
}


# ---------------------------------------------------------------------------------------------------
# Prior states, written through the services. Each returns the environment; dep-0 is the deployment
# a prior state leaves current, if any.
# ---------------------------------------------------------------------------------------------------


def fresh(**options: Any):
    """Nothing recorded yet."""
    return make_environment(**options)


def deployed(**options: Any):
    environment = make_environment(**options)
    deploy(environment, "dep-0")
    return environment


def deployed_and_ready(**options: Any):
    """dep-0 current and a ready bootstrap: both sides current, last known good (dep-0, that bootstrap)."""
    environment = deployed(**options)
    bootstrap_once(environment, passing_result(environment))
    return environment


def deployed_unverified(**options: Any):
    environment = make_environment(**options)
    deploy(environment, "dep-0", post_deploy_status="not_run")
    return environment


def deployed_failing_verification(**options: Any):
    environment = make_environment(**options)
    deploy(environment, "dep-0", post_deploy_status="fail")
    return environment


def deployed_stale(**options: Any):
    environment = deployed(**options)
    observe(
        environment,
        runtime_identity("dep-0", artifact_id="artifact-elsewhere"),
        observed_at=T0 + timedelta(minutes=200),
    )
    return environment


def data_partial(**options: Any):
    environment = deployed(**options)
    bootstrap_once(
        environment,
        passing_result(environment, bootstrap_run_status="fail", data_mutated=True, **service_not_reached()),
    )
    return environment


def data_unknown(**options: Any):
    environment = deployed(**options)
    bootstrap_once(
        environment,
        passing_result(environment, bootstrap_run_status="unknown", data_mutated=None, **service_not_reached()),
    )
    return environment


def data_in_progress(**options: Any):
    environment = deployed(**options)
    start(environment)
    return environment


def service_not_reached() -> dict[str, Any]:
    """A service-level result whose checks were never reached and which reports no identity."""
    checks = ("post_deploy_status", "health_status", "canonical_status", "logo_status")
    return {**dict.fromkeys(checks, "not_run"), "identity": NOT_SENT}


NO_IDENTITY_REQUIRED = {"requires_runtime_identity": False}


@dataclass(frozen=True)
class Expect:
    """What the read model must say afterwards, and what the record did."""

    state: str
    deployment_state: str
    data_state: str
    effect: str
    identity_status: str | None = None
    reason_mentions: tuple[str, ...] = ()


def read(http) -> dict[str, Any]:
    response = http.get(environment_url())
    assert response.status_code == 200, response.json()
    return response.json()


def last_known_good(http) -> dict[str, Any]:
    return read(http)["last_known_good"]


def assert_read_model(model: dict[str, Any], expect: Expect) -> None:
    assert (model["state"], model["deployment_state"], model["data_state"]) == (
        expect.state,
        expect.deployment_state,
        expect.data_state,
    ), model["state_reason"]
    if expect.identity_status is not None:
        assert model["runtime_identity_status"] == expect.identity_status
    for words in expect.reason_mentions:
        assert words in model["state_reason"], model["state_reason"]


def assert_observed_identity(model: dict[str, Any], body: dict[str, Any]) -> None:
    """Rule 5: every applied record that carries an identity updates the inventory's observed identity."""
    if "observed_runtime_identity" in body:
        assert model["observed_runtime_identity"] == body["observed_runtime_identity"]
    elif body.get("runtime_identity_status") == "unverifiable":
        assert model["observed_runtime_identity"] is None


def newest_transition() -> InventoryTransition:
    return InventoryTransition.objects.order_by("-pk").first()


# ---------------------------------------------------------------------------------------------------
# Rule 6: deployments
# ---------------------------------------------------------------------------------------------------

MISMATCH_WITH_CURRENT = runtime_identity("dep-0", artifact_id="artifact-elsewhere")
MISMATCH_WITH_ITSELF = runtime_identity("dep-1", artifact_id="artifact-elsewhere")


@dataclass(frozen=True)
class DeploymentCase:
    prior: Callable[..., Any]
    body: dict[str, Any]
    pointer: str | None  # the current deployment afterwards
    expect: Expect
    options: dict[str, Any] = field(default_factory=dict)


def deployment(**body: Any) -> dict[str, Any]:
    return {"identity_value": body.pop("identity", "match"), **body}


DEPLOYMENT_ROWS = {
    # Row 1: deploy fail, identity mismatch or malformed against the current deployment.
    "fail-mismatch-against-current": DeploymentCase(
        deployed,
        deployment(deploy_status="fail", identity=MISMATCH_WITH_CURRENT),
        "dep-0",
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "mismatch", ("artifact_id",)),
    ),
    "fail-malformed": DeploymentCase(
        deployed,
        deployment(deploy_status="fail", identity=MALFORMED),
        "dep-0",
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "malformed"),
    ),
    "fail-mismatch-where-identity-not-required": DeploymentCase(
        deployed,
        deployment(deploy_status="fail", identity=MISMATCH_WITH_CURRENT),
        "dep-0",
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "mismatch"),
        NO_IDENTITY_REQUIRED,
    ),
    # Row 2: deploy fail.
    "fail-without-identity": DeploymentCase(
        deployed,
        deployment(deploy_status="fail", identity=OMIT),
        "dep-0",
        Expect("current", "current", "untouched", "retained"),
    ),
    "fail-reporting-the-current-identity": DeploymentCase(
        deployed,
        deployment(deploy_status="fail", identity=runtime_identity("dep-0")),
        "dep-0",
        Expect("current", "current", "untouched", "retained", "match"),
    ),
    "fail-with-failed-checks-keeps-an-unverified-side": DeploymentCase(
        deployed_unverified,
        deployment(deploy_status="fail", post_deploy_status="fail", health_status="fail", identity=OMIT),
        "dep-0",
        Expect("unverified", "unverified", "untouched", "retained"),
    ),
    "fail-with-nothing-deployed": DeploymentCase(
        fresh,
        deployment(deploy_status="fail", identity=OMIT),
        None,
        Expect("unrecorded", "unrecorded", "untouched", "retained"),
    ),
    "fail-with-a-foreign-identity-and-nothing-to-compare": DeploymentCase(
        fresh,
        deployment(deploy_status="fail", identity=MISMATCH_WITH_CURRENT),
        None,
        Expect("unrecorded", "unrecorded", "untouched", "retained", "unchecked"),
    ),
    # Row 3: deploy pass, identity mismatch or malformed.
    "pass-mismatch": DeploymentCase(
        deployed,
        deployment(identity=MISMATCH_WITH_ITSELF),
        "dep-1",
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "mismatch", ("artifact_id",)),
    ),
    "pass-malformed": DeploymentCase(
        deployed,
        deployment(identity="a string is not an object"),
        "dep-1",
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "malformed"),
    ),
    "pass-mismatch-where-identity-not-required": DeploymentCase(
        deployed,
        deployment(identity=MISMATCH_WITH_ITSELF),
        "dep-1",
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "mismatch"),
        NO_IDENTITY_REQUIRED,
    ),
    "pass-mismatch-beats-failed-checks": DeploymentCase(
        deployed,
        deployment(identity=MISMATCH_WITH_ITSELF, post_deploy_status="fail"),
        "dep-1",
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "mismatch"),
    ),
    # Row 4: deploy pass, post-deploy fail, or health fail where required.
    "pass-post-deploy-fail": DeploymentCase(
        deployed,
        deployment(post_deploy_status="fail"),
        "dep-1",
        Expect("verification_failed", "verification_failed", "untouched", "marked", "match", ("post-deploy",)),
    ),
    "pass-health-fail-where-required": DeploymentCase(
        deployed,
        deployment(health_status="fail"),
        "dep-1",
        Expect("verification_failed", "verification_failed", "untouched", "marked", "match", ("health",)),
    ),
    # Row 5: unverified.
    "pass-post-deploy-not-run": DeploymentCase(
        deployed,
        deployment(post_deploy_status="not_run"),
        "dep-1",
        Expect("unverified", "unverified", "untouched", "marked"),
    ),
    "pass-post-deploy-unknown": DeploymentCase(
        deployed,
        deployment(post_deploy_status="unknown"),
        "dep-1",
        Expect("unverified", "unverified", "untouched", "marked"),
    ),
    "pass-health-skipped-where-required": DeploymentCase(
        deployed,
        deployment(health_status="skipped"),
        "dep-1",
        Expect("unverified", "unverified", "untouched", "marked"),
    ),
    "pass-health-not-run-where-required": DeploymentCase(
        deployed,
        deployment(health_status="not_run"),
        "dep-1",
        Expect("unverified", "unverified", "untouched", "marked"),
    ),
    "pass-health-unknown-where-required": DeploymentCase(
        deployed,
        deployment(health_status="unknown"),
        "dep-1",
        Expect("unverified", "unverified", "untouched", "marked"),
    ),
    "pass-identity-missing-where-required": DeploymentCase(
        deployed,
        deployment(identity=None),
        "dep-1",
        Expect("unverified", "unverified", "untouched", "marked", "missing"),
    ),
    "pass-identity-unverifiable-where-required": DeploymentCase(
        deployed,
        deployment(identity=OMIT, runtime_identity_status="unverifiable"),
        "dep-1",
        Expect("unverified", "unverified", "untouched", "marked", "unverifiable"),
    ),
    "pass-identity-unchecked-where-required": DeploymentCase(
        deployed,
        deployment(identity=OMIT),
        "dep-1",
        Expect("unverified", "unverified", "untouched", "marked", "unchecked"),
    ),
    "pass-unverified-on-a-partial-data-side-names-both": DeploymentCase(
        data_partial,
        deployment(post_deploy_status="not_run"),
        "dep-1",
        Expect(
            "partially_bootstrapped",
            "unverified",
            "partially_bootstrapped",
            "marked",
            reason_mentions=("partially bootstrapped", "unverified"),
        ),
    ),
    # Row 6: deploy pass, everything else.
    "pass-everything": DeploymentCase(
        deployed, deployment(), "dep-1", Expect("current", "current", "untouched", "advanced", "match")
    ),
    "pass-everything-first-deployment": DeploymentCase(
        fresh, deployment(), "dep-1", Expect("current", "current", "untouched", "advanced", "match")
    ),
    "pass-health-fail-where-not-required": DeploymentCase(
        deployed,
        deployment(health_status="fail"),
        "dep-1",
        Expect("current", "current", "untouched", "advanced", "match", ("health check failed but is not required",)),
        {"required_checks": ["canonical", "logo"]},
    ),
    "pass-health-skipped-where-not-required": DeploymentCase(
        deployed,
        deployment(health_status="skipped"),
        "dep-1",
        Expect("current", "current", "untouched", "advanced"),
        {"required_checks": ["logo"]},
    ),
    "pass-post-deploy-skipped": DeploymentCase(
        deployed,
        deployment(post_deploy_status="skipped"),
        "dep-1",
        Expect("current", "current", "untouched", "advanced"),
    ),
    "pass-identity-unchecked-where-not-required": DeploymentCase(
        deployed,
        deployment(identity=OMIT),
        "dep-1",
        Expect("current", "current", "untouched", "advanced", "unchecked"),
        NO_IDENTITY_REQUIRED,
    ),
    "pass-identity-missing-where-not-required": DeploymentCase(
        deployed,
        deployment(identity=None),
        "dep-1",
        Expect("current", "current", "untouched", "advanced", "missing"),
        NO_IDENTITY_REQUIRED,
    ),
    "pass-everything-over-failed-verification": DeploymentCase(
        deployed_failing_verification, deployment(), "dep-1", Expect("current", "current", "untouched", "advanced")
    ),
    "pass-everything-over-stale-inventory": DeploymentCase(
        deployed_stale, deployment(), "dep-1", Expect("current", "current", "untouched", "advanced", "match")
    ),
    "pass-everything-with-data-ready": DeploymentCase(
        deployed_and_ready, deployment(), "dep-1", Expect("current", "current", "current", "advanced")
    ),
    "pass-everything-keeps-a-partial-data-side": DeploymentCase(
        data_partial,
        deployment(),
        "dep-1",
        Expect("partially_bootstrapped", "current", "partially_bootstrapped", "retained", "match", ("partially",)),
    ),
    "pass-everything-keeps-an-unknown-data-side": DeploymentCase(
        data_unknown, deployment(), "dep-1", Expect("unknown", "current", "unknown", "retained")
    ),
    "pass-everything-keeps-a-bootstrap-in-progress": DeploymentCase(
        data_in_progress,
        deployment(),
        "dep-1",
        Expect("bootstrap_in_progress", "current", "bootstrap_in_progress", "retained"),
    ),
}


@pytest.mark.parametrize("case", DEPLOYMENT_ROWS.values(), ids=DEPLOYMENT_ROWS.keys())
def test_each_deployment_row_reads_back_as_the_table_says(automation, case: DeploymentCase) -> None:
    case.prior(**case.options)
    before = read(automation.http)
    lkg_before = before["last_known_good"]
    transitions_before = InventoryTransition.objects.count()
    body = deployment_body(record_id="dep-1", **case.body)

    response = post(automation.http, DEPLOYMENTS, body)

    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["inventory_effect"] == case.expect.effect
    # Rule 5: a pass is compared with itself, a failure with the deployment current when it was applied.
    if body["deploy_status"] == "pass":
        expected = runtime_identity("dep-1")
        del expected["image_reference"]  # a record expects the identity keys, not the image it ran
        assert created["expected_runtime_identity"] == expected
    else:
        assert created["expected_runtime_identity"] == before["expected_runtime_identity"]
    model = read(automation.http)
    assert_observed_identity(model, body)
    assert_read_model(model, case.expect)
    current = model["current_deployment"]
    assert (current["record_id"] if current else None) == case.pointer
    assert model["last_deployment_attempt"]["record_id"] == "dep-1"
    if case.expect.effect == "advanced":
        assert model["last_known_good"]["deployment_record_id"] == "dep-1"
        assert model["last_known_good"]["verified_at"] is not None
        assert model["freshness"] == "verified"
    else:
        assert model["last_known_good"] == lkg_before
    assert InventoryTransition.objects.count() == transitions_before + 1
    transition = newest_transition()
    assert (transition.cause_type, transition.cause_id, transition.effect) == (
        "deployment",
        "dep-1",
        case.expect.effect,
    )
    assert (transition.deployment_state, transition.data_state) == (
        case.expect.deployment_state,
        case.expect.data_state,
    )


@pytest.mark.parametrize("deploy_status", ["pass", "fail"])
def test_a_deployment_that_finished_before_the_current_one_is_stored_superseded(automation, deploy_status) -> None:
    environment = make_environment()
    deploy(environment, "dep-0", finished_at=T0 + timedelta(minutes=120))
    before = read(automation.http)
    transitions_before = InventoryTransition.objects.count()

    body = deployment_body(
        record_id="dep-1", deploy_status=deploy_status, finished_minute=60, post_deploy_status="fail"
    )
    response = post(automation.http, DEPLOYMENTS, body)

    assert response.status_code == 201
    assert response.json()["inventory_effect"] == "superseded"
    after = read(automation.http)
    assert {k: v for k, v in after.items() if k not in ("updated_at", "freshness")} == {
        k: v for k, v in before.items() if k not in ("updated_at", "freshness")
    }
    assert InventoryTransition.objects.count() == transitions_before
    assert automation.http.get(f"{DEPLOYMENTS}dep-1/").json()["inventory_effect"] == "superseded"


def test_a_deployment_that_finished_at_the_same_moment_goes_to_arrival(automation) -> None:
    environment = make_environment()
    deploy(environment, "dep-0", finished_at=T0 + timedelta(minutes=120))

    response = post(automation.http, DEPLOYMENTS, deployment_body(record_id="dep-1", finished_minute=120))

    assert response.json()["inventory_effect"] == "advanced"
    assert read(automation.http)["current_deployment"]["record_id"] == "dep-1"


# ---------------------------------------------------------------------------------------------------
# Rule 7 step 3: a result, on time, through /result/ or in one request with the start
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultCase:
    prior: Callable[..., Any]
    result: dict[str, Any]
    readiness: str
    expect: Expect
    options: dict[str, Any] = field(default_factory=dict)


def passing(**changes: Any) -> dict[str, Any]:
    """A result that passes everything and reports dep-0's identity, with ``changes``."""
    return {"observed_runtime_identity": runtime_identity("dep-0"), **changes}


def not_passing(run: str, mutated: bool | None, **changes: Any) -> dict[str, Any]:
    return {**NOT_REACHED, "bootstrap_run_status": run, "data_mutated": mutated, **changes}


RESULT_ROWS = {
    # Row 1: run not_run.
    "not-run-restores-current-data": ResultCase(
        deployed_and_ready,
        not_passing("not_run", False),
        "not_run",
        Expect("current", "current", "current", "retained"),
    ),
    "not-run-restores-untouched-data": ResultCase(
        deployed, not_passing("not_run", False), "not_run", Expect("current", "current", "untouched", "retained")
    ),
    "not-run-restores-partial-data": ResultCase(
        data_partial,
        not_passing("not_run", False),
        "not_run",
        Expect("partially_bootstrapped", "current", "partially_bootstrapped", "retained"),
    ),
    # Row 2: run fail, data_mutated false.
    "fail-before-mutation": ResultCase(
        deployed_and_ready,
        not_passing("fail", False),
        "failed_before_mutation",
        Expect("current", "current", "current", "retained"),
    ),
    # Row 3: run unknown, data_mutated false.
    "unknown-without-mutation": ResultCase(
        deployed_and_ready,
        not_passing("unknown", False),
        "unknown",
        Expect("current", "current", "current", "retained"),
    ),
    # Row 4: run fail, data_mutated true.
    "fail-after-mutation": ResultCase(
        deployed_and_ready,
        not_passing("fail", True),
        "partially_bootstrapped",
        Expect("partially_bootstrapped", "current", "partially_bootstrapped", "marked", reason_mentions=("partially",)),
    ),
    # Row 5: run fail with data_mutated null, or run unknown with true or null.
    "fail-mutation-unknown": ResultCase(
        deployed, not_passing("fail", None), "unknown", Expect("unknown", "current", "unknown", "marked")
    ),
    "unknown-after-mutation": ResultCase(
        deployed, not_passing("unknown", True), "unknown", Expect("unknown", "current", "unknown", "marked")
    ),
    "unknown-mutation-unknown": ResultCase(
        deployed, not_passing("unknown", None), "unknown", Expect("unknown", "current", "unknown", "marked")
    ),
    # Row 6: run pass, post-deploy fail, unknown or not_run.
    "pass-post-deploy-fail": ResultCase(
        deployed,
        passing(post_deploy_status="fail"),
        "partially_bootstrapped",
        Expect("partially_bootstrapped", "current", "partially_bootstrapped", "marked"),
    ),
    "pass-post-deploy-unknown": ResultCase(
        deployed,
        passing(post_deploy_status="unknown"),
        "partially_bootstrapped",
        Expect("partially_bootstrapped", "current", "partially_bootstrapped", "marked"),
    ),
    "pass-post-deploy-not-run": ResultCase(
        deployed,
        passing(post_deploy_status="not_run"),
        "partially_bootstrapped",
        Expect("partially_bootstrapped", "current", "partially_bootstrapped", "marked"),
    ),
    "pass-post-deploy-fail-beats-a-mismatch": ResultCase(
        deployed,
        passing(post_deploy_status="fail", observed_runtime_identity=MISMATCH_WITH_CURRENT),
        "partially_bootstrapped",
        # The row decides the data side; the identity, judged on every result, marks the artifact side.
        Expect("partially_bootstrapped", "stale_inventory", "partially_bootstrapped", "marked", "mismatch"),
    ),
    # Row 7: run pass, identity mismatch or malformed.
    "pass-mismatch": ResultCase(
        deployed,
        passing(observed_runtime_identity=MISMATCH_WITH_CURRENT),
        "verification_failed",
        Expect("stale_inventory", "stale_inventory", "verification_failed", "marked", "mismatch", ("artifact_id",)),
    ),
    "pass-malformed": ResultCase(
        deployed,
        passing(observed_runtime_identity=MALFORMED),
        "verification_failed",
        Expect("stale_inventory", "stale_inventory", "verification_failed", "marked", "malformed"),
    ),
    "pass-mismatch-where-identity-not-required": ResultCase(
        deployed,
        passing(observed_runtime_identity=MISMATCH_WITH_CURRENT),
        "verification_failed",
        Expect("stale_inventory", "stale_inventory", "verification_failed", "marked", "mismatch"),
        NO_IDENTITY_REQUIRED,
    ),
    # Row 8: run pass, a required check fail.
    "pass-health-fail": ResultCase(
        deployed,
        passing(health_status="fail"),
        "verification_failed",
        Expect("verification_failed", "current", "verification_failed", "marked", "match", ("health",)),
    ),
    "pass-canonical-fail": ResultCase(
        deployed,
        passing(canonical_status="fail"),
        "verification_failed",
        Expect("verification_failed", "current", "verification_failed", "marked", "match", ("canonical",)),
    ),
    "pass-logo-fail": ResultCase(
        deployed,
        passing(logo_status="fail"),
        "verification_failed",
        Expect("verification_failed", "current", "verification_failed", "marked", "match", ("logo",)),
    ),
    # Row 9: run pass, a required check skipped/not_run/unknown, or identity missing/unverifiable/unchecked.
    "pass-health-skipped": ResultCase(
        deployed,
        passing(health_status="skipped"),
        "unverified",
        Expect("unverified", "current", "unverified", "marked"),
    ),
    "pass-canonical-not-run": ResultCase(
        deployed,
        passing(canonical_status="not_run"),
        "unverified",
        Expect("unverified", "current", "unverified", "marked"),
    ),
    "pass-logo-unknown": ResultCase(
        deployed, passing(logo_status="unknown"), "unverified", Expect("unverified", "current", "unverified", "marked")
    ),
    "pass-identity-missing": ResultCase(
        deployed,
        passing(observed_runtime_identity=None),
        "unverified",
        Expect("unverified", "current", "unverified", "marked", "missing"),
    ),
    "pass-identity-unverifiable": ResultCase(
        deployed,
        passing(observed_runtime_identity=OMIT, runtime_identity_status="unverifiable"),
        "unverified",
        Expect("unverified", "current", "unverified", "marked", "unverifiable"),
    ),
    "pass-identity-unchecked": ResultCase(
        deployed,
        passing(observed_runtime_identity=OMIT),
        "unverified",
        Expect("unverified", "current", "unverified", "marked"),
    ),
    "pass-identity-unchecked-with-nothing-deployed": ResultCase(
        fresh,
        passing(observed_runtime_identity=OMIT),
        "unverified",
        Expect("unverified", "unrecorded", "unverified", "marked"),
    ),
    # Row 10: run pass, everything else.
    "pass-everything": ResultCase(
        deployed, passing(), "ready", Expect("current", "current", "current", "advanced", "match")
    ),
    "pass-everything-over-a-previous-ready-bootstrap": ResultCase(
        deployed_and_ready, passing(), "ready", Expect("current", "current", "current", "advanced", "match")
    ),
    "pass-optional-check-fail-is-named": ResultCase(
        deployed,
        passing(canonical_status="fail", logo_status="skipped"),
        "ready",
        Expect("current", "current", "current", "advanced", "match", ("canonical check failed but is not required",)),
        {"required_checks": ["health"]},
    ),
    "pass-post-deploy-skipped": ResultCase(
        deployed, passing(post_deploy_status="skipped"), "ready", Expect("current", "current", "current", "advanced")
    ),
    "pass-identity-unchecked-where-not-required": ResultCase(
        deployed,
        passing(observed_runtime_identity=OMIT),
        "ready",
        Expect("current", "current", "current", "advanced"),
        NO_IDENTITY_REQUIRED,
    ),
    "pass-match-makes-an-unverified-deployment-current": ResultCase(
        deployed_unverified, passing(), "ready", Expect("current", "current", "current", "advanced", "match")
    ),
    "pass-match-makes-stale-inventory-current": ResultCase(
        deployed_stale, passing(), "ready", Expect("current", "current", "current", "advanced", "match")
    ),
    "pass-without-identity-keeps-an-unverified-deployment": ResultCase(
        deployed_unverified,
        passing(observed_runtime_identity=OMIT),
        "ready",
        Expect("unverified", "unverified", "current", "retained"),
        NO_IDENTITY_REQUIRED,
    ),
    "pass-with-nothing-deployed": ResultCase(
        fresh,
        passing(observed_runtime_identity=OMIT),
        "ready",
        Expect("unrecorded", "unrecorded", "current", "retained"),
        NO_IDENTITY_REQUIRED,
    ),
}


def post_result(http, mode: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Report ``body`` as a result: after a start (``/result/``) or with it (one request)."""
    if mode == "one-shot":
        response = post(http, BOOTSTRAPS, start_body(result=body), key=new_key())
        assert response.status_code == 201, response.json()
    else:
        started = post(http, BOOTSTRAPS, start_body(), key=new_key())
        assert started.status_code == 201, started.json()
        response = post(http, result_url(started.json()["operation_id"]), body)
        assert response.status_code == 200, response.json()
    answered = response.json()
    return answered["operation_id"], answered


# One case of every row again through the one-shot start, which applies the same table in one request.
ONE_SHOT_ROWS = [
    "not-run-restores-current-data",
    "fail-before-mutation",
    "unknown-without-mutation",
    "fail-after-mutation",
    "fail-mutation-unknown",
    "pass-post-deploy-fail",
    "pass-mismatch",
    "pass-health-fail",
    "pass-identity-unverifiable",
    "pass-everything",
    "pass-match-makes-stale-inventory-current",
]
RESULT_CASES = [
    *[pytest.param(case, "result", id=f"{name}-result") for name, case in RESULT_ROWS.items()],
    *[pytest.param(RESULT_ROWS[name], "one-shot", id=f"{name}-one-shot") for name in ONE_SHOT_ROWS],
]


@pytest.mark.parametrize(("case", "mode"), RESULT_CASES)
def test_each_bootstrap_result_row_reads_back_as_the_table_says(automation, case: ResultCase, mode: str) -> None:
    case.prior(**case.options)
    before = read(automation.http)
    deployment_before = before["current_deployment"]

    body = result_body(None, **case.result)

    operation_id, answered = post_result(automation.http, mode, body)

    assert (answered["status"], answered["late"]) == ("finished", False)
    assert answered["expected_runtime_identity"] == before["expected_runtime_identity"]
    assert (answered["readiness_status"], answered["inventory_effect"]) == (case.readiness, case.expect.effect)
    model = read(automation.http)
    assert_read_model(model, case.expect)
    assert_observed_identity(model, body)
    assert model["last_bootstrap"]["operation_id"] == operation_id
    assert model["last_bootstrap"]["readiness_status"] == case.readiness
    assert model["current_deployment"] == deployment_before  # rule 1
    if case.expect.effect == "advanced":
        assert model["last_known_good"]["bootstrap_operation_id"] == operation_id
        assert model["last_known_good"]["deployment_record_id"] == (deployment_before or {}).get("record_id")
    else:
        assert model["last_known_good"] == before["last_known_good"]
    transition = newest_transition()
    assert (transition.cause_type, transition.cause_id, transition.effect) == (
        "bootstrap",
        operation_id,
        case.expect.effect,
    )
    expected_transitions = 1 if mode == "one-shot" else 2  # a one-shot appends one; start and result one each
    assert InventoryTransition.objects.filter(cause_id=operation_id).count() == expected_transitions


# ---------------------------------------------------------------------------------------------------
# Rule 7 step 2: no result, the deadline passed or the operation was cancelled
# ---------------------------------------------------------------------------------------------------


STARTED_AN_HOUR_AGO = timedelta(hours=1)


def overdue(environment) -> BootstrapOperation:
    """An operation whose one-minute deadline passed long ago, which nothing has expired yet."""
    return start(environment, timeout_seconds=60, now=timezone.now() - STARTED_AN_HOUR_AGO)


def time_out(http, environment, *, data_unchanged: bool) -> str:
    operation = overdue(environment)
    if data_unchanged:
        report_progress(operation, data_mutated=False, now=operation.started_at + timedelta(seconds=10))
    return operation.operation_id  # nothing else: the next read expires it


def cancel(http, environment, **body: Any) -> str:
    operation = start(environment)
    response = post(http, cancel_url(operation.operation_id), {"reason": "driver gave up", **body})
    assert response.status_code == 200, response.json()
    return operation.operation_id


WITHOUT_RESULT = {
    "timed-out": (
        lambda http, env: time_out(http, env, data_unchanged=False),
        "timed_out",
        Expect("unknown", "current", "unknown", "marked"),
    ),
    "timed-out-with-data-known-unchanged": (
        lambda http, env: time_out(http, env, data_unchanged=True),
        "timed_out",
        Expect("current", "current", "current", "retained"),
    ),
    "cancelled-with-data-unchanged": (
        lambda http, env: cancel(http, env, data_mutated=False),
        "cancelled",
        Expect("current", "current", "current", "retained"),
    ),
    "cancelled-with-data-changed": (
        lambda http, env: cancel(http, env, data_mutated=True),
        "cancelled",
        Expect("unknown", "current", "unknown", "marked"),
    ),
    "cancelled-without-saying": (
        lambda http, env: cancel(http, env),
        "cancelled",
        Expect("unknown", "current", "unknown", "marked"),
    ),
}


@pytest.mark.parametrize(("end", "status", "expect"), WITHOUT_RESULT.values(), ids=WITHOUT_RESULT.keys())
def test_an_operation_that_ends_without_a_result_reads_back_as_step_2_says(automation, end, status, expect) -> None:
    environment = deployed_and_ready()
    lkg_before = last_known_good(automation.http)

    operation_id = end(automation.http, environment)

    model = read(automation.http)
    assert_read_model(model, expect)
    bootstrap = model["last_bootstrap"]
    assert (bootstrap["operation_id"], bootstrap["status"]) == (operation_id, status)
    assert (bootstrap["readiness_status"], bootstrap["bootstrap_run_status"]) == ("unknown", "unknown")
    assert bootstrap["inventory_effect"] == expect.effect
    assert model["last_known_good"] == lkg_before
    assert newest_transition().cause_type == ("deadline" if status == "timed_out" else "cancel")


# ---------------------------------------------------------------------------------------------------
# Rule 7 step 1: a result superseded by a later start
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "readiness"),
    [
        (passing(), "ready"),
        (not_passing("fail", True), "partially_bootstrapped"),
        (passing(canonical_status="fail"), "verification_failed"),
    ],
    ids=["ready", "partial", "verification-failed"],
)
def test_a_late_result_for_an_operation_started_before_another_is_stored_superseded(
    automation, result, readiness
) -> None:
    environment = deployed()
    earlier = overdue(environment)
    later = post(automation.http, BOOTSTRAPS, start_body(), key=new_key()).json()  # expires ``earlier`` first
    before = read(automation.http)
    transitions_before = InventoryTransition.objects.count()

    response = post(automation.http, result_url(earlier.operation_id), result_body(None, **result))

    assert response.status_code == 200
    answered = response.json()
    assert (answered["status"], answered["late"], answered["inventory_effect"]) == ("finished", True, "superseded")
    assert answered["readiness_status"] == readiness
    after = read(automation.http)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert after["last_bootstrap"]["operation_id"] == later["operation_id"]
    assert after["data_state"] == "bootstrap_in_progress"
    assert InventoryTransition.objects.count() == transitions_before


def test_a_late_result_for_the_latest_operation_is_judged_by_the_table(automation) -> None:
    environment = deployed()
    operation = overdue(environment)
    assert read(automation.http)["data_state"] == "unknown"  # the read expired it

    response = post(automation.http, result_url(operation.operation_id), result_body(None, **passing()))

    answered = response.json()
    assert (answered["status"], answered["late"], answered["readiness_status"]) == ("finished", True, "ready")
    assert answered["inventory_effect"] == "advanced"
    assert_read_model(read(automation.http), Expect("current", "current", "current", "advanced"))


# ---------------------------------------------------------------------------------------------------
# Rule 8: observations
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationCase:
    prior: Callable[..., Any]
    body: dict[str, Any]
    expect: Expect
    options: dict[str, Any] = field(default_factory=dict)


def seen(value: Any = OMIT, **extra: Any) -> dict[str, Any]:
    return {"observed_runtime_identity": value, "source": "prober", "observed_at": at(400), **extra}


OBSERVATION_ROWS = {
    # Row 1: identity mismatch or malformed.
    "mismatch-while-current": ObservationCase(
        deployed,
        seen(MISMATCH_WITH_CURRENT),
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "mismatch", ("artifact_id",)),
    ),
    "malformed-while-current": ObservationCase(
        deployed, seen(MALFORMED), Expect("stale_inventory", "stale_inventory", "untouched", "marked", "malformed")
    ),
    "mismatch-while-unverified": ObservationCase(
        deployed_unverified,
        seen(MISMATCH_WITH_CURRENT),
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "mismatch"),
    ),
    "mismatch-where-identity-not-required": ObservationCase(
        deployed,
        seen(MISMATCH_WITH_CURRENT),
        Expect("stale_inventory", "stale_inventory", "untouched", "marked", "mismatch"),
        NO_IDENTITY_REQUIRED,
    ),
    "mismatch-keeps-a-partial-data-side": ObservationCase(
        data_partial,
        seen(MISMATCH_WITH_CURRENT),
        Expect("partially_bootstrapped", "stale_inventory", "partially_bootstrapped", "marked", "mismatch"),
    ),
    "mismatch-with-data-ready": ObservationCase(
        deployed_and_ready,
        seen(MISMATCH_WITH_CURRENT),
        Expect("stale_inventory", "stale_inventory", "current", "marked", "mismatch"),
    ),
    # Row 2: match while stale_inventory.
    "match-while-stale": ObservationCase(
        deployed_stale,
        seen(runtime_identity("dep-0")),
        Expect("unverified", "unverified", "untouched", "marked", "match"),
    ),
    # Row 3: missing or unverifiable where required, while current.
    "missing-while-current": ObservationCase(
        deployed, seen(None), Expect("unverified", "unverified", "untouched", "marked", "missing")
    ),
    "unverifiable-while-current": ObservationCase(
        deployed,
        seen(runtime_identity_status="unverifiable"),
        Expect("unverified", "unverified", "untouched", "marked", "unverifiable"),
    ),
    # Row 4: otherwise.
    "match-while-current": ObservationCase(
        deployed, seen(runtime_identity("dep-0")), Expect("current", "current", "untouched", "retained", "match")
    ),
    "match-while-unverified": ObservationCase(
        deployed_unverified,
        seen(runtime_identity("dep-0")),
        Expect("unverified", "unverified", "untouched", "retained", "match"),
    ),
    "match-while-verification-failed": ObservationCase(
        deployed_failing_verification,
        seen(runtime_identity("dep-0")),
        Expect("verification_failed", "verification_failed", "untouched", "retained", "match"),
    ),
    "missing-while-current-where-not-required": ObservationCase(
        deployed, seen(None), Expect("current", "current", "untouched", "retained", "missing"), NO_IDENTITY_REQUIRED
    ),
    "missing-while-unverified": ObservationCase(
        deployed_unverified, seen(None), Expect("unverified", "unverified", "untouched", "retained", "missing")
    ),
    "missing-while-stale": ObservationCase(
        deployed_stale, seen(None), Expect("stale_inventory", "stale_inventory", "untouched", "retained", "missing")
    ),
    "unverifiable-with-nothing-deployed": ObservationCase(
        fresh,
        seen(runtime_identity_status="unverifiable"),
        Expect("unrecorded", "unrecorded", "untouched", "retained", "unverifiable"),
    ),
    "an-identity-with-nothing-deployed": ObservationCase(
        fresh, seen(runtime_identity("dep-0")), Expect("unrecorded", "unrecorded", "untouched", "retained", "unchecked")
    ),
}


@pytest.mark.parametrize("case", OBSERVATION_ROWS.values(), ids=OBSERVATION_ROWS.keys())
def test_each_observation_row_reads_back_as_the_table_says(automation, case: ObservationCase) -> None:
    case.prior(**case.options)
    before = read(automation.http)
    transitions_before = InventoryTransition.objects.count()
    body = {name: value for name, value in case.body.items() if value is not OMIT}

    response = post(automation.http, observations_url(), body)

    assert response.status_code == 201, response.json()
    assert response.json()["inventory_effect"] == case.expect.effect
    model = read(automation.http)
    assert_read_model(model, case.expect)
    assert model["last_known_good"] == before["last_known_good"]  # an observation never moves it
    assert model["current_deployment"] == before["current_deployment"]
    assert model["data_state"] == before["data_state"]
    assert_observed_identity(model, body)
    assert InventoryTransition.objects.count() == transitions_before + 1
    assert (newest_transition().cause_type, newest_transition().effect) == ("observation", case.expect.effect)


def test_an_observation_made_before_the_current_deployment_finished_is_stored_superseded(automation) -> None:
    environment = make_environment()
    deploy(environment, "dep-0", finished_at=T0 + timedelta(minutes=120))
    before = read(automation.http)
    transitions_before = InventoryTransition.objects.count()

    response = post(automation.http, observations_url(), seen(MISMATCH_WITH_CURRENT) | {"observed_at": at(119)})

    assert response.status_code == 201
    assert response.json()["inventory_effect"] == "superseded"
    after = read(automation.http)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert InventoryTransition.objects.count() == transitions_before
