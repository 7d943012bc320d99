"""The outbound side of a webhook delivery: one POST through the probes' hardened client.

The same client as Launchplane's own probes (``inventory/probes/client.py``): the host is resolved
and *every* address checked against ``VERIFY_BLOCKED_NETWORKS`` before connecting, the checked
address is the one connected to, no proxy or .netrc is consulted, the whole exchange is bounded by
one 10-second budget, at most a few KiB of the answer is read, and a redirect is never followed.
What the answer means is decided by the pure ``rules.is_delivered``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from inventory.probes.client import Budget, ProbeClient, Resolver
from inventory.probes.runner import blocked_networks, bounded_system_resolver
from notifications import rules

USER_AGENT = "Launchplane-Webhook/1"
READ_LIMIT = 4096  # only an excerpt is kept


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
    try:
        fetched = client.post(
            url, content=body, headers={"Content-Type": "application/json", **headers}, read_limit=READ_LIMIT
        )
    except (httpx.HTTPError, ValueError) as exc:  # an invalid URL or header: nothing was sent
        return Answer(None, False, rules.excerpt(b"", detail=f"not sent: {exc}"), "invalid")
    finally:
        client.close()
    delivered = rules.is_delivered(fetched.status_code, fetched.failure_class)
    detail = fetched.detail if fetched.failure_class else ""
    return Answer(fetched.status_code, delivered, rules.excerpt(fetched.body, detail=detail), fetched.failure_class)
