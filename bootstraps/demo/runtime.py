"""The demo runtime: a stand-in Odoo for each demo environment, so that its probes tell its story.

``make run`` serves it (``DEMO_RUNTIME=1``) under ``/demo-runtime/<context>/<instance>/``, where the demo
environments' ``base_url`` points (``seed_demo --runtime-base``). For each demo environment it answers
the three probes (docs/verification.md) as ``Demo.runtime`` says, reading the identity from the database
(the environment's current deployment, ``current_identity``); ``bootstraps.demo.scenarios`` has the
story-by-story table.

- ``web/health``: JSON ``{"status": …, "runtime_identity": {…}}``.
- the homepage: a page with ``<link rel="canonical">`` and a link to the logo.
- ``web/image/website/<id>/logo``: a tiny PNG (or the HTML 404 a runtime without its filestore serves).

Never in production: ``launchplane/urls.py`` mounts these URLs only when ``settings.DEMO_RUNTIME`` is on,
and every view answers 404 when it is off. No login (the prober is anonymous), GET and HEAD only, and
nothing but the demo environments (``DEMOS``) is answered for: any other name is a 404.
"""

from __future__ import annotations

import struct
import zlib

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from bootstraps.demo.scenarios import DEMOS_BY_LABEL
from bootstraps.demo.steps import SELF, Demo, current_identity
from inventory.models import Environment

app_name = "demo-runtime"


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour (8-bit RGB, no interlace): enough of a logo for the probe, made without Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))  # filter byte 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


LOGO_PNG = solid_png(16, 16, (0x2B, 0x6C, 0xB0))

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
{head}</head>
<body>
{body}
</body>
</html>
"""


def _page(title: str, head: str, body: str, status: int = 200) -> HttpResponse:
    return _intended(
        HttpResponse(PAGE.format(title=title, head=head, body=body), status=status, content_type="text/html")
    )


def _intended(response: HttpResponse) -> HttpResponse:
    """A 5xx the story asks for is not a server error: keep django.request from logging it as one (the
    flag its ``log_response`` checks), so ``make run``'s output shows only real errors."""
    if response.status_code >= 500:
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _demo(context: str, instance: str) -> tuple[Demo, Environment]:
    """The demo and its environment, or 404: only demo environments that were seeded are answered for."""
    if not settings.DEMO_RUNTIME:
        raise Http404("The demo runtime is off.")
    demo = DEMOS_BY_LABEL.get(f"{context}/{instance}")
    environment = Environment.objects.filter(context=context, instance=instance).first()
    if demo is None or environment is None:
        raise Http404("Not a demo environment.")
    return demo, environment


def _down(demo: Demo) -> HttpResponse | None:
    """The error page every URL answers while the runtime is down (``Runtime.status_code`` not 2xx)."""
    runtime = demo.runtime
    if 200 <= runtime.status_code <= 299:
        return None
    return _page(
        f"{runtime.status_code} {runtime.health_status}",
        "",
        format_html("<h1>{} is {}</h1><p>{}</p>", demo.label, runtime.health_status, runtime.finds),
        status=runtime.status_code,
    )


@require_safe
@never_cache
def health(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    """``status`` and, as a deployment would inject it, the runtime identity (even while down: a failing
    runtime still names the build that is failing)."""
    demo, environment = _demo(context, instance)
    runtime = demo.runtime
    body: dict[str, object] = {"status": runtime.health_status}
    if runtime.identity:
        identity = current_identity(environment, **runtime.identity_overrides)
        if identity.sent:
            body["runtime_identity"] = identity.value
    return _intended(JsonResponse(body, status=runtime.status_code))


@require_safe
@never_cache
def home(request: HttpRequest, context: str, instance: str) -> HttpResponse:
    """The homepage: the canonical link the story gives it and the logo's link."""
    demo, environment = _demo(context, instance)
    down = _down(demo)
    if down is not None:
        return down
    runtime = demo.runtime
    head = ""
    canonical = _canonical_base(demo, environment)
    if canonical:
        head = format_html('<link rel="canonical" href="{}/">\n', canonical.rstrip("/"))
    logo = reverse("demo-runtime:logo", kwargs={"context": context, "instance": instance, "website": 1})
    body = format_html(
        '<header><img src="{}" alt="{} logo" width="16" height="16"> <strong>{}</strong></header>\n'
        "<h1>{}</h1>\n<p>The Launchplane demo runtime answers for {} as its story says. A verification run "
        "finds: {}.</p>",
        logo,
        demo.label,
        demo.label,
        demo.label,
        demo.label,
        runtime.finds,
    )
    return _page(f"{demo.label} (Launchplane demo runtime)", head, body)


def _canonical_base(demo: Demo, environment: Environment) -> str:
    """The address the homepage names as canonical: its own ``base_url``, another demo's, or none."""
    name = demo.runtime.canonical
    if not name:
        return ""
    if name == SELF:
        return environment.base_url
    other_context, other_instance = name.split("/")
    other = Environment.objects.filter(context=other_context, instance=other_instance).first()
    return other.base_url if other is not None else ""


@require_safe
@never_cache
def logo(request: HttpRequest, context: str, instance: str, website: int) -> HttpResponse:
    """The website logo: a PNG, or an HTML 404 page where the story has no filestore behind it."""
    demo, _environment = _demo(context, instance)
    down = _down(demo)
    if down is not None:
        return down
    if not demo.runtime.logo:
        return _page("404 Not Found", "", "<h1>404: Page not found</h1>", status=404)
    return HttpResponse(LOGO_PNG, content_type="image/png")


urlpatterns = [
    path("<slug:context>/<slug:instance>", home, name="home"),
    path("<slug:context>/<slug:instance>/", home),
    path("<slug:context>/<slug:instance>/web/health", health, name="health"),
    path("<slug:context>/<slug:instance>/web/image/website/<int:website>/logo", logo, name="logo"),
]
