"""``compat.rules``, pure: every combination of the upstream words the mapping reads, without a database
(the HTTP tests in test_mapping.py prove each row once through the services)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compat import rules
from launchplane.errors import InvalidInput

STARTED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FINISHED = STARTED + timedelta(minutes=4)


def validated(**record: Any) -> dict[str, Any]:
    base = {
        "record_id": "gh-1",
        "artifact_identity": {"artifact_id": "cm-odoo:1"},
        "context": "cm",
        "instance": "testing",
        "source_git_ref": "refs/heads/main",
        "deploy": {"status": "pass", "started_at": STARTED, "finished_at": FINISHED},
    }
    base.update(record)
    return {"schema_version": 1, "product": "cm", "deployment": {k: v for k, v in base.items() if v is not None}}


@pytest.mark.parametrize(("attempted", "status"), list(itertools.product([False, True], rules.STEP_STATUSES)))
def test_every_post_deploy_pair_maps_or_is_refused(attempted, status):
    section = {"attempted": attempted, "status": status}
    expected = rules.POST_DEPLOY.get((attempted, status))
    if expected is None:
        with pytest.raises(InvalidInput) as refused:
            rules.post_deploy_status(section)
        assert "deployment.post_deploy_update.status" in refused.value.fields
    else:
        assert rules.post_deploy_status(section) == expected
    assert rules.post_deploy_status(None) == "not_run"


@pytest.mark.parametrize("status", ["pass", "fail"])
def test_a_verified_health_is_its_status_and_an_unverified_one_skipped(status):
    assert rules.health_status({"verified": True, "status": status}) == status
    assert rules.health_status({"verified": False, "status": status}) == "skipped"
    assert rules.health_status(None) == "not_run"


@pytest.mark.parametrize(
    ("deploy_status", "attempted"), list(itertools.product(rules.STEP_STATUSES, [False, True, None]))
)
def test_what_each_deploy_status_and_bootstrap_become(deploy_status, attempted):
    bootstrap = (
        None if attempted is None else {"attempted": attempted, "run_status": "pass" if attempted else "skipped"}
    )
    payload = validated(
        deploy={"status": deploy_status, "started_at": STARTED, "finished_at": FINISHED}, bootstrap=bootstrap
    )
    deploys = deploy_status in ("pass", "fail")
    if not deploys and not attempted:
        with pytest.raises(InvalidInput):
            rules.plan(payload)
        return
    plan = rules.plan(payload)
    assert (plan.deployment is not None) is deploys
    assert (plan.bootstrap is not None) is bool(attempted)
    if plan.bootstrap is not None:
        assert (plan.bootstrap.data_source, plan.bootstrap.result.canonical_status) == ("upstream_restore", "not_run")
        assert (plan.bootstrap.result.started_at, plan.bootstrap.result.finished_at) == (STARTED, FINISHED)


@pytest.mark.parametrize(
    ("run_status", "expected"), [("pass", ("pass", True)), ("fail", ("fail", None)), ("pending", ("unknown", None))]
)
def test_an_attempted_run_maps_to_a_run_status_and_what_is_known_of_the_data(run_status, expected):
    plan = rules.plan(validated(bootstrap={"attempted": True, "run_status": run_status, "detail": "why"}))
    assert plan.bootstrap is not None
    assert (plan.bootstrap.result.bootstrap_run_status, plan.bootstrap.result.data_mutated) == expected
    assert plan.bootstrap.result.error_message == ("" if run_status == "pass" else "why")


def test_a_failed_run_with_a_post_deploy_update_that_ran_is_refused():
    payload = validated(
        bootstrap={"attempted": True, "run_status": "fail"}, post_deploy_update={"attempted": True, "status": "pass"}
    )
    with pytest.raises(InvalidInput) as refused:
        rules.plan(payload)
    assert set(refused.value.fields) == {"deployment.bootstrap.run_status", "deployment.post_deploy_update.status"}


def test_a_deployment_needs_both_timestamps_and_they_in_order():
    with pytest.raises(InvalidInput) as refused:
        rules.plan(validated(deploy={"status": "pass", "started_at": STARTED}))
    assert set(refused.value.fields) == {"deployment.deploy.finished_at"}
    with pytest.raises(InvalidInput):
        rules.plan(validated(deploy={"status": "fail", "started_at": FINISHED, "finished_at": STARTED}))


def test_identity_sent_null_and_unverifiable_are_kept_apart():
    assert not rules.identity({"verified": False}).sent
    assert rules.identity({"verified": True, "observed_runtime_identity": None}).sent
    assert rules.identity({"verified": True, "runtime_identity_status": "unverifiable"}).unverifiable
    with pytest.raises(InvalidInput):
        rules.identity({"runtime_identity_status": "unverifiable", "observed_runtime_identity": {"context": "cm"}})


def test_the_inventory_record_id_is_the_pair_joined_by_a_dash():
    assert rules.inventory_record_id("cm", "pre-prod") == "cm-pre-prod"
