"""python manage.py create_webhook NAME --url URL [--context …] [--event …] [--format json|slack]"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from notifications.models import WebhookSubscription

pytestmark = pytest.mark.django_db


def create(*args: str) -> list[str]:
    out = StringIO()
    call_command("create_webhook", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_it_creates_a_subscription_and_prints_its_secret_last() -> None:
    lines = create(
        "pager",
        "--url",
        "https://hooks.example.com/lp",
        "--context",
        "cm",
        "--context",
        "acme",
        "--event",
        "state_changed",
    )

    subscription = WebhookSubscription.objects.get(name="pager")
    assert lines[-1] == subscription.secret
    assert lines[-1].startswith("whsec_") and len(lines[-1]) > 40
    assert (subscription.url, subscription.contexts, subscription.events) == (
        "https://hooks.example.com/lp",
        ["acme", "cm"],
        ["state_changed"],
    )
    assert (subscription.format, subscription.is_active) == ("json", True)


def test_without_context_or_event_it_hears_everything_and_slack_is_a_format() -> None:
    create("channel", "--url", "https://hooks.slack.com/services/T/B/X", "--format", "slack")

    subscription = WebhookSubscription.objects.get(name="channel")
    assert (subscription.contexts, subscription.events, subscription.format) == ([], [], "slack")
    assert subscription.wants("freshness_changed", "anything")


@pytest.mark.parametrize(
    "args",
    [
        ["bad", "--url", "ftp://hooks.example.com/"],
        ["bad", "--url", "not a url"],
        ["bad", "--url", "https://hooks.example.com/", "--context", "Not A Slug"],
    ],
)
def test_bad_arguments_are_refused(args) -> None:
    with pytest.raises(CommandError):
        create(*args)
    assert not WebhookSubscription.objects.exists()


def test_a_taken_name_is_refused() -> None:
    create("pager", "--url", "https://hooks.example.com/lp")
    with pytest.raises(CommandError, match="already exists"):
        create("pager", "--url", "https://hooks.example.com/other")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--context", "Not A Slug"], "contexts: Not context slugs: ['Not A Slug']"),
        (["--url", "ftp://hooks.example.com/"], "url: Enter an http or https URL."),
    ],
)
def test_a_refusal_says_what_is_wrong(args, message) -> None:
    with pytest.raises(CommandError) as refused:
        create("bad", "--url", "https://hooks.example.com/", *args)
    assert message in str(refused.value)
    assert "valid JSON" not in str(refused.value)


def test_a_refusal_names_each_problem_once() -> None:
    with pytest.raises(CommandError) as refused:
        create("bad", "--url", "javascript:alert(1)")
    assert str(refused.value).count("Enter a valid URL.") == 1


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data", "http://[::ffff:169.254.169.254]/", "http://0.0.0.0:8000/"]
)
def test_a_url_at_a_blocked_address_is_refused_when_subscribing(url) -> None:
    with pytest.raises(CommandError, match="blocked network"):
        create("metadata", "--url", url)
    assert not WebhookSubscription.objects.exists()


def test_a_loopback_or_named_url_is_not_refused_when_subscribing() -> None:
    create("local", "--url", "http://127.0.0.1:9000/hook")
    create("named", "--url", "https://metadata.example.com/hook")  # names are checked when sending
    assert WebhookSubscription.objects.count() == 2
