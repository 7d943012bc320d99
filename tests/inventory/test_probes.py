"""Launchplane's own probes: pure judgements over bytes, then runs against a fake Odoo runtime.

No test touches the database. Runs that must send nothing use ``httpx.MockTransport`` with a handler
that records every request, and an injected resolver; the rest talk to loopback servers only.
"""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import ssl
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from inventory.choices import CheckStatus
from inventory.probes import BODY_LIMIT, USER_AGENT, ProbeTarget, run_probes
from inventory.probes import parsing as p
from inventory.probes.client import Budget, PinnedTransport
from tests.inventory.fake_runtime import (
    IDENTITY,
    PNG,
    FakeRuntime,
    homepage_html,
    json_response,
    redirect,
    start_server,
)

BASE = "https://odoo.example"


class FakeTime:
    """A monotonic clock and a sleep that only moves it, so backoff is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """A MockTransport handler that records requests and answers like a healthy runtime (or as told)."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return self.answer(request)
        paths = {"/web/health": httpx.Response(200, json={"status": "ok", "runtime_identity": IDENTITY})}
        page = homepage_html(canonical=BASE + "/", logo_href="/web/image/website/1/logo")
        paths["/"] = httpx.Response(200, text=page, headers={"content-type": "text/html"})
        return paths.get(request.url.path, httpx.Response(200, content=PNG, headers={"content-type": "image/png"}))


def mocked(handler: Recorder, *, addresses: list[str] | None = None, base: str = BASE, **target: object):
    resolver = (lambda host, port: list(addresses)) if addresses is not None else None
    return run_probes(ProbeTarget(base, **target), transport=httpx.MockTransport(handler), resolver=resolver)  # type: ignore[arg-type]


def statuses(report) -> tuple[tuple[str, str], ...]:
    return tuple((evidence.status, evidence.failure_class) for evidence in report.probes)


ALL_PASS = (("pass", ""), ("pass", ""), ("pass", ""))

# ---------------------------------------------------------------------------------------------------
# Pure judgements
# ---------------------------------------------------------------------------------------------------


def test_the_probe_statuses_are_spelled_as_check_statuses() -> None:
    assert (p.PASS, p.FAIL, p.NOT_RUN, p.UNKNOWN) == (
        CheckStatus.PASS,
        CheckStatus.FAIL,
        CheckStatus.NOT_RUN,
        CheckStatus.UNKNOWN,
    )


@pytest.mark.parametrize(
    ("status_code", "body", "expected"),
    [
        (200, b'{"status": "pass"}', ("pass", "")),
        (200, b'{"status": "OK"}', ("pass", "")),
        (200, b'{"status": " Healthy "}', ("pass", "")),
        (200, b'{"status": "down"}', ("fail", "payload_status")),
        (200, b'{"status": true}', ("fail", "payload_status")),
        (200, b'{"uptime": 3}', ("pass", "")),
        (200, b"<html>up</html>", ("pass", "")),
        (204, b"", ("pass", "")),
        (200, b"[1, 2]", ("pass", "")),
        (503, b'{"status": "pass"}', ("fail", "http")),
        (404, b"<html>404</html>", ("fail", "http")),
    ],
)
def test_it_judges_a_health_answer(status_code: int, body: bytes, expected: tuple[str, str]) -> None:
    judgement = p.read_health(status_code, "application/json", body).judgement
    assert (judgement.status, judgement.failure_class) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"runtime_identity": IDENTITY}, (True, IDENTITY, False)),
        ({"launchplane_runtime_identity": IDENTITY}, (True, IDENTITY, False)),
        ({"launchplaneRuntimeIdentity": IDENTITY}, (True, IDENTITY, False)),
        ({"LAUNCHPLANE_RUNTIME_IDENTITY_JSON": json.dumps(IDENTITY)}, (True, IDENTITY, False)),
        ({"LAUNCHPLANE_RUNTIME_IDENTITY_JSON": {"a": 1}, "runtime_identity": IDENTITY}, (True, IDENTITY, False)),
        ({"runtime_identity": "not json"}, (True, "not json", False)),
        ({"runtime_identity": "[1]"}, (True, "[1]", False)),
        ({"runtime_identity": [1]}, (True, [1], False)),
        ({"runtime_identity": 7}, (True, 7, False)),
        ({"runtime_identity": None}, (True, None, False)),  # JSON null: missing, as compare_identity reads it
        ({"status": "pass"}, (True, None, False)),
        ([IDENTITY], (True, None, False)),
    ],
)
def test_it_reads_the_runtime_identity_from_the_health_body(body: object, expected: tuple) -> None:
    identity = p.read_health(200, "application/json", json.dumps(body).encode()).identity
    assert (identity.sent, identity.value, identity.unverifiable) == expected


