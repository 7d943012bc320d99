"""A verification run: the health, canonical and logo probes in order, inside one budget.

This is the interface the verification service calls (``run_probes``); it knows nothing of models. It
reads its one setting, ``VERIFY_BLOCKED_NETWORKS``, builds one ``ProbeClient`` and turns each fetch
into evidence with the pure judgements of ``parsing``.

When a probe is ``not_run`` (PRODUCT.md: "a probe that cannot be reached because an earlier one
failed"), precisely:

- health is the reachability probe. When it gets no HTTP answer at all (``connect``, ``timeout``,
  ``tls`` or ``blocked_address``), canonical and logo, which go to the same origin, are ``not_run``
  with failure_class "" and a detail naming the health failure. A health check that *answered* and
  failed (``http``, ``payload_status``, ``too_large``, ``redirect``) stops nothing.
- a probe that would start after the run's budget is spent is ``not_run`` ("budget spent"); a probe
  cut off by the budget while under way fails ``timeout`` (``logo_unavailable`` for the logo).
- nothing else stops a probe: a homepage that fails in any way still leaves the logo to be probed at
  the fallback URL.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from inventory.probes import parsing
from inventory.probes.client import BODY_LIMIT, Budget, ProbeClient, Resolver
from inventory.probes.parsing import FAIL, NOT_RUN, UNVERIFIABLE, Fetched, IdentityReading, Judgement

# A logo is judged by status and content type; its first bytes only tell an HTML page served as an image.
LOGO_HEAD_BYTES = 1024


@dataclass(frozen=True)
class ProbeTarget:
    """What to probe: an environment's verification settings."""

    base_url: str  # http(s)://host[:port][/path]; a trailing slash is optional
    health_path: str = "/web/health"
    preview_marker: str = ""  # empty: not checked
    verify_tls: bool = True
    timeout_seconds: float = 30  # the whole run's budget


@dataclass(frozen=True)
class ProbeEvidence:
    """What one probe saw, as recorded in a verification run's evidence."""

    probe: str  # "health" | "canonical" | "logo"
    url: str
    status: str  # a CheckStatus value
    status_code: int | None
    content_type: str
    failure_class: str  # "" on pass and on not_run
    detail: str
    elapsed_ms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "url": self.url,
            "status": self.status,
            "status_code": self.status_code,
            "content_type": self.content_type,
            "failure_class": self.failure_class,
            "detail": self.detail,
            "elapsed_ms": self.elapsed_ms,
        }


@dataclass(frozen=True)
class ProbeReport:
    """A run's outcome. Build ``inventory.rules.IdentityInput(sent=identity_sent, value=identity_value,
    unverifiable=identity_unverifiable)`` from it: absent keys give ``sent=True, value=None`` (missing),
    an object gives the dict, anything else under the key gives that value (malformed), and a body that
    is not JSON or no health answer gives ``unverifiable=True, sent=False``."""

    health_status: str
    canonical_status: str
    logo_status: str
    identity_sent: bool
    identity_value: Any
    identity_unverifiable: bool
    probes: tuple[ProbeEvidence, ...]  # health, canonical, logo

    @property
    def checks(self) -> dict[str, str]:
        """Each probe's status, keyed as rule 15's ``VerificationFacts.checks``."""
        return {evidence.probe: evidence.status for evidence in self.probes}

    @property
    def failures(self) -> dict[str, str]:
        """The failure class of each probe that failed, keyed as ``VerificationFacts.failures``."""
        return {evidence.probe: evidence.failure_class for evidence in self.probes if evidence.status == FAIL}


