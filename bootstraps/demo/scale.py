"""A scale data set: many environments, every state and freshness, history behind each — for benchmarks
and for operators trying the app at size (``manage.py seed_scale``).

Every record goes through the services, via the demo's steps (``bootstraps.demo.steps``): no state field
is written here, so every invariant holds (one transition per applied record, the server's order, last
known good). Environments get no ``base_url``: nothing is verifiable, so recording queues no runs.

An environment's story is its profile's ``records`` applied records (one service call, one transition
each), oldest first, ``SPACING`` apart, ending ``Profile.ends_ago`` before now: filler history first,
then the steps that leave it in its profile's state. Profiles are dealt out in ``PROFILES`` order, so
the first ``len(DISTINCT)`` environments already show every state and every freshness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from bootstraps.demo.steps import (
    DEMO_ACTIVE_TIMEOUT_SECONDS,
    Cancel,
    Deploy,
    Finish,
    Observe,
    Once,
    Outcome,
    Scene,
    Start,
    Step,
)
from inventory.choices import Freshness, InventoryState
from inventory.models import Environment
from inventory.services import create_environment

SPACING = timedelta(minutes=10)  # between two records of one environment's story
TTL_SECONDS = 86400  # the default verification_ttl_seconds: a story ending 3 days ago is stale

GOOD = Outcome()
UNMUTATED_FAILURE = Outcome(bootstrap_run_status="fail", data_mutated=False, post_deploy_status="not_run")
PARTIAL = Outcome(bootstrap_run_status="fail", data_mutated=True, post_deploy_status="not_run")
UNKNOWN_RUN = Outcome(bootstrap_run_status="unknown", data_mutated=None, post_deploy_status="unknown")

# A step at ``ago`` for build ``n`` (the n-th record of the story).
StepAt = Callable[[timedelta, int], Step]


def deploy(ago: timedelta, n: int) -> Step:
    return Deploy(ago, build=n)


def deploy_unverified(ago: timedelta, n: int) -> Step:
    return Deploy(ago, build=n, post_deploy_status="not_run")


def deploy_failed(ago: timedelta, n: int) -> Step:
    return Deploy(ago, build=n, deploy_status="fail", post_deploy_status="not_run", report_identity=False)


def deploy_check_failed(ago: timedelta, n: int) -> Step:
    return Deploy(ago, build=n, post_deploy_status="fail")


def observe(ago: timedelta, n: int) -> Step:
    return Observe(ago)


def observe_mismatch(ago: timedelta, n: int) -> Step:
    return Observe(ago, overrides={"artifact_id": f"hotfix-{n}"})


def once(ago: timedelta, n: int) -> Step:
    return Once(ago, "upstream_restore", "Nightly restore", GOOD)


def once_unmutated_failure(ago: timedelta, n: int) -> Step:
    return Once(ago, "empty", "Nightly rebuild", UNMUTATED_FAILURE)


def once_partial(ago: timedelta, n: int) -> Step:
    return Once(ago, "upstream_restore", "Restore from prod", PARTIAL)


def once_unknown(ago: timedelta, n: int) -> Step:
    return Once(ago, "upstream_restore", "Restore from prod", UNKNOWN_RUN)


def start(ago: timedelta, n: int) -> Step:
    return Start(ago, "upstream_restore", "Restore from prod")


def start_long(ago: timedelta, n: int) -> Step:
    return Start(ago, "upstream_restore", "Restore from prod", timeout_seconds=DEMO_ACTIVE_TIMEOUT_SECONDS)


def finish(ago: timedelta, n: int) -> Step:
    return Finish(ago, GOOD)


def cancel_unchanged(ago: timedelta, n: int) -> Step:
    return Cancel(ago, "Superseded by a newer restore", data_mutated=False)


# Healthy history: deployments, one-shots, observations and two-step bootstraps, each leaving the
# environment current (the first record is a deployment: observations compare with it).
HEALTHY: tuple[StepAt, ...] = (deploy, once, observe, deploy, start, finish, observe, start, cancel_unchanged, once)
NEVER_DEPLOYED: tuple[StepAt, ...] = (deploy_failed, once_unmutated_failure)
NEVER_VERIFIED: tuple[StepAt, ...] = (deploy_unverified, observe)


@dataclass(frozen=True)
class Profile:
    """Where a story ends: its state and freshness, the filler history and the closing steps."""

    state: InventoryState
    freshness: Freshness
    ending: tuple[StepAt, ...] = ()  # the last records; filler history comes before them
    filler: tuple[StepAt, ...] = HEALTHY
    ends_ago: timedelta = timedelta(minutes=20)
    empty: bool = False  # nothing is ever recorded (freshness ``missing``), whatever ``records`` says

    @property
    def label(self) -> str:
        return f"{self.state}/{self.freshness}"

    def steps(self, records: int, *, offset: timedelta = timedelta(0)) -> list[Step]:
        """``records`` steps, oldest first, the last ``ends_ago + offset`` before now. With one record
        only the ending is told, so nothing before it can have been verified (freshness ``recorded``)."""
        if self.empty:
            return []
        plan = [*fill(self.filler, records - len(self.ending)), *self.ending]
        last = len(plan) - 1
        return [step_at(self.ends_ago + offset + SPACING * (last - n), n + 1) for n, step_at in enumerate(plan)]


def fill(pattern: tuple[StepAt, ...], count: int) -> list[StepAt]:
    """``count`` steps cycling through ``pattern``; a start never ends the filler without its finish."""
    plan = [pattern[n % len(pattern)] for n in range(count)]
    if plan and plan[-1] is start:
        plan[-1] = once
    return plan


STALE_AGO = timedelta(seconds=3 * TTL_SECONDS)

CURRENT = Profile(InventoryState.CURRENT, Freshness.VERIFIED, ending=(deploy,))
# One of each, first: the first len(DISTINCT) environments show every state and every freshness.
DISTINCT: tuple[Profile, ...] = (
    CURRENT,
    Profile(InventoryState.CURRENT, Freshness.STALE, ending=(deploy,), ends_ago=STALE_AGO),
    Profile(InventoryState.UNVERIFIED, Freshness.RECORDED, ending=(deploy_unverified,), filler=NEVER_VERIFIED),
    Profile(InventoryState.VERIFICATION_FAILED, Freshness.VERIFIED, ending=(deploy_check_failed,)),
    Profile(InventoryState.STALE_INVENTORY, Freshness.STALE, ending=(observe_mismatch,), ends_ago=STALE_AGO),
    Profile(InventoryState.PARTIALLY_BOOTSTRAPPED, Freshness.VERIFIED, ending=(once_partial,)),
    Profile(InventoryState.UNKNOWN, Freshness.VERIFIED, ending=(once_unknown,)),
    Profile(InventoryState.BOOTSTRAP_IN_PROGRESS, Freshness.VERIFIED, ending=(start_long,)),
    Profile(InventoryState.UNRECORDED, Freshness.RECORDED, ending=(deploy_failed,), filler=NEVER_DEPLOYED),
    Profile(InventoryState.UNRECORDED, Freshness.MISSING, empty=True),
)
# Most of a real fleet is current: ten more of those per cycle.
PROFILES: tuple[Profile, ...] = (*DISTINCT, *([CURRENT] * 10))


def profile_of(index: int) -> Profile:
    return PROFILES[index % len(PROFILES)]


def environment_name(prefix: str, index: int, contexts: int) -> tuple[str, str]:
    """The ``index``-th environment's (context, instance): dealt round the contexts."""
    return f"{prefix}-{index % contexts + 1:02d}", f"lane-{index:05d}"


def seed_scale_environment(
    context: str, instance: str, profile: Profile, *, records: int, now: datetime, offset: timedelta = timedelta(0)
) -> int:
    """Create one environment and tell its story in one transaction; returns the records applied.
    ``offset`` moves the story further back, so environments in one state did not all change at once."""
    steps = profile.steps(records, offset=offset)
    with transaction.atomic():
        created_at = now - (profile.ends_ago + offset + SPACING * (len(steps) + 1))
        environment = create_environment(context=context, instance=instance, now=created_at)
        scene = Scene(environment=environment, now=now)
        for step in steps:
            step(scene)
    return len(steps)


def existing(prefix: str) -> int:
    """How many environments already carry this prefix's contexts."""
    return Environment.objects.filter(context__startswith=f"{prefix}-").count()
