"""What came back, judged: pure functions over (status code, content type, body bytes) and resolved addresses.

Nothing here touches a network, a clock or the ORM, so every branch is tested with plain bytes. The
client (``client.py``) decides how much was read; these functions decide what it means.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

# Check statuses, spelled as inventory.choices.CheckStatus spells them (a test keeps them equal); the
# probes do not import inventory.choices, which would pull Django's model machinery into a library.
PASS = "pass"
FAIL = "fail"
NOT_RUN = "not_run"
UNKNOWN = "unknown"

PROBES = ("health", "canonical", "logo")

# Failure classes recorded in evidence (PRODUCT.md, "Verification: Launchplane's own probes").
HTTP = "http"
PAYLOAD_STATUS = "payload_status"
STALE_PREVIEW_MARKER = "stale_preview_marker"
CANONICAL_MISSING = "canonical_missing"
HTML_404 = "html_404"
LOGO_UNAVAILABLE = "logo_unavailable"
TOO_LARGE = "too_large"
REDIRECT = "redirect"
CONNECT = "connect"
TIMEOUT = "timeout"
TLS = "tls"
BLOCKED_ADDRESS = "blocked_address"
# The request got no HTTP answer at all: nothing about the page can be judged.
NO_ANSWER = frozenset({CONNECT, TIMEOUT, TLS, BLOCKED_ADDRESS})

# VERIFY_BLOCKED_NETWORKS' default: link-local (cloud metadata lives there) and the unspecified addresses.
DEFAULT_BLOCKED_NETWORKS = ("169.254.0.0/16", "fe80::/10", "0.0.0.0/32", "::/128")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

HEALTHY_STATUSES = frozenset({"pass", "ok", "healthy"})
IDENTITY_KEYS = (
    "runtime_identity",
    "launchplane_runtime_identity",
    "launchplaneRuntimeIdentity",
    "LAUNCHPLANE_RUNTIME_IDENTITY_JSON",
)
FALLBACK_LOGO_PATH = "/web/image/website/1/logo"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# /web/image/website/<id>/logo and /web/content/website/<id>/logo, optionally followed by Odoo's
# /<name> or /<size> segments; the query (?unique=…) does not matter.
_LOGO_PATH = re.compile(r"/web/(?:image|content)/website/\d+/logo(?:/.*)?")
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


@dataclass(frozen=True)
class Judgement:
    """One probe's verdict: a check status, its failure class ("" on pass) and a sentence."""

    status: str
    failure_class: str = ""
    detail: str = ""

    @classmethod
    def passed(cls, detail: str) -> Judgement:
        return cls(PASS, "", detail)

    @classmethod
    def failed(cls, failure_class: str, detail: str) -> Judgement:
        return cls(FAIL, failure_class, detail)


@dataclass(frozen=True)
class IdentityReading:
    """The runtime identity as the health body reported it, shaped like ``inventory.rules.IdentityInput``.

    Absent keys: ``sent=True, value=None`` (missing). An object: ``value`` is the dict. Anything else
    under the key: ``value`` is that value (malformed). No JSON to read: ``unverifiable=True``.
    """

    sent: bool
    value: Any = None
    unverifiable: bool = False


UNVERIFIABLE = IdentityReading(sent=False, value=None, unverifiable=True)
MISSING = IdentityReading(sent=True, value=None)


@dataclass(frozen=True)
class HealthReading:
    judgement: Judgement
    identity: IdentityReading


@dataclass(frozen=True)
class PageScan:
    """What the homepage offers: its decoded text, canonical hrefs and every href/src, in document order."""

    text: str
    canonical_hrefs: tuple[str, ...] = ()
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fetched:
    """One GET after redirects. ``failure_class`` is set when no judgeable answer came back: a
    transport class (``connect``/``timeout``/``tls``), ``blocked_address`` or ``redirect``."""

    url: str
    final_url: str
    status_code: int | None = None
    content_type: str = ""
    body: bytes = b""
    truncated: bool = False  # the body was longer than the read limit; ``body`` holds its start
    failure_class: str = ""
    detail: str = ""
    redirects: int = 0


_NOT_JSON = object()


def is_success(status_code: int) -> bool:
    return 200 <= status_code <= 299


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def parse_json(body: bytes | str) -> Any:
    """The body as JSON, or ``_NOT_JSON``. Hostile bodies (deep nesting, huge numbers) are not JSON."""
    if not body.strip():
        return _NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _NOT_JSON


