"""/metrics parses as Prometheus text, its gauges match the board, and it asks for METRICS_TOKEN."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from inventory.models import InventoryTransition
from notifications.models import WebhookDelivery
from tests.factories import deploy, make_environment, subscribe

pytestmark = pytest.mark.django_db


def scrape(http: Client | None = None, **headers: str) -> dict[str, list]:
    response = (http or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family.samples for family in text_string_to_metric_families(response.content.decode())}


def samples(families: dict[str, list], name: str, **labels: str) -> dict[tuple, float]:
    """Samples of ``name`` keyed by their label values (in label order), filtered by ``labels``."""
    found = {}
    for family in families.values():
        for sample in family:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                found[tuple(sample.labels.values())] = sample.value
    return found


@pytest.mark.usefixtures("demo_data")
class TestAgainstTheDemoBoard:
    def board_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        staff = get_user_model().objects.create_user(username="olga", is_staff=True)
        http = Client()
        http.force_login(staff)
        context = http.get("/").context
        return (
            {item["value"]: item["count"] for item in context["state_counts"]},
            {item["value"]: item["count"] for item in context["freshness_counts"]},
        )

    def test_the_gauges_match_the_boards_counts(self) -> None:
        by_state, by_freshness = self.board_counts()
        families = scrape()

        states: dict[str, float] = {}
        for (_context, state), value in samples(families, "launchplane_environments").items():
            states[state] = states.get(state, 0) + value
        freshness: dict[str, float] = {}
        for (_context, value_name), value in samples(families, "launchplane_environments_by_freshness").items():
            freshness[value_name] = freshness.get(value_name, 0) + value

        assert states == by_state
        assert freshness == by_freshness
        assert sum(by_state.values()) > 5  # the demo has every state

    def test_transitions_are_counted_by_cause_and_effect(self) -> None:
        families = scrape()
        expected = {
            (row["cause_type"], row["effect"]): row["n"]
            for row in InventoryTransition.objects.values("cause_type", "effect").annotate(n=Count("pk"))
        }

        assert samples(families, "launchplane_transitions_total") == expected

    def test_every_verified_environment_has_its_last_verified_timestamp(self) -> None:
        from inventory.models import EnvironmentInventory

        families = scrape()
        verified = {
            (i.environment.context, i.environment.instance): i.lkg_verified_at.timestamp()
            for i in EnvironmentInventory.objects.select_related("environment").exclude(lkg_verified_at=None)
        }

        assert samples(families, "launchplane_last_verified_timestamp_seconds") == pytest.approx(verified)


def test_webhook_deliveries_and_verification_runs_are_counted() -> None:
    subscribe()
    deploy(make_environment())
    deploy(make_environment(instance="prod"))
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.first().pk).update(status="failed")

    families = scrape()

    deliveries = samples(families, "launchplane_webhook_deliveries")
    assert deliveries == {("pending",): 1, ("sending",): 0, ("retrying",): 0, ("delivered",): 0, ("failed",): 1}
    assert samples(families, "launchplane_verification_runs_total", effect="advanced") == {("advanced",): 0}
    assert samples(families, "launchplane_environments", context="cm", state="current") == {("cm", "current"): 2}
    assert samples(families, "launchplane_environments", context="cm", state="unknown") == {("cm", "unknown"): 0}
    assert "launchplane_task_queue_oldest_seconds" in families


def test_request_and_database_metrics_are_served_beside_them() -> None:
    Client().get("/healthz")
    families = scrape()

    assert samples(families, "launchplane_http_requests_total", route="healthz", status="200")
    assert "launchplane_http_request_duration_seconds" in families
    assert "launchplane_db_queries" in families


def test_a_metrics_token_is_asked_for_when_set(settings) -> None:
    settings.METRICS_TOKEN = "scrape-me"

    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics")["WWW-Authenticate"] == "Bearer"
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Basic scrape-me").status_code == 401
    assert scrape(HTTP_AUTHORIZATION="Bearer scrape-me")


def test_a_scrape_costs_the_same_queries_for_few_and_many_environments(django_assert_max_num_queries) -> None:
    for number in range(2):
        deploy(make_environment(instance=f"few-{number}"))
    with django_assert_max_num_queries(20) as few:
        scrape()
    for number in range(10):
        deploy(make_environment(context="acme", instance=f"many-{number}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        scrape()


def test_the_monitoring_examples_use_only_series_we_serve() -> None:
    import json
    import re
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
    rules = yaml.safe_load((root / "alerts.yml").read_text())
    dashboard = json.loads((root / "grafana-dashboard.json").read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"launchplane_[a-z_]+", expr)}

    deploy(make_environment())
    Client().get("/healthz")
    served = {sample.name for family in scrape().values() for sample in family}

    assert used and used <= served, sorted(used - served)
