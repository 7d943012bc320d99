"""The notification settings' system checks."""

from __future__ import annotations

import pytest

from notifications.checks import check_notification_deployment, check_notification_settings


def ids(messages) -> set[str]:
    return {message.id for message in messages}


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"SITE_URL": "launchplane.example.com"}, "notifications.E001"),
        ({"SITE_URL": "ftp://launchplane.example.com"}, "notifications.E001"),
        ({"SITE_URL": "https://launchplane.example.com/?x=1"}, "notifications.E001"),
        ({"WEBHOOK_RETRY_BASE_SECONDS": 0}, "notifications.E002"),
    ],
)
def test_wrong_notification_settings_fail_the_checks(settings, overrides, check_id) -> None:
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert check_id in ids(check_notification_settings(None))


def test_the_default_settings_pass(settings) -> None:
    assert check_notification_settings(None) == []


def test_a_deployment_is_warned_about_the_default_site_url_and_an_open_metrics(settings) -> None:
    settings.DEBUG = False
    assert ids(check_notification_deployment(None)) == {"notifications.W001", "notifications.W002"}

    settings.SITE_URL, settings.METRICS_TOKEN = "https://launchplane.example.com", "scrape-me"
    assert check_notification_deployment(None) == []
