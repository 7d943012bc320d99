"""The outbound side of a verification run: one HTTP client, one budget, addresses checked before connecting.

Outbound HTTP is hostile territory (STYLE.md): an API client chooses ``base_url``, so every request is
resolved and checked against ``VERIFY_BLOCKED_NETWORKS`` first, sent to the address that was checked,
bounded in time by the run's budget and in size by ``BODY_LIMIT``, and never follows a redirect to
another origin.

How the checked address is the one connected to (closing the DNS-rebinding gap): ``ProbeClient``
resolves the host itself, refuses the request if *any* address is blocked, and then rewrites the URL
to the checked IP literal while keeping ``Host: <name>`` and, for https, the ``sni_hostname``
extension (httpcore uses it for SNI and for certificate hostname checks). The transport therefore
never resolves a name; ``PinnedTransport`` enforces that by refusing to connect to anything but an IP
literal. Doing the check above the transport also means a test's ``httpx.MockTransport`` sees exactly
what would have gone on the wire, and sees nothing for a refused address.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import httpcore
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

USER_AGENT = "Launchplane-Verify/1"
BODY_LIMIT = 512 * 1024
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
BACKOFF_FIRST_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 5.0
# A retry is only worth making when this much budget remains after its backoff.
MIN_ATTEMPT_SECONDS = 0.05

Resolver = Callable[[str, int], list[str]]


class Budget:
    """The run's time budget, read from an injected clock (seconds, monotonic)."""

    def __init__(self, clock: Callable[[], float], seconds: float) -> None:
        self.clock = clock
        self.seconds = float(seconds)
        self.deadline = clock() + self.seconds

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def spent(self) -> bool:
        return self.remaining() <= 0


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
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
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

    def _hop(self, url: httpx.URL, read_limit: int) -> _Answer:
        """One request: check the host's addresses, try each in turn (an equal share of the remaining
        budget to connect, so an unreachable IPv6 address cannot eat an IPv4 one's time), and back off
        0.2 s, 0.4 s, … between rounds while the budget leaves room for another attempt."""
        attempts, delay = 0, BACKOFF_FIRST_SECONDS
        while True:
            attempts += 1
            try:
                addresses = self._checked_addresses(url)
                for index, address in enumerate(addresses):
                    try:
                        share = self._budget.remaining() / (len(addresses) - index)
                        return self._exchange(url, address, read_limit, connect_seconds=share)
                    except (httpx.ConnectError, httpx.ConnectTimeout):
                        if index == len(addresses) - 1:
                            raise
            except httpx.TransportError as exc:
                failure: httpx.TransportError = exc
            if self._budget.remaining() <= delay + MIN_ATTEMPT_SECONDS:
                kind = classify(failure)
                tries = f" after {attempts} attempts" if attempts > 1 else ""
                raise _NoAnswer(kind, f"{_describe(kind, self._budget)}{tries}: {failure}".rstrip(": "))
            self._sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    def _checked_addresses(self, url: httpx.URL) -> list[str]:
        """The host's addresses, refused if *any* is blocked: a name that resolves to both a public and a
        metadata address is not probed at all. A refusal is final (``_NoAnswer``), never retried."""
        host = url.raw_host.decode("ascii")
        if _is_ip(host):
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

    def _exchange(self, url: httpx.URL, address: str, read_limit: int, *, connect_seconds: float) -> _Answer:
        remaining = self._budget.remaining()
        if remaining <= 0:
            raise httpx.ConnectTimeout("the run's budget is spent")
        host = url.raw_host.decode("ascii")
        # TLS still names, and verifies the certificate of, the host we were asked for.
        extensions = {"sni_hostname": host} if url.scheme == "https" and address != host else {}
        request = self._client.build_request(
            "GET",
            url.copy_with(host=address),
            headers={"Host": url.netloc.decode("ascii")},
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


# ---------------------------------------------------------------------------------------------------
# The default transport: httpcore with every socket operation bounded by the run's deadline
# ---------------------------------------------------------------------------------------------------


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's errors as httpx's: the two libraries name their transport errors alike."""
    try:
        yield
    except (
        httpcore.TimeoutException,
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.UnsupportedProtocol,
    ) as exc:
        mapped: type[httpx.TransportError] = getattr(httpx, type(exc).__name__, httpx.TransportError)
        raise mapped(str(exc)) from exc


class PinnedTransport(httpx.BaseTransport):
    """HTTP/1.1 over httpcore, like httpx.HTTPTransport, with two differences that make the budget and
    the address check hold: it connects only to IP literals (``ProbeClient`` pins the checked address,
    so a name here would mean an unchecked one), and each connect, TLS handshake, read and write waits
    at most until the run's deadline. httpx's own timeouts are fixed per request, so without the second
    a server dripping one byte just inside each read timeout could hold a run for many budgets."""

    def __init__(self, *, verify_tls: bool, budget: Budget) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify_tls),
            http1=True,
            http2=False,
            retries=0,  # ProbeClient retries, inside the budget
            network_backend=_DeadlineBackend(budget),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            core_response = self._pool.handle_request(core_request)
        assert isinstance(core_response.stream, Iterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        getattr(self._stream, "close", lambda: None)()


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if not _is_ip(host):
            raise httpcore.ConnectError(f"refusing to resolve {host!r}: probes connect to checked addresses only")
        seconds = _until_deadline(self._budget, timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, seconds, local_address, socket_options)
        return _DeadlineStream(stream, self._budget)

    # connect_unix_socket and sleep keep NetworkBackend's NotImplementedError: nothing here uses them.


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, budget: Budget) -> None:
        self._inner = inner
        self._budget = budget

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _until_deadline(self._budget, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _until_deadline(self._budget, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        seconds = _until_deadline(self._budget, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, seconds), self._budget)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _until_deadline(budget: Budget, timeout: float | None, error: type[httpcore.TimeoutException]) -> float:
    remaining = budget.remaining()
    if remaining <= 0:
        raise error("the run's budget is spent")
    return remaining if timeout is None else min(timeout, remaining)
