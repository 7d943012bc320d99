"""Guard: how many SQL statements each write and each page costs (issue 11).

A write's budget is what it costs today: a change that makes one cost more fails here, with the
statements listed, so the cost is a decision rather than an accident. Savepoints are left out of the
count (the test's own transaction turns every ``atomic`` into one); data statements are what a request
sends to the database. Pages and lists cost the same whatever the number of environments.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import DeploymentRecord, InventoryTransition
from launchplane.models import IdempotencyKey
from tests.api.support import CREATED, ENVIRONMENTS, POST_ENDPOINTS, new_key, post

pytestmark = pytest.mark.django_db

# Data statements per write over HTTP, with an Idempotency-Key. A deployment's eight: authentication,
# the key's claim, the environment looked up with its inventory row locked (environment_to_write: the
# lock the service takes first), the inventory read under it (with what the read model nests: the answer
# needs no read of its own, and an overdue operation shows there, so rule 9 costs no query unless one
# is), the record, the inventory, the transition and the key's completion (plus BEGIN and COMMIT around
# the work). A one-shot inserts its operation once, finished. A write that changes ``state`` also asks
# for the webhook subscriptions that want to hear of it (notifications' outbox). docs/performance.md
# lists them.
WRITE_BUDGETS = {
    "environments": 6,
    "deployments": 8,
    "observations": 8,
    "bootstrap-start": 9,
    "bootstrap-one-shot": 8,
    "bootstrap-result": 13,
    "bootstrap-cancel": 14,
}


def data_statements(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
    ]


@pytest.mark.parametrize("name", sorted(POST_ENDPOINTS))
def test_a_write_costs_no_more_statements_than_its_budget(automation, name: str) -> None:
    url, body = POST_ENDPOINTS[name]()
    automation.http.get(ENVIRONMENTS)  # the client's first request stamps it as used (once a minute)
    with CaptureQueriesContext(connection) as captured:
        response = post(automation.http, url, body, key=new_key())
    assert response.status_code == CREATED.get(name, 201), response.json()
    statements = data_statements(captured)
    listing = "\n".join(f"  {sql[:150]}" for sql in statements)
    assert len(statements) <= WRITE_BUDGETS[name], f"{name}: {len(statements)} statements\n{listing}"


@pytest.mark.django_db(transaction=True)  # the request's transaction is the outermost, as when serving
@pytest.mark.parametrize("name", ["deployments", "observations", "bootstrap-start", "bootstrap-one-shot"])
def test_an_idempotent_write_opens_no_savepoint_inside_its_all_or_nothing_transaction(automation, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    with CaptureQueriesContext(connection) as captured:
        response = post(automation.http, url, body, key=new_key())
    assert response.status_code == CREATED.get(name, 201), response.json()
    savepoints = [query["sql"] for query in captured.captured_queries if "SAVEPOINT" in query["sql"].upper()]
    assert savepoints == []


@pytest.mark.django_db(transaction=True)
def test_a_refused_write_inside_the_request_transaction_leaves_nothing_and_the_next_one_works(automation) -> None:
    url, body = POST_ENDPOINTS["deployments"]()
    first = post(automation.http, url, body, key=new_key())
    assert first.status_code == 201, first.json()
    counts = (DeploymentRecord.objects.count(), InventoryTransition.objects.count())

    reused = post(automation.http, url, body, key=new_key())  # the same record_id: the unique index refuses it

    assert reused.status_code == 409 and reused.json()["error"]["code"] == "conflict", reused.json()
    assert (DeploymentRecord.objects.count(), InventoryTransition.objects.count()) == counts
    assert not IdempotencyKey.objects.filter(state=IdempotencyKey.State.IN_FLIGHT).exists()
    again = post(automation.http, url, {**body, "record_id": "dep-after-the-refusal"}, key=new_key())
    assert again.status_code == 201, again.json()
