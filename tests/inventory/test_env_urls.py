"""``{% env_url %}`` writes exactly the URLs ``reverse()`` writes, for every route that takes an
environment's pair, whatever the script prefix."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import clear_script_prefix, reverse, set_script_prefix
from hypothesis import given
from hypothesis import strategies as st

from inventory.templatetags.env_urls import env_url

ROUTES = [
    "inventory:environment",
    "inventory:verify",
    "inventory:take",
    "inventory:release",
    "inventory:acknowledge",
    "bootstraps:reconcile",
]
SLUGS = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,62}", fullmatch=True)


@given(context=SLUGS, instance=SLUGS)
def test_each_route_is_what_reverse_writes(context: str, instance: str) -> None:
    for name in ROUTES:
        assert env_url(name, context, instance) == reverse(name, args=[context, instance])


@pytest.mark.parametrize("prefix", ["/", "/launchplane/", "/ops/lp/"])
def test_under_a_script_prefix_too(prefix: str) -> None:
    set_script_prefix(prefix)
    try:
        for name in ROUTES:
            assert env_url(name, "cm", "prod") == reverse(name, args=["cm", "prod"])
            assert env_url(name, "cm", "prod").startswith(prefix)
    finally:
        clear_script_prefix()


def test_the_tag_writes_the_url_tag_s_url() -> None:
    class Env:
        context, instance = "cm", "testing-2"

    ours = Template('{% load env_urls %}{% env_url "inventory:take" env %}').render(Context({"env": Env()}))
    django = Template('{% url "inventory:take" env.context env.instance %}').render(Context({"env": Env()}))
    assert ours == django == "/environments/cm/testing-2/take/"
