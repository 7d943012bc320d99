"""Time and state as a person says them: ``12 minutes ago``, the banner sentence, last known good."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.timesince import TIME_STRINGS
from django.utils.timesince import timesince as django_timesince

from inventory.choices import Freshness, InventoryState
from inventory.models import Environment, EnvironmentInventory


class _Units:
    """``"%(num)d day(s)" % {"num": n}`` in English without the lazy-translation machinery: Django's
    ``timesince`` formats every unit through ``ngettext_lazy``, which was a seventh of a board page's
    time (250 times per page). The pages are English only; ``tests/inventory/test_words.py`` proves the
    words are Django's own."""

    __slots__ = ("plural", "singular")

    def __init__(self, unit: str) -> None:
        self.singular, self.plural = f"{unit}", f"{unit}s"

    def __mod__(self, values: dict[str, int]) -> str:
        num = values["num"]
        return f"{num} {self.singular if num == 1 else self.plural}"


UNITS = {unit: _Units(unit) for unit in TIME_STRINGS}


def timesince(d: datetime, now: datetime, depth: int = 2) -> str:
    """Django's ``timesince`` (its calendar arithmetic, its words, non-breaking spaces included), with
    the English unit words bound once."""
    return django_timesince(d, now, time_strings=UNITS, depth=depth)  # type: ignore[arg-type]  # duck-typed: only % is used


def timeuntil(d: datetime, now: datetime, depth: int = 2) -> str:
    """Django's ``timeuntil``, as ``timesince`` above."""
    return django_timesince(d, now, reversed=True, time_strings=UNITS, depth=depth)  # type: ignore[arg-type]


def ago(moment: datetime | None, now: datetime) -> str:
    """``12 minutes ago`` (one unit, as a person says it); ``just now`` under a minute."""
    if moment is None:
        return ""
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago".replace("\xa0", " ")


def ago_exact(moment: datetime | None, now: datetime) -> str:
    """``5 seconds ago`` under a minute (a queued run is watched by the second), else as ``ago``."""
    if moment is None:
        return ""
    seconds = int((now - moment).total_seconds())
    if seconds < 1:
        return "just now"
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'} ago"
    return ago(moment, now)


def seconds_words(seconds: int) -> str:
    """A length of time as a person says it: ``30 seconds``, ``12 hours``, ``1 day, 12 hours``."""
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    now = timezone.now()
    return timesince(now - timedelta(seconds=seconds), now).replace("\xa0", " ")


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
    return seconds_words(environment.verification_ttl_seconds)


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


def data_mutated_words(value: bool | None) -> str:
    if value is None:
        return "not known whether data changed"
    return "data changed" if value else "data unchanged"
