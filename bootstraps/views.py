"""The reconcile page and action (rule 16): ``/environments/{context}/{instance}/reconcile/``.

The form is shown on the review queue and the environment page (``{% reconcile_form %}``) and posts
here; a form that does not validate comes back on this page with each error next to its field. Like
every operator page it needs a staff login; posting needs ``RECONCILE_PERMISSION`` (read-only staff get
403 and nothing is recorded), and the change goes through ``bootstraps.services.reconcile``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from bootstraps.forms import ReconcileForm
from bootstraps.services import RECONCILE_PERMISSION, Reconciled, reconcile
from inventory import selectors
from inventory.choices import STATE_COLORS
from inventory.models import Environment
from inventory.presentation import banner_sentence
from inventory.views import forbidden, safe_next, staff_page
from launchplane.errors import InvalidInput, NotReconcilable, PermissionRefused

# Errors on these show next to their field; any other (the hidden operation_id) above the form.
VISIBLE_FIELDS = ("provider_state", "inspected_at", "evidence_reference", "note")
READ_ONLY = "You can read inventory but not reconcile it: that needs the reconcile permission (operators and reviewers have it)."


def done_message(environment: Environment, done: Reconciled) -> str:
    found = done.reconciliation
    words = (
        f"Reconciled {environment}: bootstrap {found.bootstrap.operation_id} {found.get_provider_state_display()}; "
        f"data side {found.get_from_data_state_display()} → {found.get_data_state_display()}."
    )
    if found.provider_state != found.ProviderState.COMPLETED:
        return words
    if done.verification_run is None:
        return words + " No verification run could be queued: the environment has no base URL. Set one and re-verify."
    run = done.verification_run
    return words + (
        f" Verification run {run.run_id} queued to prove the data."
        if done.run_created
        else f" Verification run {run.run_id} was already {run.status}; it will judge the data."
    )


def render_page(
    request: HttpRequest, environment: Environment, form: ReconcileForm | None, *, next_url: str, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    inventory = selectors.environment_page(environment, now)
    return render(
        request,
        "bootstraps/reconcile.html",
        {
            "environment": environment,
            "inventory": inventory,
            "banner": banner_sentence(inventory, now),
            "banner_color": STATE_COLORS[inventory.state],
            "form": form,
            "next_url": next_url,
        },
        status=status,
    )


@staff_page
@require_http_methods(["GET", "POST"])
def reconcile_environment(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    environment = get_object_or_404(Environment, context=context, instance=instance)
    detail_url = reverse("inventory:environment", args=[context, instance])
    if request.method == "GET":
        return render_page(request, environment, None, next_url=detail_url)
    if not request.user.has_perm(RECONCILE_PERMISSION):
        return forbidden(request, READ_ONLY)
    back = safe_next(request, detail_url)
    form = ReconcileForm(request.POST, environment_key=str(environment.pk))
    if form.is_valid():
        data = form.cleaned_data
        try:
            done = reconcile(
                environment,
                user=request.user,
                provider_state=data["provider_state"],
                inspected_at=data["inspected_at"],
                evidence_reference=data["evidence_reference"],
                note=data["note"],
                operation_id=data["operation_id"],
            )
        except PermissionRefused:
            return forbidden(request, READ_ONLY)
        except NotReconcilable as exc:  # the state moved on since the page was read: nothing to fix in the form
            messages.error(request, exc.message)
            return redirect(back)
        except InvalidInput as exc:
            for name, why in exc.fields.items():
                form.add_error(name if name in VISIBLE_FIELDS else None, exc.message if len(exc.fields) == 1 else why)
        else:
            messages.success(request, done_message(environment, done))
            return redirect(back)
    return render_page(request, environment, form, next_url=back, status=400)