# ---------------------------------------------------------------------------------------------------
# addresses (what the resolver gave back)
# ---------------------------------------------------------------------------------------------------


def blocking_network(address: str, networks: Iterable[IPNetwork]) -> str | None:
    """Why ``address`` may not be connected to, or None. An IPv4-mapped IPv6 address
    (``::ffff:169.254.169.254``) reaches the IPv4 host, so it is checked as that host too; an address
    that cannot be parsed cannot be checked and is refused."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "cannot be checked"
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    for network in networks:
        if any(candidate.version == network.version and candidate in network for candidate in candidates):
            return f"is in the blocked network {network}"
    return None


# ---------------------------------------------------------------------------------------------------
# health
# ---------------------------------------------------------------------------------------------------


def read_identity(payload: Any) -> IdentityReading:
    """Rule 5's input from a parsed health body: the first identity key present wins.

    A string under the key is parsed as JSON: a string holding an object is that object; any other
    string stays the string (malformed). JSON ``null`` under the key reads as missing, which is how
    ``compare_identity`` treats ``sent=True, value=None``.
    """
    if payload is _NOT_JSON:
        return UNVERIFIABLE
    if not isinstance(payload, dict):
        return MISSING  # JSON, but nothing keyed to look in
    for key in IDENTITY_KEYS:
        if key not in payload:
            continue
        value = payload[key]
        if isinstance(value, str):
            decoded = parse_json(value)
            if isinstance(decoded, dict):
                return IdentityReading(sent=True, value=decoded)
        return IdentityReading(sent=True, value=value)
    return MISSING


def read_health(status_code: int, content_type: str, body: bytes) -> HealthReading:
    """Judge a complete health answer and read the identity from its body.

    The identity is read whatever the status code: a 503 that still names its build says which build
    is failing.
    """
    payload = parse_json(body)
    identity = read_identity(payload)
    if not is_success(status_code):
        return HealthReading(Judgement.failed(HTTP, f"answered {status_code}"), identity)
    if isinstance(payload, dict) and "status" in payload:
        said = payload["status"]
        if isinstance(said, str) and said.strip().lower() in HEALTHY_STATUSES:
            return HealthReading(Judgement.passed(f"answered {status_code} with status {said!r}"), identity)
        return HealthReading(
            Judgement.failed(PAYLOAD_STATUS, f"answered {status_code} but its status is {_clip(said)}"), identity
        )
    shape = "a JSON object without status" if isinstance(payload, dict) else "a body that is not a JSON object"
    return HealthReading(Judgement.passed(f"answered {status_code} with {shape}"), identity)


# ---------------------------------------------------------------------------------------------------
# canonical
# ---------------------------------------------------------------------------------------------------


class _PageScanner(HTMLParser):
    """Collects canonical links and every href/src. html.parser lowercases tag and attribute names and
    unescapes values, so quoting, case and attribute order do not matter."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.canonical_hrefs: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values: dict[str, str] = {}
        for name, value in attrs:
            values.setdefault(name, value or "")  # the first of duplicated attributes wins, as in browsers
        if tag == "link" and "canonical" in values.get("rel", "").lower().split() and values.get("href"):
            self.canonical_hrefs.append(values["href"].strip())
        for name in ("href", "src"):
            if values.get(name):
                self.links.append(values[name].strip())


def decode_text(content_type: str, body: bytes) -> str:
    """The body as text: the declared charset when Python knows it, else UTF-8; never raises."""
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    if match:
        try:
            return body.decode(match.group(1), errors="replace")
        except LookupError:
            pass
    return body.decode("utf-8", errors="replace")


def scan_page(content_type: str, body: bytes) -> PageScan:
    text = decode_text(content_type, body)
    scanner = _PageScanner()
    try:
        scanner.feed(text)
        scanner.close()
    except AssertionError:  # _markupbase still asserts on some malformed declarations; keep what was seen
        pass
    return PageScan(text=text, canonical_hrefs=tuple(scanner.canonical_hrefs), links=tuple(scanner.links))


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the port made explicit, so http://h and http://h:80 are one origin."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number names no origin we would talk to
        return (scheme, "", -1)
    return (scheme, (parts.hostname or "").lower(), port if port is not None else DEFAULT_PORTS.get(scheme))


def same_origin(url: str, other: str) -> bool:
    return origin_of(url) == origin_of(other) and bool(origin_of(url)[1])


