"""The review queue's own widgets: who holds an environment and the take / release buttons
(``templates/inventory/includes/responsibility.html``), and the queue's view links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.http import urlencode

from inventory.models import Environment, EnvironmentInventory

READ_ONLY_REASON = (
    "you can read inventory but not take or release it: that needs the permission to acknowledge environment "
    "inventories (operators and reviewers have it)"
)


@dataclass(frozen=True)
class ResponsibilityAction:
    """Who holds an environment, and the buttons for it.

    ``holder`` is None when nobody does; ``mine`` when the viewer does. ``blocked`` says why the buttons
    are disabled (read-only staff); ``settled`` that the environment is current and fresh, so there is
    nothing to take (a holder is released automatically then). The service decides when posted.
    """

    environment: Environment
    next_url: str
    holder: str | None
    since: datetime | None
    mine: bool
    blocked: str
    settled: bool

    @property
    def take_label(self) -> str:
        if self.holder is None:
            return f"Take {self.environment}"
        return f"Take over {self.environment} from {self.holder}"

    @property
    def offers_take(self) -> bool:
        return not self.mine and not self.settled

    @property
    def offers_release(self) -> bool:
        return self.holder is not None


def responsibility_action(
    inventory: EnvironmentInventory, *, user: Any, next_url: str, may_act: bool, now: datetime
) -> ResponsibilityAction:
    return ResponsibilityAction(
        environment=inventory.environment,
        next_url=next_url,
        holder=inventory.holder,
        since=inventory.assigned_at,
        mine=inventory.assignee_id is not None and inventory.assignee_id == getattr(user, "pk", None),
        blocked="" if may_act else READ_ONLY_REASON,
        settled=inventory.is_settled(now),
    )


@dataclass(frozen=True)
class QueueView:
    """One link of the queue's view chooser: its words, its URL and whether it is the one shown."""

    label: str
    href: str
    current: bool


def queue_views(base: str, show: str, holder: str, snoozed_count: int) -> list[list[QueueView]]:
    """The two rows of view links (what is shown, whose), each link keeping the other choice."""

    def href(show_value: str, holder_value: str) -> str:
        query = {name: value for name, value in (("show", show_value), ("holder", holder_value)) if value}
        return base + ("?" + urlencode(query) if query else "")

    shows = [
        QueueView("Waiting for review", href("", holder), show == ""),
        QueueView(f"Snoozed ({snoozed_count})", href("snoozed", holder), show == "snoozed"),
    ]
    holders = [
        QueueView("Anyone's", href(show, ""), holder == ""),
        QueueView("Mine", href(show, "mine"), holder == "mine"),
        QueueView("Unassigned", href(show, "unassigned"), holder == "unassigned"),
    ]
    return [shows, holders]