@pytest.mark.parametrize(
    "body", [b"", b"<html>ok</html>", b"{not json", b"[" * 100_000, b"1" * 10_000, b"\xff\xfe\x00"]
)
def test_a_health_body_that_is_not_json_leaves_the_identity_unverifiable(body: bytes) -> None:
    assert p.read_health(200, "text/html", body).identity == p.UNVERIFIABLE


PAGE = "https://odoo.example/"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<link rel="canonical" href="https://odoo.example/"/>', ("pass", "")),
        ("<LINK HREF='https://odoo.example/en/' REL='Canonical'>", ("pass", "")),
        ("<link href=https://odoo.example/shop rel=canonical>", ("pass", "")),
        ('<link rel="alternate canonical" href="https://ODOO.example:443/">', ("pass", "")),
        ('<link rel="canonical" href="//odoo.example/">', ("pass", "")),
        ('<link rel="canonical" href="https://odoo.example/?a=1&amp;b=2">', ("pass", "")),
        ('<link rel="canonical" href="https://staging.odoo.example/">', ("fail", "canonical_missing")),
        ('<link rel="canonical" href="https://odoo.example.evil/">', ("fail", "canonical_missing")),
        ('<link rel="canonical" href="http://odoo.example/">', ("fail", "canonical_missing")),
        ('<link rel="canonical" href="/">', ("fail", "canonical_missing")),
        ('<link rel="canonical">', ("fail", "canonical_missing")),
        ('<link rel="alternate" href="https://odoo.example/fr/">', ("fail", "canonical_missing")),
        (
            '<link rel="canonical" href="https://other.example/"><link rel="canonical" href="https://odoo.example/">',
            ("fail", "canonical_missing"),
        ),
        ("<link rel='canonical' href='https://odoo.example/'><p>PREVIEW-123</p>", ("fail", "stale_preview_marker")),
        ("<p>PREVIEW-123</p>", ("fail", "stale_preview_marker")),
        ("<![if x]><link rel='canonical' href='https://odoo.example/'>", ("pass", "")),
    ],
)
def test_it_judges_the_homepage(head: str, expected: tuple[str, str]) -> None:
    body = f"<!DOCTYPE html><html><head>{head}</head><body></body></html>".encode()
    judgement = p.judge_canonical(200, "text/html", body, base_url=BASE, page_url=PAGE, preview_marker="PREVIEW-123")
    assert (judgement.status, judgement.failure_class) == expected


def test_a_canonical_link_must_sit_under_the_base_path_on_a_segment_boundary() -> None:
    assert p.url_is_under("https://odoo.example/shop/cart", "https://odoo.example/shop")
    assert not p.url_is_under("https://odoo.example/shopping", "https://odoo.example/shop")
    page = b'<link rel="canonical" href="https://odoo.example/">'
    assert p.judge_canonical(500, "text/html", page, base_url=BASE, page_url=PAGE).failure_class == "http"


