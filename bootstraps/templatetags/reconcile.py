"""``{% reconcile_form inventory next_url %}``: the reconcile form where the data side waits for
settlement (rule 16), on the review queue and the environment page. A tag, not a view's context:
the pages are inventory's, and inventory never imports bootstraps (templates may load any app's tags)."""

from __future__ import annotations

from typing import Any

from django import template

from bootstraps.forms import ReconcileForm
from bootstraps.presentation import reconcile_action
from bootstraps.services import RECONCILE_PERMISSION

register = template.Library()


@register.inclusion_tag("bootstraps/includes/reconcile_form.html", takes_context=True)
def reconcile_form(context: template.Context, inventory: Any, next_url: str = "", form: Any = None) -> dict[str, Any]:
    request = context["request"]
    if not isinstance(form, ReconcileForm):  # an include without one passes "" (or another page's form)
        form = None
    action = reconcile_action(
        inventory,
        next_url=next_url or request.get_full_path(),
        may_reconcile=request.user.has_perm(RECONCILE_PERMISSION),
    )
    if form is None and action.shown and action.bootstrap is not None:
        form = ReconcileForm(initial={"operation_id": action.bootstrap.operation_id}, environment_key=str(inventory.pk))
    return {
        "action": action,
        "form": form,
        "env": inventory.environment,
        "open": bool(form is not None and form.is_bound),
        "csrf_token": context.get("csrf_token"),
    }
