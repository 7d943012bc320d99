"""Operator pages: the board, one environment's evidence, and the review queue.

Server-rendered, no front-end build. Every page needs a staff login; acknowledging also needs
``ACKNOWLEDGE_PERMISSION``. The pages read through the same queryset methods and FilterSet as the API
and the admin, read through ``inventory.selectors``, which expire overdue operations first (rule 9), and
change nothing except through ``inventory.services``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from itertools import pairwise
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET, require_POST

from inventory import selectors
from inventory.choices import CHECK_STATUS_COLORS, INVENTORY_EFFECT_COLORS, STATE_COLORS, Freshness, InventoryState
from inventory.filtersets import EnvironmentInventoryFilterSet
from inventory.forms import AcknowledgeForm
from inventory.models import Environment, EnvironmentInventory, InventoryTransition
from inventory.rules import IDENTITY_KEYS
from inventory.selectors import REVIEW_STATES
from inventory.services import acknowledge
from inventory.templatetags.status_badges import field_badge, freshness_badge, render_badge
from launchplane.errors import ServiceError

# Acknowledging is a change; reading is not. A custom ``inventory.acknowledge_environment`` permission
# would let a reviewer acknowledge without any other change right (see the admin, which uses the same).
ACKNOWLEDGE_PERMISSION = "inventory.acknowledge_environmentinventory"


# The detail page shows this many of the newest transitions and records; the API and the admin have all.
HISTORY_LIMIT = 200

CHECK_LABELS = {"post_deploy": "post-deploy", "health": "health", "canonical": "canonical", "logo": "logo"}

View = Callable[..., HttpResponse]


def staff_page(view: View) -> View:
    """Anonymous requests go to the login page; signed-in users who are not staff get a 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            return forbidden(request, "These pages are for staff. Ask an administrator to mark your account as staff.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "inventory/forbidden.html", {"message": message}, status=403)


def can_acknowledge(user: Any) -> bool:
    return user.has_perm(ACKNOWLEDGE_PERMISSION)


def ago(moment: datetime | None, now: datetime) -> str:
    """``12 minutes ago`` (one unit, as a person says it); ``just now`` under a minute."""
    if moment is None:
        return ""
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago".replace("\xa0", " ")


def duration(since: datetime, now: datetime) -> str:
    """``12 minutes`` (one unit); ``less than a minute`` under a minute."""
    if now - since < timedelta(minutes=1):
        return "less than a minute"
    return timesince(since, now, depth=1).replace("\xa0", " ")


# ---------------------------------------------------------------------------------------------------
# The banner: state and evidence as one sentence
# ---------------------------------------------------------------------------------------------------


def _clause(text: str) -> str:
    """A sentence turned into a clause: no final period, lowercase first letter."""
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:]


def last_known_good_phrase(inventory: EnvironmentInventory, now: datetime) -> str:
    """``last known good: artifact X (ref) with data from bootstrap op-…, verified 3 days ago``."""
    if inventory.lkg_verified_at is None:
        return "no last known good yet"
    what = []
    deployment = inventory.lkg_deployment if inventory.lkg_deployment_id else None
    if deployment is not None:
        what.append(f"artifact {deployment.artifact_id} ({deployment.source_git_ref})")
    bootstrap = inventory.lkg_bootstrap if inventory.lkg_bootstrap_id else None
    if bootstrap is not None:
        what.append(f"data from bootstrap {bootstrap.operation_id}")
    phrase = f"last known good: {' with '.join(what) or 'recorded'} verified {ago(inventory.lkg_verified_at, now)}"
    if inventory.freshness_at(now) == Freshness.STALE:
        phrase += f" (stale: a verification stays fresh for {ttl_words(inventory.environment)})"
    return phrase


def ttl_words(environment: Environment) -> str:
    """How long a verification stays fresh, as a person says it: ``1 day``."""
    now = timezone.now()
    return timesince(now - timedelta(seconds=environment.verification_ttl_seconds), now).replace("\xa0", " ")


def banner_sentence(inventory: EnvironmentInventory, now: datetime) -> str:
    """One sentence: the state and for how long, why, and the last known good (or that there is none).

    ``Verification failed for 12 minutes — the bootstrapped data failed verification (bootstrap op-…:
    canonical and logo checks failed); last known good: artifact … verified 3 days ago.``
    """
    state = InventoryState(inventory.state).label
    return (
        f"{state[:1].upper()}{state[1:]} for {duration(inventory.state_changed_at, now)} — "
        f"{_clause(inventory.state_reason)}; {last_known_good_phrase(inventory, now)}."
    )


