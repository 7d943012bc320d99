"""``{% env_url "inventory:take" env %}``: the URL of an environment's page or action, exactly as
``{% url "inventory:take" env.context env.instance %}`` writes it.

The review queue writes five or six such URLs per row (the page, acknowledge, re-verify, take,
release, reconcile) and Django's ``reverse()`` walks the URL resolver for each: 250 a page, a quarter of
the page's time. Every one of these routes takes the environment's two slugs and nothing else, so each is
reversed once (per route name, script prefix and URLconf) with placeholder slugs, and a row's URL is that
pattern with the row's slugs put in their places, quoted as ``reverse()`` quotes them.
``tests/inventory/test_env_urls.py`` proves the URLs equal ``reverse()``'s.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

# Slugs themselves (the routes' <slug:> converters accept them), and never parts of a route's own text.
CONTEXT_MARK = "lp0context0mark"
INSTANCE_MARK = "lp0instance0mark"
SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted in an argument (RFC 3986 sub-delims and /~:@)


@lru_cache(maxsize=128)
def _pattern(name: str, prefix: str, urlconf: str | None) -> tuple[str, str, str]:
    url = reverse(name, args=[CONTEXT_MARK, INSTANCE_MARK], urlconf=urlconf)
    before, rest = url.split(CONTEXT_MARK)
    middle, after = rest.split(INSTANCE_MARK)
    return before, middle, after


def env_url(name: str, context: str, instance: str) -> str:
    """``reverse(name, args=[context, instance])`` for a route that takes an environment's pair."""
    before, middle, after = _pattern(name, get_script_prefix(), get_urlconf())
    return f"{before}{quote(context, safe=SAFE)}{middle}{quote(instance, safe=SAFE)}{after}"


@register.simple_tag(name="env_url")
def env_url_tag(name: str, environment) -> str:
    return env_url(name, environment.context, environment.instance)