def run_probes(
    target: ProbeTarget,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
    resolver: Callable[[str, int], list[str]] | None = None,
) -> ProbeReport:
    """Probe ``target`` within ``target.timeout_seconds`` and report what was seen.

    ``clock`` and ``sleep`` drive the budget and the retry backoff; ``transport`` replaces the pinned,
    deadline-bound default (tests pass ``httpx.MockTransport``); ``resolver(host, port)`` replaces
    getaddrinfo. Whatever is injected, every address is checked before anything is sent.
    """
    budget = Budget(clock, target.timeout_seconds)
    base_url = target.base_url.strip()
    if not _is_http_url(base_url):
        health = ProbeEvidence("health", base_url, FAIL, None, "", parsing.CONNECT, "base_url is not an http(s) URL", 0)
        return _report(
            health, _not_run("canonical", base_url, health), _not_run("logo", base_url, health), UNVERIFIABLE
        )
    root = base_url.rstrip("/")
    client = ProbeClient(
        budget=budget,
        sleep=sleep,
        verify_tls=target.verify_tls,
        transport=transport,
        resolver=resolver or bounded_system_resolver(budget),
        networks=blocked_networks(),
    )
    try:
        health_url = f"{root}/{target.health_path.lstrip('/')}"
        health, identity = _probe_health(client, budget, health_url)
        if health.failure_class in parsing.NO_ANSWER:
            return _report(
                health,
                _not_run("canonical", base_url, health),
                _not_run("logo", parsing.fallback_logo_url(base_url), health),
                identity,
            )
        canonical, homepage = _probe_canonical(client, budget, base_url, target.preview_marker)
        logo_url = parsing.fallback_logo_url(base_url)
        if homepage is not None and homepage.status_code is not None and not homepage.failure_class:
            logo_url = parsing.logo_url(
                homepage.content_type, homepage.body, base_url=base_url, page_url=homepage.final_url
            )
        return _report(health, canonical, _probe_logo(client, budget, logo_url), identity)
    finally:
        client.close()


def _probe_health(client: ProbeClient, budget: Budget, url: str) -> tuple[ProbeEvidence, IdentityReading]:
    started = budget.clock()
    fetched = client.get(url, read_limit=BODY_LIMIT)
    if fetched.failure_class or fetched.status_code is None:
        return _evidence("health", fetched, _failed(fetched), started, budget), UNVERIFIABLE
    if fetched.truncated:
        return _evidence("health", fetched, _too_large(), started, budget), UNVERIFIABLE  # partial JSON says nothing
    reading = parsing.read_health(fetched.status_code, fetched.content_type, fetched.body)
    return _evidence("health", fetched, reading.judgement, started, budget), reading.identity


def _probe_canonical(
    client: ProbeClient, budget: Budget, base_url: str, preview_marker: str
) -> tuple[ProbeEvidence, Fetched | None]:
    """The canonical check, and the homepage it fetched (None when the budget left no time to)."""
    if budget.spent():
        return _budget_spent("canonical", base_url, budget), None
    started = budget.clock()
    fetched = client.get(base_url, read_limit=BODY_LIMIT)
    if fetched.failure_class or fetched.status_code is None:
        judgement = _failed(fetched)
    elif fetched.truncated:
        judgement = _too_large()
    else:
        judgement = parsing.judge_canonical(
            fetched.status_code,
            fetched.content_type,
            fetched.body,
            base_url=base_url,
            page_url=fetched.final_url,
            preview_marker=preview_marker,
        )
    return _evidence("canonical", fetched, judgement, started, budget), fetched


def _probe_logo(client: ProbeClient, budget: Budget, url: str) -> ProbeEvidence:
    if budget.spent():
        return _budget_spent("logo", url, budget)
    started = budget.clock()
    fetched = client.get(url, read_limit=LOGO_HEAD_BYTES)
    if fetched.failure_class in parsing.NO_ANSWER - {parsing.BLOCKED_ADDRESS}:
        # The logo's transport failures are one class: the candidate did not answer.
        detail = f"{fetched.failure_class}: {fetched.detail}"
        judgement = Judgement.failed(parsing.LOGO_UNAVAILABLE, detail)
    elif fetched.failure_class or fetched.status_code is None:
        judgement = _failed(fetched)
    else:
        judgement = parsing.judge_logo(fetched.status_code, fetched.content_type, fetched.body)
    return _evidence("logo", fetched, judgement, started, budget)


