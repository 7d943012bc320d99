"""The outbound side of a webhook delivery: one POST through the probes' hardened client.

The same client as Launchplane's own probes (``inventory/probes/client.py``): the host is resolved
and *every* address checked against ``VERIFY_BLOCKED_NETWORKS`` before connecting, the checked
address is the one connected to, no proxy or .netrc is consulted, the whole exchange is bounded by
one 10-second budget, at most a few KiB of the answer is read, and a redirect is never followed.
What the answer means is decided by the pure ``rules.is_delivered``.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from inventory.probes.client import Budget, ProbeClient, Resolver
from inventory.probes.runner import blocked_networks, bounded_system_resolver
from notifications import rules

USER_AGENT = "Launchplane-Webhook/1"
READ_LIMIT = 4096  # only an excerpt is kept

# Set while a webhook is being posted, so that httpx's own log line names only the origin.
_posting: contextvars.ContextVar[bool] = contextvars.ContextVar("notifications_posting", default=False)


class RedactWebhookURL(logging.Filter):
    """httpx logs ``HTTP Request: POST <url> …`` at INFO, and a webhook URL is often a credential
    (Slack's ``/services/T…/B…/<secret>``): while a webhook is posted, the URL in that line is cut to
    its origin. Probes' lines are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _posting.get() and isinstance(record.args, tuple) and len(record.args) >= 2:
            try:
                url = httpx.URL(str(record.args[1]))
                origin = f"{url.scheme}://{url.netloc.decode('ascii')}/…"  # no userinfo, no path, no query
            except (httpx.InvalidURL, UnicodeError):
                origin = "<webhook URL>"
            record.args = (record.args[0], origin, *record.args[2:])
        return True


def _redact_httpx_log() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, RedactWebhookURL) for existing in httpx_logger.filters):
        httpx_logger.addFilter(RedactWebhookURL())


_redact_httpx_log()


@dataclass(frozen=True)
class Answer:
    """What one attempt got back: a status code (None when nothing answered) and an excerpt."""

    status_code: int | None
    delivered: bool
    excerpt: str
    failure_class: str = ""


def post_webhook(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout_seconds: float = rules.TIMEOUT_SECONDS,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Answer:
    """POST ``body`` to ``url`` once. ``transport`` and ``resolver`` replace the pinned transport and
    the system resolver in tests; whatever is injected, every address is checked before sending."""
    budget = Budget(clock, timeout_seconds)
    client = ProbeClient(
        budget=budget,
        sleep=time.sleep,
        transport=transport,
        resolver=resolver or bounded_system_resolver(budget),
        networks=blocked_networks(),
        user_agent=USER_AGENT,
    )
    token = _posting.set(True)
    try:
        fetched = client.post(
            url, content=body, headers={"Content-Type": "application/json", **headers}, read_limit=READ_LIMIT
        )
    # An invalid URL or header: nothing was sent. httpx.InvalidURL is no HTTPError: a URL Django
    # accepts and httpx does not (an odd IP spelling) must still be an answer, not a traceback.
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return Answer(None, False, rules.excerpt(b"", detail=f"not sent: {exc}"), "invalid")
    finally:
        _posting.reset(token)
        client.close()
    delivered = rules.is_delivered(fetched.status_code, fetched.failure_class)
    detail = fetched.detail if fetched.failure_class else ""
    return Answer(fetched.status_code, delivered, rules.excerpt(fetched.body, detail=detail), fetched.failure_class)