def test_the_homepage_scanner_survives_arbitrary_bytes() -> None:
    rng = random.Random(7)
    pieces = [b"<", b">", b"<!", b"<![", b"--", b"'", b'"', b"=", b"link", b"rel", b"&#", b"\x00", b"\xff", b" "]
    for _ in range(300):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        p.scan_page("text/html; charset=bogus", body)  # must not raise


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        (
            ['<img src="/web/image/website/3/logo/My%20Company?unique=ab">'],
            f"{BASE}/web/image/website/3/logo/My%20Company?unique=ab",
        ),
        (['<img src="/web/content/website/2/logo">'], f"{BASE}/web/content/website/2/logo"),
        (
            ['<img src="/web/content?field=logo&model=website&id=1">'],
            f"{BASE}/web/content?field=logo&model=website&id=1",
        ),
        (
            ['<img src="https://cdn.example/web/image/website/1/logo">', '<img src="../web/image/website/4/logo">'],
            f"{BASE}/web/image/website/4/logo",
        ),
        (
            ['<a href="/web/image/res.partner/1/avatar">', "<img src='data:image/png;base64,AA'>"],
            f"{BASE}/web/image/website/1/logo",
        ),
        (
            ['<img src="/web/image/website/x/logo">', '<a href="/web/content?model=website&field=name">'],
            f"{BASE}/web/image/website/1/logo",
        ),
    ],
)
def test_it_takes_the_first_same_origin_logo_link_or_falls_back(links: list[str], expected: str) -> None:
    body = "".join(links).encode()
    assert p.logo_url("text/html", body, base_url=BASE, page_url=f"{BASE}/en/") == expected


@pytest.mark.parametrize(
    ("status_code", "content_type", "head", "expected"),
    [
        (200, "image/png", PNG, ("pass", "")),
        (200, "image/svg+xml", b"<svg/>", ("pass", "")),
        (200, "", PNG, ("pass", "")),
        (200, "text/html; charset=utf-8", b"<html></html>", ("fail", "html_404")),
        (404, "text/html", b"<!DOCTYPE html>", ("fail", "html_404")),
        (200, "image/png", b"\n  <!DOCTYPE html><html>", ("fail", "html_404")),
        (404, "image/png", PNG, ("fail", "http")),
        (500, "", b"", ("fail", "http")),
    ],
)
def test_it_judges_a_logo_answer(status_code: int, content_type: str, head: bytes, expected: tuple[str, str]) -> None:
    judgement = p.judge_logo(status_code, content_type, head)
    assert (judgement.status, judgement.failure_class) == expected


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("169.254.169.254", True),
        ("fe80::1", True),
        ("::ffff:169.254.169.254", True),
        ("0.0.0.0", True),
        ("::", True),
        ("not an address", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("2001:db8::1", False),
    ],
)
def test_it_checks_an_address_against_the_blocked_networks(address: str, blocked: bool) -> None:
    networks = tuple(ipaddress.ip_network(network) for network in p.DEFAULT_BLOCKED_NETWORKS)
    assert (p.blocking_network(address, networks) is not None) == blocked


# ---------------------------------------------------------------------------------------------------
# Runs that must send nothing, or whose timing is faked (MockTransport)
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254", "0.0.0.0", "::"])
def test_a_name_resolving_to_a_blocked_address_is_refused_before_anything_is_sent(address: str) -> None:
    handler = Recorder()
    report = mocked(handler, addresses=["203.0.113.10", address])  # any one blocked address refuses the host
    assert handler.requests == []
    assert statuses(report) == (("fail", "blocked_address"), ("not_run", ""), ("not_run", ""))
    assert address in report.probes[0].detail and report.identity_unverifiable and not report.identity_sent


@pytest.mark.parametrize("base", ["http://169.254.169.254", "http://[::ffff:169.254.169.254]:8069", "http://[fe80::1]"])
def test_a_blocked_ip_literal_is_refused_without_resolving(base: str) -> None:
    handler = Recorder()
    report = run_probes(
        ProbeTarget(base), transport=httpx.MockTransport(handler), resolver=lambda h, port: pytest.fail(h)
    )
    assert handler.requests == [] and report.probes[0].failure_class == "blocked_address"


