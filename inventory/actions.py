"""The operator pages' actions: acknowledge (and snooze), take, release and re-verify, each a POST
through its service that goes back where the form was with a message. Read-only staff get a 403 page;
a form that did not validate comes back on the review queue with the error next to its field."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from inventory.choices import VerificationTrigger
from inventory.forms import AcknowledgeForm
from inventory.models import Environment
from inventory.presentation import queued_message
from inventory.services import Responsibility, acknowledge, release, take
from inventory.services.verification import queue_verification
from inventory.views import can_acknowledge, can_verify, forbidden, render_review, safe_next, staff_page
from launchplane.errors import PermissionRefused, ServiceError

# The fields a service's InvalidInput may name that the acknowledge form shows next to the field.
ACKNOWLEDGE_FIELDS = ("note", "until")


@staff_page
@require_POST
def acknowledge_environment(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    """Acknowledge (optionally snoozing) through the service; an error re-renders the queue with it
    next to its field."""
    if not can_acknowledge(request.user):
        return forbidden(request, "You can read inventory but not acknowledge it: that needs the change permission.")
    environment = get_object_or_404(Environment, context=context, instance=instance)
    form = AcknowledgeForm(request.POST, environment_key=f"env{environment.pk}")
    if form.is_valid():
        until = form.cleaned_data["until"]
        try:
            acknowledge(environment, user=request.user, note=form.cleaned_data["note"], until=until)
        except ServiceError as exc:
            for name in exc.fields or {"note": ""}:
                form.add_error(name if name in ACKNOWLEDGE_FIELDS else None, exc.message)
        else:
            snooze = f" and snoozed it until {until:%Y-%m-%d %H:%M} UTC" if until is not None else ""
            messages.success(request, f"Acknowledged {environment}{snooze}")
            return redirect(safe_next(request, reverse("inventory:review")))
    return render_review(request, bound=(environment.pk, form), status=400, return_to=safe_next(request, ""))


TAKE_READ_ONLY = (
    "You can read inventory but not take or release it: that needs the permission to acknowledge environment "
    "inventories (operators and reviewers have it)."
)


def change_responsibility(
    request: HttpRequest, context: str, instance: str, service: Callable[..., Responsibility]
) -> HttpResponse:
    """Take or release through the service and go back where the button was, saying what happened
    (a no-op says so too; a refusal is an error message)."""
    if not can_acknowledge(request.user):
        return forbidden(request, TAKE_READ_ONLY)
    environment = get_object_or_404(Environment, context=context, instance=instance)
    try:
        done = service(environment, user=request.user)
    except PermissionRefused:
        return forbidden(request, TAKE_READ_ONLY)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        (messages.success if done.changed else messages.info)(request, done.message)
    return redirect(safe_next(request, reverse("inventory:environment", args=[context, instance])))


@staff_page
@require_POST
def take_environment(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    """Take responsibility ("I'm on it"), or take it over from whoever holds it."""
    return change_responsibility(request, context, instance, take)


@staff_page
@require_POST
def release_environment(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    """Hand the environment back: nobody holds it afterwards."""
    return change_responsibility(request, context, instance, release)


@staff_page
@require_POST
def verify_environment(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    """Re-verify: queue a verification run through the service (or find the one already queued) and go
    back where the button was. The service refuses without a base URL or while a bootstrap is active."""
    if not can_verify(request.user):
        return forbidden(
            request, "You can read inventory but not ask for a verification run: that needs the verify permission."
        )
    environment = get_object_or_404(Environment, context=context, instance=instance)
    try:
        run, created = queue_verification(
            environment, trigger=VerificationTrigger.OPERATOR, requested_by=request.user.get_username()
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        (messages.success if created else messages.info)(request, queued_message(run, created, environment))
    return redirect(safe_next(request, reverse("inventory:environment", args=[context, instance])))
