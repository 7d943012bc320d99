"""The outbound side of a verification run (and of a webhook delivery): one HTTP client, one budget,
addresses checked before connecting.

Outbound HTTP is hostile territory (STYLE.md): an API client chooses ``base_url``, so every request is
resolved and checked against ``VERIFY_BLOCKED_NETWORKS`` first, sent to the address that was checked,
bounded in time by the run's budget and in size by ``BODY_LIMIT``, and never follows a redirect to
another origin.

How the checked address is the one connected to (closing the DNS-rebinding gap): ``ProbeClient``
resolves the host itself, refuses the request if *any* address is blocked, and then rewrites the URL
to the checked IP literal while keeping ``Host: <name>`` and, for https, the ``sni_hostname``
extension (httpcore uses it for SNI and for certificate hostname checks). The transport therefore
never resolves a name; ``PinnedTransport`` enforces that by refusing to connect to anything but an IP
literal (``inventory/probes/transport.py``). Doing the check above the transport also means a test's ``httpx.MockTransport`` sees exactly
what would have gone on the wire, and sees nothing for a refused address.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import NamedTuple

import httpx

from inventory.probes.parsing import (
    BLOCKED_ADDRESS,
    CONNECT,
    REDIRECT,
    TIMEOUT,
    TLS,
    Fetched,
    IPNetwork,
    blocking_network,
    origin_of,
)
from inventory.probes.transport import Budget, PinnedTransport, is_ip

__all__ = ["BODY_LIMIT", "MAX_REDIRECTS", "USER_AGENT", "Budget", "PinnedTransport", "ProbeClient", "Resolver"]

USER_AGENT = "Launchplane-Verify/1"
BODY_LIMIT = 512 * 1024
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
BACKOFF_FIRST_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 5.0
# A retry is only worth making when this much budget remains after its backoff.
MIN_ATTEMPT_SECONDS = 0.05

Resolver = Callable[[str, int], list[str]]


def classify(exc: BaseException) -> str:
    """``tls`` when an SSL error lies anywhere in the cause chain, else ``timeout`` or ``connect``."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, ssl.SSLError):
            return TLS
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return TIMEOUT if isinstance(exc, httpx.TimeoutException) else CONNECT


class _Answer(NamedTuple):
    status_code: int
    headers: httpx.Headers
    body: bytes
    truncated: bool


class _NoAnswer(Exception):
    """A hop that produced no answer: refused before sending, or out of retries."""

    def __init__(self, failure_class: str, detail: str) -> None:
        super().__init__(detail)
        self.failure_class = failure_class