# ---------------------------------------------------------------------------------------------------
# Pieces of the detail page
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityRow:
    key: str
    expected: str | None
    observed: str | None
    compared: bool
    differs: bool


def identity_rows(expected: Any, observed: Any, mismatches: Iterable[str]) -> list[IdentityRow]:
    """Expected vs observed runtime identity, key by key; the compared keys first, extra keys after."""
    expected = expected if isinstance(expected, Mapping) else {}
    observed_map = observed if isinstance(observed, Mapping) else {}
    differing = set(mismatches)
    keys = list(IDENTITY_KEYS) + sorted(k for k in observed_map if k not in IDENTITY_KEYS)

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return [
        IdentityRow(
            key=key,
            expected=text(expected.get(key)),
            observed=text(observed_map.get(key)),
            compared=key in IDENTITY_KEYS,
            differs=key in differing,
        )
        for key in keys
    ]


def data_mutated_words(value: bool | None) -> str:
    if value is None:
        return "not known whether data changed"
    return "data changed" if value else "data unchanged"


@dataclass
class HistoryRow:
    """A transition with its badges rendered by the one badge include."""

    transition: InventoryTransition
    badges: dict[str, SafeString]


def history_rows(transitions: Iterable[InventoryTransition]) -> list[HistoryRow]:
    rows = []
    for transition in transitions:
        badges = {
            name: field_badge(transition, name)
            for name in (
                "from_state",
                "to_state",
                "from_deployment_state",
                "deployment_state",
                "from_data_state",
                "data_state",
            )
        }
        badges["effect"] = field_badge(transition, "effect")
        rows.append(HistoryRow(transition, badges))
    return rows


@dataclass
class TimelineEvent:
    """One thing that happened to the environment, for the timeline."""

    at: datetime
    order: int
    kind: str  # deployment, bootstrap, observation, deadline, cancel, review
    title: str
    detail: str = ""
    badges: list[tuple[str, SafeString]] = field(default_factory=list)  # (what it is, badge)
    gap_before: str = ""  # "3 days earlier" when a long time passed before the next newer event
    gap_size: float = 0.0  # 0..4, how tall the gap is drawn (log scale)


KIND_LABELS = {
    "deployment": "Deployment",
    "bootstrap": "Bootstrap",
    "observation": "Observation",
    "deadline": "Deadline",
    "cancel": "Cancel",
    "review": "Review",
}