def _failed(fetched: Fetched) -> Judgement:
    return Judgement.failed(fetched.failure_class or parsing.CONNECT, fetched.detail)


def _too_large() -> Judgement:
    kib = BODY_LIMIT // 1024
    return Judgement.failed(parsing.TOO_LARGE, f"the body is larger than {kib} KiB; reading stopped at {kib} KiB")


def _evidence(probe: str, fetched: Fetched, judgement: Judgement, started: float, budget: Budget) -> ProbeEvidence:
    detail = judgement.detail
    if fetched.redirects:
        plural = "s" if fetched.redirects > 1 else ""
        detail = f"{detail} (after {fetched.redirects} redirect{plural}, at {fetched.final_url})"
    return ProbeEvidence(
        probe=probe,
        url=fetched.url,
        status=judgement.status,
        status_code=fetched.status_code,
        content_type=fetched.content_type,
        failure_class=judgement.failure_class,
        detail=detail,
        elapsed_ms=max(0, round((budget.clock() - started) * 1000)),
    )


def _not_run(probe: str, url: str, health: ProbeEvidence) -> ProbeEvidence:
    reason = f"not run: the health request got no answer ({health.failure_class})"
    return ProbeEvidence(probe, url, NOT_RUN, None, "", "", reason, 0)


def _budget_spent(probe: str, url: str, budget: Budget) -> ProbeEvidence:
    return ProbeEvidence(
        probe, url, NOT_RUN, None, "", "", f"not run: the run's {budget.seconds:g} s budget was spent", 0
    )


def _report(
    health: ProbeEvidence, canonical: ProbeEvidence, logo: ProbeEvidence, identity: IdentityReading
) -> ProbeReport:
    return ProbeReport(
        health_status=health.status,
        canonical_status=canonical.status,
        logo_status=logo.status,
        identity_sent=identity.sent,
        identity_value=identity.value,
        identity_unverifiable=identity.unverifiable,
        probes=(health, canonical, logo),
    )


def _is_http_url(url: str) -> bool:
    """Whether ``url`` is something the client can request at all (http or https, with a host)."""
    try:
        parts, parsed = urlsplit(url), httpx.URL(url)
        has_port_or_none = parts.port is None or parts.port >= 0  # .port raises ValueError when not a number
    except (ValueError, httpx.InvalidURL):
        return False
    return has_port_or_none and parsed.scheme in ("http", "https") and bool(parts.hostname)


# ---------------------------------------------------------------------------------------------------
# The run's surroundings: the blocked networks setting and the system resolver
# ---------------------------------------------------------------------------------------------------


def blocked_networks() -> tuple[parsing.IPNetwork, ...]:
    """``VERIFY_BLOCKED_NETWORKS`` parsed; a bad entry raises ValueError rather than being skipped."""
    entries = getattr(settings, "VERIFY_BLOCKED_NETWORKS", parsing.DEFAULT_BLOCKED_NETWORKS)
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address getaddrinfo gives for ``host``, in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def bounded_system_resolver(budget: Budget) -> Resolver:
    """The system resolver, bounded by the budget: getaddrinfo takes no timeout, so it runs in a daemon
    thread and a hung resolver costs the run no more than its remaining time."""

    def resolve(host: str, port: int) -> list[str]:
        result: list[list[str] | BaseException] = []

        def work() -> None:
            try:
                result.append(system_resolver(host, port))
            except BaseException as exc:  # handed to the waiting thread below
                result.append(exc)

        thread = threading.Thread(target=work, name=f"verify-resolve-{host}", daemon=True)
        thread.start()
        thread.join(max(budget.remaining(), 0))
        if not result:
            raise httpx.ConnectTimeout(f"resolving {host} took longer than the run's budget")
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    return resolve
