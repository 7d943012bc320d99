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

from tests.api.support import CREATED, ENVIRONMENTS, POST_ENDPOINTS, new_key, post

pytestmark = pytest.mark.django_db

# Data statements per write over HTTP, with an Idempotency-Key. A deployment's eleven: authentication,
# the key's claim, the environment, the overdue check, the row lock, the current deployment, the record,
# the inventory, the transition, the answer's read model and the key's completion (plus BEGIN and COMMIT
# around the work). A write that changes ``state`` also asks for the webhook subscriptions that want to
# hear of it (notifications' outbox). docs/performance.md lists them.
WRITE_BUDGETS = {
    "environments": 6,
    "deployments": 11,
    "observations": 11,
    "bootstrap-start": 12,
    "bootstrap-one-shot": 12,
    "bootstrap-result": 14,
    "bootstrap-cancel": 15,
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
