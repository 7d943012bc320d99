"""Rule 9: whenever inventory is read, overdue operations of those environments expire first."""

from django.dispatch import receiver

from bootstraps.services import expire_overdue
from inventory.signals import inventory_read


@receiver(inventory_read, dispatch_uid="bootstraps.expire_on_read")
def expire_before_read(sender, *, environments, now, **kwargs) -> None:
    expire_overdue(now, environments=environments)
