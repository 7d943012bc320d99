"""The staff groups, kept in step with their permissions after every migrate.

- operators act: acknowledge and re-verify environments, cancel bootstraps, create and configure environments,
  keep webhook subscriptions and redeliver webhook deliveries;
- reviewers read everything, acknowledge, ask for a verification run (probing changes nothing
  but what is proven) and reconcile what automation never reported (rule 16: operators may too);
- automation is for API clients' human owners: no admin rights (clients use tokens, not sessions).
Evidence (deployments, operations, transitions, observations, reconciliations) is read-only for everyone.
"""

from __future__ import annotations

VIEW_ALL = [
    "inventory.view_environment",
    "inventory.view_environmentinventory",
    "inventory.view_deploymentrecord",
    "inventory.view_inventorytransition",
    "inventory.view_runtimeobservation",
    "bootstraps.view_bootstrapoperation",
    "inventory.view_verificationrun",
    "bootstraps.view_reconciliation",
    "compat.view_deploymentevidence",
]

GROUPS: dict[str, list[str]] = {
    "operators": [
        *VIEW_ALL,
        "inventory.acknowledge_environmentinventory",
        "inventory.verify_environmentinventory",
        "inventory.reconcile_environmentinventory",
        "bootstraps.cancel_bootstrapoperation",
        "inventory.add_environment",
        "inventory.change_environment",
        "launchplane.view_apiclient",
        # Webhooks: operators keep subscriptions (created by create_webhook) and watch deliveries.
        "notifications.view_webhooksubscription",
        "notifications.change_webhooksubscription",
        "notifications.view_webhookdelivery",
        "notifications.redeliver_webhookdelivery",
    ],
    "reviewers": [
        *VIEW_ALL,
        "inventory.acknowledge_environmentinventory",
        "inventory.verify_environmentinventory",
        "inventory.reconcile_environmentinventory",
    ],
    "automation": [],
}


def ensure_groups(sender=None, **kwargs) -> None:
    """Create the groups and give each exactly its permissions (idempotent; a post_migrate receiver)."""
    from django.contrib.auth.models import Group, Permission

    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is not None:  # not yet created on a partial migrate; the next migrate adds it
                wanted.append(found)
        group.permissions.set(wanted)
