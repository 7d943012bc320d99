"""The pure parts of a delivery: signature (checked by the receiver code docs/operations.md gives),
retry schedule, Slack line, excerpts. No database."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from notifications import rules
from tests.factories import T0

ROOT = Path(__file__).resolve().parents[2]


def documented_receiver():
    """``verify_launchplane_signature`` exactly as docs/operations.md prints it."""
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("### Verifying signatures", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "docs/operations.md lost its receiver example"
    namespace: dict = {}
    exec(compile(code.group(1), "docs/operations.md", "exec"), namespace)
    return namespace["verify_launchplane_signature"]


def test_the_documented_receiver_accepts_our_signature_and_refuses_tampering() -> None:
    verify = documented_receiver()
    body = b'{"event":"state_changed","environment":{"context":"cm","instance":"prod"}}'
    now = int(time.time())
    header = rules.signature_header("whsec_secret", now, body)

    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert verify("whsec_secret", header, body)
    assert not verify("whsec_other", header, body)
    assert not verify("whsec_secret", header, body + b" ")
    assert not verify("whsec_secret", rules.signature_header("whsec_secret", now - 3600, body), body)  # replayed
    assert not verify("whsec_secret", "v1=abc", body)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_keyed_with_the_secrets_utf8_bytes() -> None:
    import hashlib
    import hmac

    expected = hmac.new("sécret".encode(), b"1700000000.{}", hashlib.sha256).hexdigest()
    assert rules.signature_header("sécret", 1700000000, b"{}") == f"t=1700000000,v1={expected}"


def test_retries_start_at_the_base_and_double_up_to_an_hour() -> None:
    delays = [rules.retry_delay(attempt, 10).total_seconds() for attempt in range(1, 12)]

    assert delays == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]


def test_retries_stop_after_24_hours_with_one_last_attempt_at_the_mark() -> None:
    created = T0
    first = rules.next_attempt_at(attempts=1, created_at=created, now=created, base_seconds=10)
    near_the_end = created + timedelta(hours=23, minutes=50)
    last = rules.next_attempt_at(attempts=20, created_at=created, now=near_the_end, base_seconds=10)

    assert first == created + timedelta(seconds=10)
    assert last == created + timedelta(hours=24)
    assert (
        rules.next_attempt_at(attempts=21, created_at=created, now=created + timedelta(hours=24), base_seconds=10)
        is None
    )


def test_a_whole_day_of_failures_makes_a_bounded_number_of_attempts() -> None:
    created, now, attempts = T0, T0, 1
    while (retry := rules.next_attempt_at(attempts=attempts, created_at=created, now=now, base_seconds=10)) is not None:
        now, attempts = retry, attempts + 1
    assert now == created + timedelta(hours=24)
    assert 25 <= attempts <= 40


@pytest.mark.parametrize(
    ("status", "failure", "delivered"),
    [
        (200, "", True),
        (204, "", True),
        (299, "", True),
        (302, "redirect", False),
        (404, "", False),
        (500, "", False),
        (None, "connect", False),
        (None, "blocked_address", False),
    ],
)
def test_only_a_2xx_answer_is_a_delivery(status, failure, delivered) -> None:
    assert rules.is_delivered(status, failure) is delivered


def test_an_excerpt_is_one_short_line_or_the_reason_there_was_no_answer() -> None:
    assert rules.excerpt(b"  Internal\n\nServer   Error \xff") == "Internal Server Error \ufffd"
    assert len(rules.excerpt(b"x" * 10_000)) == rules.EXCERPT_CHARS
    assert rules.excerpt(b"ignored", detail="refused before connecting") == "refused before connecting"


def test_a_slack_line_has_the_badge_word_environment_reason_and_link() -> None:
    payload = {
        "environment": {
            "context": "cm",
            "instance": "prod",
            "state": "stale_inventory",
            "state_reason": "The runtime reports another artifact.",
            "freshness": "verified",
            "url": "https://lp.example/environments/cm/prod/",
        }
    }
    body = rules.slack_body("state_changed", payload, state_labels={"stale_inventory": "stale inventory"})

    assert body == {
        "text": "Stale inventory cm/prod — The runtime reports another artifact https://lp.example/environments/cm/prod/"
    }
    fresh = rules.slack_body(
        "freshness_changed",
        {**payload, "environment": {**payload["environment"], "freshness": "stale"}},
        state_labels={"stale_inventory": "stale inventory"},
    )
    assert fresh["text"].startswith("Stale cm/prod — not verified within its TTL")
    assert fresh["text"].endswith("https://lp.example/environments/cm/prod/")


def test_an_excerpt_drops_nul_and_control_characters() -> None:
    assert rules.excerpt(b"a\x00b\x01c\x1b[0m\x7fd\te") == "a b c [0m d e"
    assert rules.excerpt(b"", detail="not sent:\x00 why") == "not sent: why"


def test_a_slack_line_escapes_what_slack_would_read_as_markup() -> None:
    """A reason carries client-supplied text (an artifact id): it must not ping @channel or hide a link."""
    payload = {
        "environment": {
            "context": "cm",
            "instance": "prod",
            "state": "unverified",
            "state_reason": "Deployment of <!channel> <https://evil.example|log in> & more.",
            "url": "https://lp.example/environments/cm/prod/",
        }
    }
    text = rules.slack_body("state_changed", payload, state_labels={})["text"]

    assert text == (
        "Unverified cm/prod — Deployment of &lt;!channel&gt; &lt;https://evil.example|log in&gt; &amp; more "
        "https://lp.example/environments/cm/prod/"
    )
