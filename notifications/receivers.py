"""The outbox's entry: every applied transition passes ``inventory.services.transitions.apply_transition``,
which sends ``transition_applied`` inside its transaction. A transition that changed ``state`` writes a
``state_changed`` delivery per subscription in that same transaction; one that did not costs nothing
(not a single statement)."""

from django.dispatch import receiver

from inventory.signals import transition_applied
from notifications.services.outbox import write_state_changed


@receiver(transition_applied, dispatch_uid="notifications.state_changed_outbox")
def write_state_changed_outbox(sender, *, transition, inventory, **kwargs) -> None:
    if transition.from_state == transition.to_state:
        return
    write_state_changed(transition, inventory)