def url_is_under(candidate: str, base_url: str) -> bool:
    """Whether ``candidate`` "starts with" ``base_url``: same origin, and base_url's path is a whole-segment
    prefix of its path (so https://shop.example does not vouch for https://shop.example.evil)."""
    if not same_origin(candidate, base_url):
        return False
    base_path = urlsplit(base_url).path.rstrip("/")
    path = urlsplit(candidate).path
    return not base_path or path == base_path or path.startswith(base_path + "/")


def judge_canonical(
    status_code: int, content_type: str, body: bytes, *, base_url: str, page_url: str, preview_marker: str = ""
) -> Judgement:
    """Judge the homepage: an error status, then a stale preview marker, then the canonical link.

    A relative canonical href is not accepted: the check exists to prove the runtime names its own
    public address (Odoo's ``web.base.url``), and a relative link names none. A protocol-relative one
    (``//host/…``) takes the page's scheme.
    """
    if not is_success(status_code):
        return Judgement.failed(HTTP, f"answered {status_code}")
    page = scan_page(content_type, body)
    if preview_marker and preview_marker in page.text:
        return Judgement.failed(STALE_PREVIEW_MARKER, f"the page still contains the preview marker {preview_marker!r}")
    if not page.canonical_hrefs:
        return Judgement.failed(CANONICAL_MISSING, 'the page has no <link rel="canonical" href=…>')
    href = page.canonical_hrefs[0]
    if href.startswith("//"):
        href = f"{urlsplit(page_url).scheme}:{href}"
    if not urlsplit(href).scheme:
        return Judgement.failed(CANONICAL_MISSING, f"the canonical link {_clip(href)} is relative")
    if not url_is_under(href, base_url):
        return Judgement.failed(CANONICAL_MISSING, f"the canonical link {_clip(href)} is not under {base_url}")
    return Judgement.passed(f"canonical link {_clip(href)}")


# ---------------------------------------------------------------------------------------------------
# logo
# ---------------------------------------------------------------------------------------------------


def is_logo_url(url: str, base_url: str) -> bool:
    """Whether ``url`` (absolute) is one of Odoo's website logo routes at base_url's origin."""
    if not same_origin(url, base_url):
        return False
    parts = urlsplit(url)
    path = parts.path
    base_path = urlsplit(base_url).path.rstrip("/")
    if base_path and path.startswith(base_path + "/"):
        path = path[len(base_path) :]  # a runtime served under a prefix links its logo under it too
    if _LOGO_PATH.fullmatch(path):
        return True
    query = parse_qs(parts.query)
    return path == "/web/content" and query.get("model") == ["website"] and query.get("field") == ["logo"]


def find_logo_candidates(links: Sequence[str], *, base_url: str, page_url: str) -> list[str]:
    """Same-origin logo links, resolved against the page they were found on, in document order."""
    found: list[str] = []
    for link in links:
        if link.lower().startswith(("data:", "javascript:", "mailto:")):
            continue
        try:
            absolute = urljoin(page_url, link)
        except ValueError:  # e.g. an invalid IPv6 literal in an href
            continue
        if is_logo_url(absolute, base_url) and absolute not in found:
            found.append(absolute)
    return found


def logo_url(content_type: str, body: bytes, *, base_url: str, page_url: str) -> str:
    """The logo URL to probe: the homepage's first candidate, else the fallback under base_url."""
    candidates = find_logo_candidates(scan_page(content_type, body).links, base_url=base_url, page_url=page_url)
    return candidates[0] if candidates else fallback_logo_url(base_url)


def fallback_logo_url(base_url: str) -> str:
    return base_url.rstrip("/") + FALLBACK_LOGO_PATH


def looks_like_html(content_type: str, head: bytes) -> bool:
    """HTML by its declared type, or by its first bytes whatever the label says (a placeholder page
    served as image/png is still not a logo)."""
    if media_type(content_type) in HTML_TYPES:
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith(_HTML_STARTS)


def judge_logo(status_code: int, content_type: str, head: bytes) -> Judgement:
    """Judge a logo answer from its status, content type and first bytes (the rest is never read)."""
    if looks_like_html(content_type, head):
        return Judgement.failed(HTML_404, f"answered {status_code} with an HTML page instead of an image")
    if not is_success(status_code):
        return Judgement.failed(HTTP, f"answered {status_code}")
    return Judgement.passed(f"answered {status_code} with {media_type(content_type) or 'no content type'}")


def _clip(value: object, limit: int = 120) -> str:
    """A runtime-supplied value for a detail sentence: repr'd and cut short, so evidence stays small."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