def test_it_sends_to_the_checked_address_with_the_host_header_and_sni_of_the_name() -> None:
    handler = Recorder()
    report = mocked(handler, addresses=["203.0.113.10"])
    assert statuses(report) == ALL_PASS and report.identity_value == IDENTITY
    for request in handler.requests:
        assert request.url.host == "203.0.113.10"
        assert request.headers["host"] == "odoo.example"
        assert request.extensions["sni_hostname"] == "odoo.example"
        assert request.headers["user-agent"] == USER_AGENT
    assert report.probes[1].url == BASE and report.probes[2].url == f"{BASE}/web/image/website/1/logo"


def test_every_redirect_is_resolved_and_checked_again() -> None:
    answers = iter([["203.0.113.10"], ["169.254.169.254"]])  # DNS rebinding between two hops
    handler = Recorder(lambda request: httpx.Response(302, headers={"location": "/web/health/"}))
    report = run_probes(
        ProbeTarget(BASE),
        transport=httpx.MockTransport(handler),
        resolver=lambda host, port: next(answers, ["203.0.113.10"]),
    )
    assert [str(request.url) for request in handler.requests] == ["https://203.0.113.10/web/health"]
    assert report.probes[0].failure_class == "blocked_address"


def test_it_retries_transport_errors_with_backoff() -> None:
    fake, failures = FakeTime(), iter([httpx.ConnectError("refused"), httpx.ConnectError("refused")])

    def flaky(request: httpx.Request) -> httpx.Response:
        error = next(failures, None)
        if error is not None:
            raise error
        return Recorder()(request)

    report = run_probes(
        ProbeTarget(BASE),
        clock=fake,
        sleep=fake.sleep,
        transport=httpx.MockTransport(flaky),
        resolver=lambda h, port: ["203.0.113.10"],
    )
    assert statuses(report) == ALL_PASS and fake.sleeps == [0.2, 0.4]


def test_retries_stop_when_the_budget_leaves_no_room() -> None:
    fake = FakeTime()

    def refuse(request: httpx.Request) -> httpx.Response:
        fake.now += 0.1
        raise httpx.ConnectError("refused")

    report = run_probes(
        ProbeTarget(BASE, timeout_seconds=1),
        clock=fake,
        sleep=fake.sleep,
        transport=httpx.MockTransport(refuse),
        resolver=lambda h, port: ["203.0.113.10"],
    )
    assert fake.sleeps == [0.2, 0.4] and fake.now - 1000 <= 1
    assert statuses(report) == (("fail", "connect"), ("not_run", ""), ("not_run", ""))
    assert "after 3 attempts" in report.probes[0].detail and "health" in report.probes[1].detail


