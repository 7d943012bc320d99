"""Webhooks end to end, as production runs them: gunicorn, ``db_worker`` and ``sweep --loop`` as
separate processes on a database of their own (``tests/test_verification_live.py``'s ``launch``), an
automation client talking HTTP, and receivers on loopback (pytest-httpserver). Every wait is bounded.

One scenario, so the stack starts once: three cm subscriptions (json, slack, and a flaky one that
answers 500 first) and changes on cm and on acme.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.notifications.test_rules import documented_receiver
from tests.test_verification_live import launch

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("notifications-live")]

WAIT_SECONDS = 20.0


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def create_and_deploy(http, context: str, instance: str, **settings) -> None:
    created = http.post("/api/v1/environments/", json={"context": context, "instance": instance, **settings})
    assert created.status_code == 201, created.text
    deploy(http, context, instance)


def deploy(http, context: str, instance: str) -> None:
    """A passing deployment whose runtime reports its own identity: the environment is (or stays) current."""
    number = time.monotonic_ns()
    record_id = f"dep-{instance}-{number}"
    stamp = now_iso()
    recorded = http.post(
        "/api/v1/deployments/",
        json={
            "context": context,
            "instance": instance,
            "record_id": record_id,
            "artifact_id": f"artifact-{number}",
            "source_git_ref": "refs/heads/main",
            "deploy_status": "pass",
            "post_deploy_status": "pass",
            "health_status": "pass",
            "started_at": stamp,
            "finished_at": stamp,
            "observed_runtime_identity": {
                "context": context,
                "instance": instance,
                "deployment_record_id": record_id,
                "artifact_id": f"artifact-{number}",
                "source_git_ref": "refs/heads/main",
            },
        },
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["environment"]["state"] == "current"


def wait_until(condition: Callable[[], bool], what: str, logs) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            tails = {path.name: path.read_text()[-2000:] for path in logs.glob("*.log")}
            raise AssertionError(f"{what}: {json.dumps(tails, indent=1)}")
        time.sleep(0.1)


def test_webhooks_are_signed_retried_formatted_and_sent_for_freshness(tmp_path, httpserver) -> None:
    httpserver.expect_request("/json", method="POST").respond_with_data("ok")
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    httpserver.expect_oneshot_request("/flaky", method="POST").respond_with_data("boom", status=500)
    httpserver.expect_request("/flaky", method="POST").respond_with_data("ok")

    with launch(tmp_path, settings={"WEBHOOK_RETRY_BASE_SECONDS": "1", "SITE_URL": "https://lp.example"}) as app:
        # One interpreter for the setup (each manage.py start costs a second or more).
        setup = app.manage(
            "shell",
            "-c",
            "from notifications.models import WebhookSubscription as S; from launchplane.models import ApiClient\n"
            f"print(S.issue('json', url={httpserver.url_for('/json')!r}, contexts=['cm'])[1])\n"
            f"S.issue('slack', url={httpserver.url_for('/slack')!r}, contexts=['cm'], format='slack')\n"
            f"S.issue('flaky', url={httpserver.url_for('/flaky')!r}, contexts=['cm'], events=['state_changed'])\n"
            "print(ApiClient.issue('acme', contexts=['acme'])[1])",
        )
        secret, acme_token = setup.split()[-2:]

        def received(path: str) -> list:
            return [request for request, _response in httpserver.log if request.path == path]

        with app.client() as http:
            started = time.monotonic()
            create_and_deploy(http, "cm", "alpha")  # unrecorded -> current
            wait_until(lambda: len(received("/json")) == 1, "no state_changed delivery for cm/alpha", app.logs)
            assert time.monotonic() - started < 5

            (request,) = received("/json")
            assert request.headers["Launchplane-Event"] == "state_changed"
            assert documented_receiver()(secret, request.headers["Launchplane-Signature"], request.get_data())
            body = json.loads(request.get_data())
            assert body["delivery_id"] == request.headers["Launchplane-Delivery"]
            assert body["environment"]["url"] == "https://lp.example/environments/cm/alpha/"
            assert (body["transition"]["from_state"], body["transition"]["to_state"]) == ("unrecorded", "current")

            deploy(http, "cm", "alpha")  # current -> current: nothing to tell
            http.headers["Authorization"] = f"Bearer {acme_token}"
            create_and_deploy(http, "acme", "beta")  # nobody subscribed to acme
            http.headers["Authorization"] = f"Bearer {app.token}"

            # The flaky receiver answered 500 and got the same delivery again about a second later.
            wait_until(lambda: len(received("/flaky")) >= 2, "the 500 was not retried", app.logs)
            first, second = received("/flaky")[:2]
            assert first.headers["Launchplane-Delivery"] == second.headers["Launchplane-Delivery"]
            assert first.get_data() == second.get_data()

            (slack,) = received("/slack")
            assert json.loads(slack.get_data()) == {"text": json.loads(slack.get_data())["text"]} and json.loads(
                slack.get_data()
            )["text"].startswith("Current cm/alpha — ")

            create_and_deploy(http, "cm", "short", verification_ttl_seconds=2)  # stale two seconds later
            wait_until(
                lambda: any(r.headers["Launchplane-Event"] == "freshness_changed" for r in received("/json")),
                "no freshness_changed for cm/short",
                app.logs,
            )
            time.sleep(1.5)  # three more sweeps: the same crossing is not announced again

        events = [
            (r.headers["Launchplane-Event"], json.loads(r.get_data())["environment"]["instance"])
            for r in received("/json")
        ]
        assert events == [("state_changed", "alpha"), ("state_changed", "short"), ("freshness_changed", "short")]
        fresh = json.loads(received("/json")[-1].get_data())
        assert fresh["environment"]["freshness"] == "stale"
        assert len(received("/slack")) == 3
        assert json.loads(received("/slack")[-1].get_data())["text"].startswith("Stale cm/short — ")
        assert len(received("/flaky")) == 3  # alpha twice (500, then 200), short once: no freshness_changed
