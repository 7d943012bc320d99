"""The default transport under ``ProbeClient``: httpcore with every socket operation bounded by one
deadline (``Budget``), connecting to IP literals only (the client pins the address it checked).
Shared by verification probes and webhook deliveries."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx


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
        if not is_ip(host):
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


def is_ip(host: str) -> bool:
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