@pytest.mark.parametrize(
    ("error", "failure_class"),
    [
        (httpx.ConnectError("x"), "connect"),
        (httpx.ConnectTimeout("x"), "timeout"),
        (httpx.ReadTimeout("x"), "timeout"),
        (httpx.RemoteProtocolError("x"), "connect"),
    ],
)
def test_it_classifies_transport_errors(error: Exception, failure_class: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    fake = FakeTime()
    report = run_probes(
        ProbeTarget(BASE, timeout_seconds=0.1),
        clock=fake,
        sleep=fake.sleep,
        transport=httpx.MockTransport(fail),
        resolver=lambda h, port: ["203.0.113.10"],
    )
    assert report.probes[0].failure_class == failure_class


def test_a_certificate_failure_is_classified_tls() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("handshake failed") from ssl.SSLCertVerificationError("certificate verify failed")

    fake = FakeTime()
    report = run_probes(
        ProbeTarget(BASE, timeout_seconds=0.1),
        clock=fake,
        sleep=fake.sleep,
        transport=httpx.MockTransport(fail),
        resolver=lambda h, port: ["203.0.113.10"],
    )
    assert statuses(report) == (("fail", "tls"), ("not_run", ""), ("not_run", ""))


def test_a_probe_cut_off_by_the_budget_fails_and_the_rest_are_not_run() -> None:
    fake = FakeTime()

    def slow(request: httpx.Request) -> httpx.Response:
        fake.now += 0.6
        return Recorder()(request)

    report = run_probes(
        ProbeTarget(BASE, timeout_seconds=1),
        clock=fake,
        sleep=fake.sleep,
        transport=httpx.MockTransport(slow),
        resolver=lambda h, port: ["203.0.113.10"],
    )
    assert statuses(report) == (("pass", ""), ("fail", "timeout"), ("not_run", ""))
    assert report.probes[2].detail == "not run: the run's 1 s budget was spent"


def test_a_failing_resolver_is_a_connect_failure_and_a_bad_base_url_sends_nothing() -> None:
    fake, handler = FakeTime(), Recorder()

    def unresolvable(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    report = run_probes(
        ProbeTarget(BASE, timeout_seconds=0.5),
        clock=fake,
        sleep=fake.sleep,
        transport=httpx.MockTransport(handler),
        resolver=unresolvable,
    )
    assert report.probes[0].failure_class == "connect" and "cannot resolve odoo.example" in report.probes[0].detail
    assert statuses(mocked(handler, base="ftp://odoo.example")) == (
        ("fail", "connect"),
        ("not_run", ""),
        ("not_run", ""),
    )
    assert handler.requests == []


def test_the_pinned_transport_refuses_to_resolve_a_name_itself() -> None:
    transport = PinnedTransport(verify_tls=True, budget=Budget(time.monotonic, 5))
    with pytest.raises(httpx.ConnectError, match="refusing to resolve"):
        transport.handle_request(httpx.Request("GET", "http://localhost:9/"))
    transport.close()


# ---------------------------------------------------------------------------------------------------
# Runs against the fake Odoo runtime (loopback)
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_server() -> Iterator[HTTPServer]:
    server = start_server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def other_server() -> Iterator[HTTPServer]:
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def runtime(runtime_server: HTTPServer) -> Iterator[FakeRuntime]:
    fake = FakeRuntime(runtime_server)
    yield fake
    fake.release.set()


def probe(runtime: FakeRuntime, **target: object):
    return run_probes(ProbeTarget(runtime.base_url, **target))  # type: ignore[arg-type]


def test_a_healthy_runtime_passes_every_probe_and_reports_its_identity(runtime: FakeRuntime) -> None:
    report = probe(runtime)
    assert statuses(report) == ALL_PASS
    assert (report.identity_sent, report.identity_value, report.identity_unverifiable) == (True, IDENTITY, False)
    assert runtime.requested_paths() == ["/web/health", "/", "/web/image/website/1/logo"]
    assert {request.headers["User-Agent"] for request, _ in runtime.server.log} == {USER_AGENT}
    assert json.loads(json.dumps([e.as_dict() for e in report.probes]))[0]["status_code"] == 200


@pytest.mark.parametrize(
    ("payload", "identity"),
    [
        (
            {"status": "pass", "runtime_identity": {**IDENTITY, "artifact_id": "sha256:old"}},
            (True, {**IDENTITY, "artifact_id": "sha256:old"}, False),
        ),
        ({"status": "pass"}, (True, None, False)),
        ({"status": "pass", "LAUNCHPLANE_RUNTIME_IDENTITY_JSON": json.dumps(IDENTITY)}, (True, IDENTITY, False)),
    ],
    ids=["wrong identity", "no identity", "identity as a JSON string"],
)
def test_the_identity_comes_back_as_the_runtime_sent_it(runtime: FakeRuntime, payload: dict, identity: tuple) -> None:
    runtime.health(payload)
    report = probe(runtime)
    assert (report.identity_sent, report.identity_value, report.identity_unverifiable) == identity


def test_a_health_answer_that_is_not_json_leaves_the_identity_unverifiable(runtime: FakeRuntime) -> None:
    runtime.routes["/web/health"] = runtime.page("<html>up</html>")
    report = probe(runtime)
    assert report.health_status == "pass" and (report.identity_sent, report.identity_unverifiable) == (False, True)


def test_a_health_payload_saying_down_fails_without_stopping_the_others(runtime: FakeRuntime) -> None:
    runtime.health({"status": "down", "runtime_identity": IDENTITY})
    assert statuses(probe(runtime)) == (("fail", "payload_status"), ("pass", ""), ("pass", ""))


@pytest.mark.parametrize(
    ("html", "failure_class"),
    [
        (homepage_html(canonical=None), "canonical_missing"),
        (homepage_html(canonical="https://www.production.example/"), "canonical_missing"),
        (
            homepage_html(canonical="{base}/", extra="<div class='o_preview_banner'>PREVIEW BUILD</div>"),
            "stale_preview_marker",
        ),
    ],
    ids=["missing canonical", "canonical elsewhere", "preview marker"],
)
def test_the_canonical_probe_fails_on_a_wrong_homepage(runtime: FakeRuntime, html: str, failure_class: str) -> None:
    runtime.homepage(html.replace("{base}", runtime.base_url))
    report = probe(runtime, preview_marker="PREVIEW BUILD")
    assert (report.canonical_status, report.probes[1].failure_class) == ("fail", failure_class)


def test_a_logo_answered_with_an_html_404_fails_html_404(runtime: FakeRuntime) -> None:
    del runtime.routes["/web/image/website/1/logo"]
    report = probe(runtime)
    assert (report.logo_status, report.probes[2].failure_class, report.probes[2].status_code) == (
        "fail",
        "html_404",
        404,
    )


def test_the_logo_is_found_through_the_homepage_link(runtime: FakeRuntime) -> None:
    logo = "/web/image/website/3/logo/My%20Company?unique=5e1"
    runtime.homepage(homepage_html(canonical=runtime.base_url + "/", logo_href=logo))
    runtime.routes["/web/image/website/3/logo/My Company"] = lambda request: Response(PNG, content_type="image/png")
    report = probe(runtime)
    assert report.probes[2].url == runtime.base_url + logo and report.logo_status == "pass"


def test_a_closed_port_fails_connect_within_the_budget() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    started = time.monotonic()
    report = run_probes(ProbeTarget(f"http://127.0.0.1:{port}", timeout_seconds=1))
    assert time.monotonic() - started < 1 + 3
    assert statuses(report) == (("fail", "connect"), ("not_run", ""), ("not_run", ""))
    assert report.identity_unverifiable


def test_a_runtime_slower_than_the_budget_is_cut_off_near_it(runtime: FakeRuntime) -> None:
    runtime.slow("/web/health", seconds=10)
    started = time.monotonic()
    report = probe(runtime, timeout_seconds=1)
    assert time.monotonic() - started < 1 + 3
    assert statuses(report) == (("fail", "timeout"), ("not_run", ""), ("not_run", ""))


def test_a_body_dripping_slower_than_the_deadline_is_cut_at_the_deadline(runtime: FakeRuntime) -> None:
    # httpx's read timeout is fixed per request (2 s here): without PinnedTransport bounding each read by
    # the deadline, the read begun at 1.9 s would wait for the byte at 3.8 s.
    runtime.drip("/web/health", interval=1.9)
    started = time.monotonic()
    report = probe(runtime, timeout_seconds=2)
    assert time.monotonic() - started < 2.9
    assert report.probes[0].failure_class == "timeout"


def test_a_redirect_to_another_origin_is_refused_and_sends_it_nothing(
    runtime: FakeRuntime, other_server: HTTPServer
) -> None:
    other_server.clear()
    elsewhere = f"http://127.0.0.1:{other_server.port}"
    runtime.routes["/web/health"] = redirect(elsewhere + "/web/health")
    runtime.routes["/"] = redirect(elsewhere + "/", 301)
    report = probe(runtime)
    assert other_server.log == []
    assert statuses(report)[:2] == (("fail", "redirect"), ("fail", "redirect")) and report.probes[0].status_code == 302


def test_a_redirect_to_the_metadata_address_is_refused_before_connecting(runtime: FakeRuntime) -> None:
    inner = PinnedTransport(verify_tls=True, budget=Budget(time.monotonic, 5))
    sent: list[httpx.URL] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        return inner.handle_request(request)

    transport = httpx.MockTransport(record)
    runtime.routes["/web/health"] = redirect("http://169.254.169.254/latest/meta-data/")
    report = run_probes(ProbeTarget(runtime.base_url), transport=transport, resolver=lambda h, port: pytest.fail(h))
    assert report.probes[0].failure_class == "redirect" and {url.host for url in sent} == {"127.0.0.1"}


@pytest.mark.parametrize(
    ("routes", "detail"),
    [
        ({"/web/health": "/loop/a", "/loop/a": "/loop/b", "/loop/b": "/loop/a"}, "loop"),
        ({"/web/health": "/r/1", **{f"/r/{n}": f"/r/{n + 1}" for n in range(1, 9)}}, "more than 5"),
    ],
    ids=["loop", "too many"],
)
def test_a_redirect_loop_or_chain_fails_redirect(runtime: FakeRuntime, routes: dict[str, str], detail: str) -> None:
    runtime.routes.update({path: redirect(to) for path, to in routes.items()})
    report = probe(runtime)
    assert report.probes[0].failure_class == "redirect" and detail in report.probes[0].detail
    assert len(runtime.requested_paths()) <= 6 + 2  # at most 6 health hops, then the homepage and the logo


def test_a_same_origin_redirect_is_followed(runtime: FakeRuntime) -> None:
    runtime.routes["/"] = redirect("/en/", 303)
    runtime.routes["/en/"] = runtime.page(homepage_html(canonical=runtime.base_url + "/en/", logo_href=None))
    runtime.routes["/web/health"] = redirect(runtime.base_url + "/web/health/", 301)
    runtime.routes["/web/health/"] = lambda request: json_response({"status": "pass", "runtime_identity": IDENTITY})
    report = probe(runtime)
    assert statuses(report) == ALL_PASS and "after 1 redirect" in report.probes[1].detail


def test_a_64_mib_body_is_cut_at_the_cap(runtime: FakeRuntime) -> None:
    runtime.huge("/web/health", 64 * 1024 * 1024)
    counted = {"bytes": 0}
    inner = PinnedTransport(verify_tls=True, budget=Budget(time.monotonic, 10))

    class Counting(httpx.SyncByteStream):
        def __init__(self, stream: httpx.SyncByteStream) -> None:
            self.stream = stream

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self.stream:
                counted["bytes"] += len(chunk)
                yield chunk

        def close(self) -> None:
            self.stream.close()

    def count(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(response.status_code, headers=response.headers, stream=Counting(response.stream))

    report = run_probes(ProbeTarget(runtime.base_url, timeout_seconds=10), transport=httpx.MockTransport(count))
    assert (report.probes[0].failure_class, report.identity_unverifiable) == ("too_large", True)
    assert counted["bytes"] <= BODY_LIMIT + 64 * 1024 + 2 * 1024  # the cap, one read and the logo's head
    assert runtime.stream_finished.wait(5) and runtime.streamed_bytes < 16 * 1024 * 1024


def test_the_blocked_networks_setting_is_honoured(runtime: FakeRuntime, settings) -> None:
    settings.VERIFY_BLOCKED_NETWORKS = ["127.0.0.0/8"]
    report = probe(runtime)
    assert report.probes[0].failure_class == "blocked_address" and runtime.server.log == []