class ProbeClient:
    """One ``httpx.Client`` for one run. ``get`` follows same-origin redirects by hand, checks and pins
    the address of every hop, retries transport errors with backoff while the budget allows, and
    reads at most ``read_limit`` bytes of the final body."""

    def __init__(
        self,
        *,
        budget: Budget,
        sleep: Callable[[float], None],
        verify_tls: bool = True,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver,
        networks: tuple[IPNetwork, ...],
        user_agent: str = USER_AGENT,
    ) -> None:
        self._budget = budget
        self._sleep = sleep
        self._resolver = resolver
        self._networks = networks
        # trust_env=False: proxy variables would route probes around the address check, and .netrc
        # would hand credentials to whatever base_url an API client chose. Accept-Encoding identity:
        # a body is read raw and never inflated, so a compressed bomb stays 512 KiB of noise.
        self._client = httpx.Client(
            transport=transport or PinnedTransport(verify_tls=verify_tls, budget=budget),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, *, read_limit: int = BODY_LIMIT) -> Fetched:
        current, redirects = httpx.URL(url), 0
        origin = origin_of(str(current))  # httpx's spelling (punycode), as every Location is compared in
        seen = {str(current)}
        while True:
            here = str(current)
            try:
                answer = self._hop(current, read_limit)
            except _NoAnswer as exc:
                return Fetched(url, here, failure_class=exc.failure_class, detail=str(exc), redirects=redirects)
            status, content_type = answer.status_code, answer.headers.get("content-type", "")
            location = answer.headers.get("location")
            if status not in REDIRECT_STATUSES or location is None:
                return Fetched(url, here, status, content_type, answer.body, answer.truncated, redirects=redirects)
            target, problem = _redirect_target(current, location, origin, seen, redirects)
            if problem:
                return Fetched(
                    url, here, status, content_type, failure_class=REDIRECT, detail=problem, redirects=redirects
                )
            seen.add(str(target))
            current, redirects = target, redirects + 1

    def post(self, url: str, *, content: bytes, headers: dict[str, str], read_limit: int = BODY_LIMIT) -> Fetched:
        """One POST, sent once (no retry: the caller owns retries) and never redirected: a redirect
        answer comes back as it is, with ``failure_class`` ``redirect``. The address check and pinning
        are the same as ``get``'s (webhook deliveries use this)."""
        target = httpx.URL(url)
        try:
            answer = self._hop(target, read_limit, method="POST", content=content, headers=headers, retry=False)
        except _NoAnswer as exc:
            return Fetched(url, url, failure_class=exc.failure_class, detail=str(exc))
        status, content_type = answer.status_code, answer.headers.get("content-type", "")
        if 300 <= status < 400:
            location = answer.headers.get("location", "")
            detail = f"redirect to {location[:200]!r} not followed" if location else "redirect not followed"
            return Fetched(url, url, status, content_type, answer.body, answer.truncated, REDIRECT, detail)
        return Fetched(url, url, status, content_type, answer.body, answer.truncated)

    def _hop(
        self,
        url: httpx.URL,
        read_limit: int,
        *,
        method: str = "GET",
        content: bytes = b"",
        headers: dict[str, str] | None = None,
        retry: bool = True,
    ) -> _Answer:
        """One request: check the host's addresses, try each in turn (an equal share of the remaining
        budget to connect, so an unreachable IPv6 address cannot eat an IPv4 one's time), and back off
        0.2 s, 0.4 s, … between rounds while the budget leaves room for another attempt (``retry``)."""
        attempts, delay = 0, BACKOFF_FIRST_SECONDS
        while True:
            attempts += 1
            try:
                addresses = self._checked_addresses(url)
                for index, address in enumerate(addresses):
                    try:
                        share = self._budget.remaining() / (len(addresses) - index)
                        return self._exchange(
                            url,
                            address,
                            read_limit,
                            connect_seconds=share,
                            method=method,
                            content=content,
                            headers=headers,
                        )
                    except (httpx.ConnectError, httpx.ConnectTimeout):
                        if index == len(addresses) - 1:
                            raise
            except httpx.TransportError as exc:
                failure: httpx.TransportError = exc
            if not retry or self._budget.remaining() <= delay + MIN_ATTEMPT_SECONDS:
                kind = classify(failure)
                tries = f" after {attempts} attempts" if attempts > 1 else ""
                raise _NoAnswer(kind, f"{_describe(kind, self._budget)}{tries}: {failure}".rstrip(": "))
            self._sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    def _checked_addresses(self, url: httpx.URL) -> list[str]:
        """The host's addresses, refused if *any* is blocked: a name that resolves to both a public and a
        metadata address is not probed at all. A refusal is final (``_NoAnswer``), never retried."""
        host = url.raw_host.decode("ascii")
        if is_ip(host):
            addresses = [host]  # an IP literal is checked as it stands
        else:
            port = url.port or (443 if url.scheme == "https" else 80)
            try:
                addresses = self._resolver(host, port)
            except (OSError, UnicodeError) as exc:  # gaierror is an OSError; idna refusals are UnicodeErrors
                raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpx.ConnectError(f"{host} resolved to no address")
        for address in addresses:
            reason = blocking_network(address, self._networks)
            if reason:
                named = "" if address == host else f" (for {host})"
                raise _NoAnswer(BLOCKED_ADDRESS, f"refused before connecting: {address}{named} {reason}")
        return addresses

    def _exchange(
        self,
        url: httpx.URL,
        address: str,
        read_limit: int,
        *,
        connect_seconds: float,
        method: str = "GET",
        content: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> _Answer:
        remaining = self._budget.remaining()
        if remaining <= 0:
            raise httpx.ConnectTimeout("the run's budget is spent")
        host = url.raw_host.decode("ascii")
        # TLS still names, and verifies the certificate of, the host we were asked for.
        extensions = {"sni_hostname": host} if url.scheme == "https" and address != host else {}
        request = self._client.build_request(
            method,
            url.copy_with(host=address),
            headers={**(headers or {}), "Host": url.netloc.decode("ascii")},
            content=content or None,
            extensions=extensions,
            timeout=httpx.Timeout(
                connect=min(connect_seconds, remaining), read=remaining, write=remaining, pool=remaining
            ),
        )
        response = self._client.send(request, stream=True)
        try:
            if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                return _Answer(response.status_code, response.headers, b"", False)  # a redirect's body is never read
            buffer = bytearray()
            # A transport that already read the body (httpx.MockTransport) leaves it in memory.
            for chunk in [response.content] if response.is_stream_consumed else response.iter_raw():
                buffer += chunk
                if len(buffer) > read_limit:
                    return _Answer(response.status_code, response.headers, bytes(buffer[:read_limit]), True)
                if self._budget.spent():  # for transports that, unlike PinnedTransport, ignore the deadline
                    raise httpx.ReadTimeout("the run's budget was spent while reading the body")
            return _Answer(response.status_code, response.headers, bytes(buffer), False)
        finally:
            response.close()


def _redirect_target(
    current: httpx.URL, location: str, origin: tuple[str, str, int | None], seen: set[str], redirects: int
) -> tuple[httpx.URL, str]:
    """Where a redirect leads, and why it may not be followed ("" when it may)."""
    try:
        target = current.join(location)
    except httpx.InvalidURL:
        return current, f"redirect to an invalid location {location[:200]!r} refused"
    if origin_of(str(target)) != origin:
        return target, f"redirect to another origin ({str(target)[:200]}) refused"
    if str(target) in seen:
        return target, f"redirect loop back to {target}"
    if redirects >= MAX_REDIRECTS:
        return target, f"more than {MAX_REDIRECTS} redirects"
    return target, ""


def _describe(kind: str, budget: Budget) -> str:
    if kind == TIMEOUT:
        return f"no answer within the run's {budget.seconds:g} s budget"
    return {TLS: "TLS failed", CONNECT: "could not connect"}[kind]