def timeline(
    transitions: list[InventoryTransition],
    deployments: Iterable[Any],
    bootstraps: Iterable[Any],
    observations: Iterable[Any],
) -> list[TimelineEvent]:
    """Every applied record (through its transition) and every superseded one, newest first, with the
    time that passed between them."""
    by_record = {d.record_id: d for d in deployments}
    by_operation = {b.operation_id: b for b in bootstraps}
    events: list[TimelineEvent] = []
    for t in transitions:
        badges = [
            ("state now", field_badge(t, "to_state")),
            ("effect", field_badge(t, "effect")),
        ]
        title = f"{KIND_LABELS.get(t.cause_type, t.cause_type)} {t.cause_id}"
        if t.cause_type == "deployment" and t.cause_id in by_record:
            record = by_record[t.cause_id]
            title = f"Deployment {record.record_id} of {record.artifact_id}"
            badges.insert(0, ("deploy", field_badge(record, "deploy_status")))
        elif t.cause_type == "bootstrap" and t.cause_id in by_operation:
            operation = by_operation[t.cause_id]
            started = t.effect == "pending"
            title = f"Bootstrap {operation.operation_id} {'started' if started else 'result'} ({operation.data_source})"
            if not started:
                badges.insert(0, ("readiness", field_badge(operation, "readiness_status")))
        elif t.cause_type in ("deadline", "cancel"):
            title = f"Bootstrap {t.cause_id} {'timed out' if t.cause_type == 'deadline' else 'cancelled'}"
        elif t.cause_type == "review":
            title = f"Acknowledged by {t.actor}"
        elif t.cause_type == "observation":
            title = "Runtime identity observed"
        events.append(TimelineEvent(t.occurred_at, t.sequence, t.cause_type, title, t.reason, badges))
    superseded = "Stored as superseded: something newer was already applied, so inventory did not change."
    superseded_badge = (
        "effect",
        render_badge("superseded", color=INVENTORY_EFFECT_COLORS["superseded"], field="effect"),
    )
    for record in by_record.values():
        if record.inventory_effect == "superseded":
            events.append(
                TimelineEvent(
                    record.finished_at,
                    record.sequence,
                    "deployment",
                    f"Deployment {record.record_id} of {record.artifact_id}",
                    superseded,
                    [("deploy", field_badge(record, "deploy_status")), superseded_badge],
                )
            )
    for operation in by_operation.values():
        if operation.inventory_effect == "superseded":
            events.append(
                TimelineEvent(
                    operation.finished_at or operation.started_at,
                    operation.sequence,
                    "bootstrap",
                    f"Bootstrap {operation.operation_id} result ({operation.data_source})",
                    superseded,
                    [("readiness", field_badge(operation, "readiness_status")), superseded_badge],
                )
            )
    for observation in observations:
        if observation.inventory_effect == "superseded":
            events.append(
                TimelineEvent(
                    observation.observed_at,
                    observation.sequence,
                    "observation",
                    f"Runtime identity observed by {observation.source}",
                    superseded,
                    [superseded_badge],
                )
            )
    events.sort(key=lambda e: (e.at, e.order), reverse=True)
    for newer, older in pairwise(events):
        gap = newer.at - older.at
        if gap >= timedelta(minutes=30):
            older.gap_before = f"{timesince(older.at, newer.at, depth=1)} earlier".replace("\xa0", " ")
            older.gap_size = min(4.0, math.log10(gap.total_seconds() / 60))
    return events


# ---------------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------------


def _board_form_choices(filterset: EnvironmentInventoryFilterSet, name: str) -> list[tuple[str, str, bool]]:
    data = filterset.data.getlist(name) if hasattr(filterset.data, "getlist") else []
    return [(value, label, value in data) for value, label in filterset.filters[name].extra["choices"]]


@staff_page
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """One row per environment, worst first, with counts per state and filters."""
    now = timezone.now()
    inventories = selectors.board(now)
    filterset = EnvironmentInventoryFilterSet(request.GET, queryset=inventories)
    # A filter value that was not understood is said (400), never silently dropped: nothing is listed.
    invalid = filterset.invalid_filters()
    rows = inventories.none() if invalid else filterset.qs.worst_first()

    context_value = request.GET.get("context", "")
    counted = EnvironmentInventory.objects.with_freshness(now)
    if context_value and "context" not in filterset.errors:
        counted = counted.filter(environment__context=context_value)
    by_state = dict(counted.order_by().values_list("state").annotate(n=Count("pk")))
    by_freshness = dict(counted.order_by().values_list("freshness_value").annotate(n=Count("pk")))
    base_query = {"context": context_value} if context_value else {}
    state_counts = [
        {
            "value": value,
            "count": by_state.get(value, 0),
            "badge": render_badge(value, label=label, color=STATE_COLORS[value], field="state"),
            "href": "?" + urlencode({**base_query, "state": value}),
        }
        for value, label in InventoryState.choices
    ]
    freshness_counts = [
        {
            "value": value,
            "count": by_freshness.get(value, 0),
            "badge": freshness_badge(value),
            "href": "?" + urlencode({**base_query, "freshness": value}),
        }
        for value, _label in Freshness.choices
    ]
    filtered = any(request.GET.get(name) for name in ("context", "state", "freshness"))
    return render(
        request,
        "inventory/board.html",
        {
            "rows": rows,
            "now": now,
            "filterset": filterset,
            "filtered": filtered,
            "total": sum(by_state.values()),
            "contexts": Environment.objects.order_by("context").values_list("context", flat=True).distinct(),
            "context_value": context_value,
            "state_choices": _board_form_choices(filterset, "state"),
            "freshness_choices": _board_form_choices(filterset, "freshness"),
            "state_counts": state_counts,
            "freshness_counts": freshness_counts,
            "invalid_filters": invalid,
        },
        status=400 if invalid else 200,
    )


