"""The pure parts of a delivery: its signature, its retry schedule, its body's Slack line and what an
answer means. No ORM, no clock of their own: times come in as arguments."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# A 2xx within this many seconds is a delivery (PRODUCT.md).
TIMEOUT_SECONDS = 10.0
# Retried with exponential backoff for this long after the event, then ``failed``.
RETRY_WINDOW = timedelta(hours=24)
# No single wait longer than this, so the last day of retries still tries every hour.
MAX_RETRY_DELAY = timedelta(hours=1)
# How much of an answer is kept for the admin.
EXCERPT_CHARS = 300


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret's UTF-8 bytes>``
    (Stripe's scheme: the receiver checks both that we sent it and that it is recent)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """The wait after failed attempt number ``attempts`` (1, 2, …): base, 2 x base, 4 x base, … capped."""
    exponent = min(max(attempts - 1, 0), 32)
    return min(timedelta(seconds=base_seconds * 2**exponent), MAX_RETRY_DELAY)


def next_attempt_at(
    *, attempts: int, created_at: datetime, now: datetime, base_seconds: float, window: timedelta = RETRY_WINDOW
) -> datetime | None:
    """When to try again after failed attempt ``attempts``, or None to give up (``failed``).

    Retries run for ``window`` after the delivery was written: a wait that would end past the window is
    shortened to end at it (one last attempt at the 24-hour mark); once the window has passed, give up.
    """
    give_up_at = created_at + window
    if now >= give_up_at:
        return None
    return min(now + retry_delay(attempts, base_seconds), give_up_at)


def is_delivered(status_code: int | None, failure_class: str) -> bool:
    """A 2xx answer (not a redirect, which is never followed) is a delivery; anything else is not."""
    return not failure_class and status_code is not None and 200 <= status_code < 300


def excerpt(body: bytes, *, detail: str = "", limit: int = EXCERPT_CHARS) -> str:
    """What the admin shows of an answer: why there was none, else the start of its body as text.

    One line of printable text: control characters (NUL among them, which PostgreSQL refuses in a
    text column, so a receiver answering it would leave the attempt unrecordable) become spaces, and
    newlines and runs of spaces are collapsed."""
    text = detail or body[: limit * 4].decode("utf-8", errors="replace")
    text = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    return " ".join(text.split())[:limit]


@dataclass(frozen=True)
class SlackLine:
    """The one readable line a Slack subscription gets: badge word, environment, reason, page link."""

    word: str
    environment: str
    reason: str
    url: str

    @property
    def text(self) -> str:
        reason = slack_escape(self.reason.strip().rstrip("."))
        return f"{slack_escape(self.word)} {slack_escape(self.environment)} — {reason} {self.url}".strip()


def slack_escape(text: str) -> str:
    """Slack reads ``<…>`` as a link or a mention (``<!channel>``) and ``&`` as an entity: a reason
    carries client-supplied text (an artifact id), so those three are escaped as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: str, payload: dict[str, Any], *, state_labels: dict[str, str]) -> dict[str, str]:
    """``{"text": …}`` for an event's payload: the state's badge word for ``state_changed``, the
    freshness for ``freshness_changed``; ``ping`` says which subscription it tests."""
    environment = payload.get("environment") or {}
    name = f"{environment.get('context', '')}/{environment.get('instance', '')}"
    url = environment.get("url", "")
    if event == "state_changed":
        state = environment.get("state", "")
        word = state_labels.get(state, state).capitalize()
        line = SlackLine(word, name, environment.get("state_reason", ""), url)
    elif event == "freshness_changed":
        freshness = environment.get("freshness", "")
        word = str(freshness).capitalize()
        if freshness == "stale":
            reason = f"not verified within its TTL; state {state_labels.get(environment.get('state', ''), '?')}"
        else:
            reason = f"verified again; state {state_labels.get(environment.get('state', ''), '?')}"
        line = SlackLine(word, name, reason, url)
    else:
        return {"text": f"Launchplane test message for subscription {payload.get('subscription', '')!s}."}
    return {"text": line.text}
