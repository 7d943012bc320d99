"""Operator pages: the board, one environment's evidence, and the review queue (their POST actions are in
``inventory.actions``).

Server-rendered, no front-end build. Every page needs a staff login; acknowledging, taking and
releasing also need ``ACKNOWLEDGE_PERMISSION``, and asking for a verification run (Re-verify)
``VERIFY_PERMISSION``. The pages read through the same queryset methods and FilterSets as the API and
the admin, read through ``inventory.selectors``, which expire overdue operations first (rule 9), and
change nothing except through ``inventory.services``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET

from inventory import selectors
from inventory.choices import STATE_COLORS, Freshness, InventoryState
from inventory.filtersets import EnvironmentInventoryFilterSet, ReviewQueueFilterSet
from inventory.forms import AcknowledgeForm
from inventory.models import Environment, EnvironmentInventory
from inventory.presentation import (
    CHECK_LABELS,
    banner_sentence,
    board_rows,
    data_mutated_words,
    history_rows,
    identity_view,
    last_known_good_phrase,
    last_verified,
    probe_table,
    queue_views,
    responsibility_action,
    reverify_action,
    timeline,
    ttl_words,
    verification_card,
)
from inventory.presentation.paging import paginate
from inventory.selectors import REVIEW_STATES
from inventory.services import ACKNOWLEDGE_PERMISSION
from inventory.templatetags.status_badges import field_badge, freshness_badge, render_badge

# Acknowledging, taking and releasing are changes; reading is not. ``ACKNOWLEDGE_PERMISSION``
# (inventory.services) lets a reviewer do them without any other change right (the admin uses the same).
# Asking for a verification run (the same permission as the admin's "Re-verify" action and the API's).
VERIFY_PERMISSION = "inventory.verify_environmentinventory"


# The detail page shows this many of the newest transitions and records; the API and the admin have all.
HISTORY_LIMIT = 200

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


def can_verify(user: Any) -> bool:
    return user.has_perm(VERIFY_PERMISSION)


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` the form posted when it stays on this site, else ``default``."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


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
    paging = paginate(request.GET, rows.values_list("pk", flat=True))
    return render(
        request,
        "inventory/board.html",
        {
            "rows": board_rows(selectors.rows_in_order(paging.page.object_list, now), now),
            "paging": paging,
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
    inventory = selectors.environment_page(environment, now)

    transitions = list(environment.transitions.order_by("-sequence")[:HISTORY_LIMIT])
    transition_count = environment.transitions.count()
    deployments = list(environment.deployments.order_by("-sequence")[:HISTORY_LIMIT])
    bootstraps = list(environment.bootstraps.order_by("-sequence")[:HISTORY_LIMIT])
    observations = list(environment.observations.order_by("-sequence")[:HISTORY_LIMIT])
    verifications = list(environment.verifications.order_by("-queued_at", "-id")[:HISTORY_LIMIT])
    reconciliations = list(environment.reconciliations.select_related("bootstrap")[:HISTORY_LIMIT])
    card = verification_card(inventory, verifications, now)

    bootstrap = inventory.last_bootstrap
    checks = []
    evidence = None
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
        evidence = probe_table(bootstrap.verification_evidence, "Verification evidence")

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
            "identity": identity_view(
                inventory, "Expected (the current deployment) and observed (what the runtime last reported)"
            ),
            "verification": card,
            "reverify": reverify_action(inventory, next_url=request.get_full_path(), active=card.active)
            if can_verify(request.user)
            else None,
            "timeline": timeline(transitions, deployments, bootstraps, observations, verifications, reconciliations),
            "history": history_rows(transitions),
            "transition_count": transition_count,
            "history_limit": HISTORY_LIMIT,
            "ttl_words": ttl_words(environment),
            "in_review": inventory.state in REVIEW_STATES or inventory.freshness_at(now) == Freshness.STALE,
            "snoozed": inventory.is_snoozed(now),
            "responsibility": responsibility_action(
                inventory,
                user=request.user,
                next_url=request.get_full_path(),
                may_act=can_acknowledge(request.user),
                now=now,
            ),
        },
    )


def review_url_for(show: str, holder: str, page: int) -> str:
    """The queue's URL in this view and on this page: where a form on it comes back to."""
    kept = [("show", show), ("holder", holder), ("page", str(page) if page > 1 else "")]
    query = [(name, value) for name, value in kept if value]
    return reverse("inventory:review") + ("?" + urlencode(query) if query else "")


def render_review(
    request: HttpRequest,
    *,
    bound: tuple[int, AcknowledgeForm] | None = None,
    status: int = 200,
    return_to: str = "",
) -> HttpResponse:
    """The queue, a page at a time, in the view its query asks for (``ReviewQueueFilterSet``). A form
    that did not validate comes back on the page it was sent from (``return_to``, the form's ``next``),
    so its error shows next to it."""
    now = timezone.now()
    may_acknowledge = can_acknowledge(request.user)
    may_verify = can_verify(request.user)
    query = QueryDict(urlsplit(return_to).query) if return_to else request.GET
    in_review = selectors.review_queue(now)
    filterset = ReviewQueueFilterSet(query, queryset=in_review, request=request, now=now)
    # A view that was not understood is said (400), never silently widened: nothing is listed.
    invalid = filterset.invalid_filters()
    listed = in_review.none() if invalid else filterset.qs
    paging = paginate(query, listed.values_list("pk", flat=True))
    show = "" if invalid else filterset.form.cleaned_data.get("show") or ""
    holder = "" if invalid else filterset.form.cleaned_data.get("holder") or ""
    review_url = review_url_for(show, holder, paging.page.number)
    snoozed_count = in_review.snoozed(now).count()
    items = []
    for inventory in selectors.rows_in_order(paging.page.object_list, now):
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
                "verified": last_verified(inventory, now),
                "reverify": reverify_action(inventory, next_url=review_url) if may_verify else None,
                "responsibility": responsibility_action(
                    inventory, user=request.user, next_url=review_url, may_act=may_acknowledge, now=now
                ),
                "snoozed": inventory.is_snoozed(now),
            }
        )
    return render(
        request,
        "inventory/review.html",
        {
            "items": items,
            "paging": paging,
            "review_url": review_url,
            "now": now,
            "may_acknowledge": may_acknowledge,
            "may_verify": may_verify,
            "invalid_filters": invalid,
            "show": show,
            "holder": holder,
            "views": queue_views(reverse("inventory:review"), show, holder, snoozed_count),
            "snoozed_count": snoozed_count,
        },
        status=400 if invalid else status,
    )


@staff_page
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    return render_review(request)