@staff_page
@require_GET
def environment_detail(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    """The banner, side-by-side evidence, runtime identity, a timeline and the full history."""
    environment = get_object_or_404(Environment, context=context, instance=instance)
    now = timezone.now()
    inventory = selectors.read_model(environment, now)

    transitions = list(environment.transitions.order_by("-sequence")[:HISTORY_LIMIT])
    transition_count = environment.transitions.count()
    deployments = list(environment.deployments.order_by("-sequence")[:HISTORY_LIMIT])
    bootstraps = list(environment.bootstraps.order_by("-sequence")[:HISTORY_LIMIT])
    observations = list(environment.observations.order_by("-sequence")[:HISTORY_LIMIT])

    bootstrap = inventory.last_bootstrap
    checks = []
    evidence = []
    if bootstrap is not None:
        required = set(environment.required_checks)
        for name, value in bootstrap.check_statuses().items():
            checks.append(
                {
                    "name": CHECK_LABELS[name],
                    "badge": field_badge(bootstrap, f"{name}_status"),
                    "required": name == "post_deploy" or name in required,
                    "value": value,
                }
            )
        evidence = [
            {
                **probe,
                "badge": render_badge(
                    str(probe.get("status", "")),
                    color=CHECK_STATUS_COLORS.get(str(probe.get("status", "")), "grey"),
                    field="probe status",
                ),
            }
            for probe in bootstrap.verification_evidence
            if isinstance(probe, Mapping)
        ]

    attempt = inventory.last_deployment_attempt
    return render(
        request,
        "inventory/environment_detail.html",
        {
            "environment": environment,
            "inventory": inventory,
            "now": now,
            "banner": banner_sentence(inventory, now),
            "banner_color": STATE_COLORS[inventory.state],
            "freshness": inventory.freshness_at(now),
            "last_known_good": last_known_good_phrase(inventory, now),
            "attempt_differs": attempt is not None and attempt.pk != inventory.current_deployment_id,
            "bootstrap": bootstrap,
            "bootstrap_checks": checks,
            "bootstrap_data_mutated": data_mutated_words(bootstrap.data_mutated) if bootstrap else "",
            "evidence": evidence,
            "identity_rows": identity_rows(
                inventory.expected_runtime_identity,
                inventory.observed_runtime_identity,
                inventory.runtime_identity_mismatches,
            ),
            "observed_is_object": isinstance(inventory.observed_runtime_identity, Mapping),
            "observed_json": json.dumps(inventory.observed_runtime_identity, indent=2, sort_keys=True),
            "timeline": timeline(transitions, deployments, bootstraps, observations),
            "history": history_rows(transitions),
            "transition_count": transition_count,
            "history_limit": HISTORY_LIMIT,
            "ttl_words": ttl_words(environment),
            "in_review": inventory.state in REVIEW_STATES or inventory.freshness_at(now) == Freshness.STALE,
        },
    )


def render_review(
    request: HttpRequest, *, bound: tuple[int, AcknowledgeForm] | None = None, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    may_acknowledge = can_acknowledge(request.user)
    items = []
    for inventory in selectors.review_queue(now):
        form = None
        if may_acknowledge:
            if bound is not None and bound[0] == inventory.pk:
                form = bound[1]
            else:
                form = AcknowledgeForm(environment_key=f"env{inventory.pk}")
        items.append(
            {
                "inventory": inventory,
                "form": form,
                "freshness": inventory.freshness_at(now),
                "banner": banner_sentence(inventory, now),
            }
        )
    return render(
        request,
        "inventory/review.html",
        {"items": items, "now": now, "may_acknowledge": may_acknowledge},
        status=status,
    )


@staff_page
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    return render_review(request)


@staff_page
@require_POST
def acknowledge_environment(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    """Acknowledge through the service; a missing note re-renders the queue with the error."""
    if not can_acknowledge(request.user):
        return forbidden(request, "You can read inventory but not acknowledge it: that needs the change permission.")
    environment = get_object_or_404(Environment, context=context, instance=instance)
    form = AcknowledgeForm(request.POST, environment_key=f"env{environment.pk}")
    if form.is_valid():
        try:
            acknowledge(environment, user=request.user, note=form.cleaned_data["note"])
        except ServiceError as exc:
            form.add_error("note", exc.message)
        else:
            messages.success(request, f"Acknowledged {environment}")
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                target = reverse("inventory:review")
            return redirect(target)
    return render_review(request, bound=(environment.pk, form), status=400)
