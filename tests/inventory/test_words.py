"""The pages' time words are Django's own: ``inventory.presentation.words.timesince`` only binds the
English unit words once instead of translating them lazily on every call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timesince as django
from hypothesis import given
from hypothesis import strategies as st

from inventory.presentation import words
from inventory.templatetags.when import when_html

START = datetime(2000, 1, 1, tzinfo=UTC)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))


@given(moments, moments, st.integers(min_value=1, max_value=3))
def test_timesince_and_timeuntil_say_what_djangos_say(a: datetime, b: datetime, depth: int) -> None:
    assert words.timesince(a, b, depth=depth) == django.timesince(a, b, depth=depth)
    assert words.timeuntil(a, b, depth=depth) == django.timeuntil(a, b, depth=depth)


def test_singular_and_plural_units_are_spelled_out() -> None:
    now = START + timedelta(days=400)
    assert words.timesince(now - timedelta(days=1, hours=1), now) == "1\xa0day, 1\xa0hour"
    assert words.timesince(now - timedelta(days=14, hours=5), now) == "2\xa0weeks"
    assert words.timeuntil(now + timedelta(minutes=3), now) == "3\xa0minutes"


def test_when_marks_up_the_moment_with_its_exact_time() -> None:
    now = START + timedelta(hours=5)
    assert when_html(START, now) == (
        '<time datetime="2000-01-01T00:00:00+00:00" title="2000-01-01 00:00 UTC">5\xa0hours ago</time>'
    )
    assert when_html(now + timedelta(hours=2), now).endswith(">in 2\xa0hours</time>")
    assert when_html(now - timedelta(seconds=20), now).endswith(">just now</time>")
    assert when_html(None, now) == ""
