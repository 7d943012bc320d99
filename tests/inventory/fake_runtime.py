"""A fake Odoo runtime for the verification probes: a loopback pytest-httpserver whose routes tests reshape.

It answers like a healthy Odoo website out of the box (``/web/health`` with a runtime identity, a
homepage with a canonical link and a logo link, a PNG logo); each test replaces the routes it is about.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

Handler = Callable[[Request], Response]

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
IDENTITY = {
    "context": "cm",
    "instance": "prod",
    "deployment_record_id": "dep-42",
    "artifact_id": "sha256:abc",
    "source_git_ref": "refs/tags/v42",
}
NOT_FOUND_HTML = "<!DOCTYPE html><html><head><title>404 | Page not found</title></head><body>404</body></html>"


def start_server() -> HTTPServer:
    """A threaded loopback server: a handler that sleeps must not hold up the next request or test."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    return server


def homepage_html(*, canonical: str | None, logo_href: str | None = None, extra: str = "") -> str:
    canonical_tag = f'<link rel="canonical" href="{canonical}"/>' if canonical is not None else ""
    logo_tag = f'<img src="{logo_href}" alt="Logo of My Company"/>' if logo_href is not None else ""
    return (
        "<!DOCTYPE html><html lang='en-US'><head><meta charset='utf-8'/><title>Home | My Company</title>"
        f"{canonical_tag}<link rel='stylesheet' href='/web/assets/1/web.assets_frontend.min.css'/></head>"
        f"<body><header><a href='/' class='navbar-brand logo'>{logo_tag}</a></header>{extra}</body></html>"
    )


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def redirect(location: str, status: int = 302) -> Handler:
    return lambda request: Response("", status=status, headers={"Location": location})


class FakeRuntime:
    """Routes by exact path; anything else answers Odoo's HTML 404 page."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.release = threading.Event()  # set at teardown, so a sleeping handler returns at once
        self.streamed_bytes = 0
        self.stream_finished = threading.Event()
        self.routes: dict[str, Handler] = {}
        self.reset()
        server.clear()
        server.expect_request(re.compile(r"^/")).respond_with_handler(self._dispatch)

    @property
    def base_url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def reset(self) -> None:
        self.routes = {
            "/web/health": lambda request: json_response({"status": "pass", "runtime_identity": IDENTITY}),
            "/": self.page(homepage_html(canonical=self.base_url + "/", logo_href="/web/image/website/1/logo")),
            "/web/image/website/1/logo": lambda request: Response(PNG, content_type="image/png"),
        }

    def page(self, html: str, status: int = 200) -> Handler:
        return lambda request: Response(html, status=status, content_type="text/html; charset=utf-8")

    def health(self, payload: Any, status: int = 200) -> None:
        self.routes["/web/health"] = lambda request: json_response(payload, status)

    def homepage(self, html: str) -> None:
        self.routes["/"] = self.page(html)

    def slow(self, path: str, seconds: float) -> None:
        """``path`` answers only after ``seconds`` (or at teardown, whichever is first)."""

        def handler(request: Request) -> Response:
            self.release.wait(seconds)
            return json_response({"status": "pass"})

        self.routes[path] = handler

    def huge(self, path: str, size: int, chunk: int = 64 * 1024) -> None:
        """``path`` streams ``size`` bytes of JSON-looking filler, counting what it managed to hand over."""

        def body() -> Iterator[bytes]:
            try:
                block = b" " * chunk
                for _ in range(size // chunk):
                    if self.release.is_set():
                        return
                    self.streamed_bytes += chunk
                    yield block
            finally:
                self.stream_finished.set()

        self.routes[path] = lambda request: Response(body(), content_type="application/json", direct_passthrough=True)

    def drip(self, path: str, interval: float) -> None:
        """``path`` answers at once, then sends its body one byte every ``interval`` seconds."""

        def body() -> Iterator[bytes]:
            yield b""  # werkzeug sends the status line and headers with the first item
            while not self.release.wait(interval):
                yield b" "

        self.routes[path] = lambda request: Response(body(), content_type="application/json", direct_passthrough=True)

    def requested_paths(self) -> list[str]:
        return [request.path for request, _ in self.server.log]

    def _dispatch(self, request: Request) -> Response:
        handler = self.routes.get(request.path)
        if handler is None:
            return Response(NOT_FOUND_HTML, status=404, content_type="text/html; charset=utf-8")
        return handler(request)
