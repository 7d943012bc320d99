"""Who may call the API and what each caller sees: bearer tokens, scopes, read-only clients, staff
sessions, and the command that issues tokens."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from bootstraps.models import BootstrapOperation
from inventory.models import DeploymentRecord, Environment, InventoryTransition
from launchplane.models import ApiClient
from tests.api.conftest import make_caller
from tests.api.support import (
    BOOTSTRAPS,
    DEPLOYMENTS,
    ENVIRONMENTS,
    GET_ENDPOINTS,
    GET_LISTS,
    GETS_BY_ID,
    POST_ENDPOINTS,
    POSTS_BY_ID,
    bootstrap_url,
    cancel_url,
    deployed_env,
    deployment_body,
    deployment_url,
    environment_body,
    environment_url,
    error_of,
    new_key,
    post,
    prepare_get,
    result_body,
    result_url,
)
from tests.factories import start

pytestmark = pytest.mark.django_db


def assert_not_authenticated(response) -> None:
    error_of(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"


# ---------------------------------------------------------------------------------------------------
# 401
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GET_ENDPOINTS)
def test_every_read_without_a_token_answers_401_with_www_authenticate_bearer(anonymous, name) -> None:
    assert_not_authenticated(anonymous.get(prepare_get(name)))


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_every_write_without_a_token_answers_401_with_www_authenticate_bearer(anonymous, name) -> None:
    url, body = POST_ENDPOINTS[name]()

    assert_not_authenticated(post(anonymous, url, body, key=new_key()))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer lp_not-a-token-we-issued",
        "Bearer ",
        "Bearer two words",
        "bearer lp_not-a-token-we-issued",
        "Token lp_not-a-token-we-issued",
        "Basic dXNlcjpwYXNz",
    ],
)
@pytest.mark.parametrize("name", ["environments", "bootstrap"])
def test_a_bad_token_answers_401_with_www_authenticate_bearer(anonymous, header, name) -> None:
    url = prepare_get(name)
    anonymous.credentials(HTTP_AUTHORIZATION=header)

    assert_not_authenticated(anonymous.get(url))


def test_a_bad_token_on_a_write_answers_401_and_writes_nothing(anonymous) -> None:
    deployed_env()
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer lp_not-a-token-we-issued")

    assert_not_authenticated(post(anonymous, DEPLOYMENTS, deployment_body(record_id="dep-2")))
    assert DeploymentRecord.objects.count() == 1


def test_a_revoked_client_answers_401(automation) -> None:
    ApiClient.objects.filter(pk=automation.model.pk).update(is_active=False)

    assert_not_authenticated(automation.http.get(ENVIRONMENTS))


def test_the_right_token_is_accepted_and_the_client_is_stamped_as_used(automation) -> None:
    assert automation.http.get(ENVIRONMENTS).status_code == 200

    assert ApiClient.objects.get(pk=automation.model.pk).last_used_at is not None


# ---------------------------------------------------------------------------------------------------
# 403 for read-only clients
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_a_read_only_client_gets_403_permission_denied_on_every_write(reader, name) -> None:
    url, body = POST_ENDPOINTS[name]()

    error_of(post(reader.http, url, body, key=new_key()), 403, "permission_denied")


@pytest.mark.parametrize("name", GET_ENDPOINTS)
def test_a_read_only_client_reads_every_endpoint(reader, name) -> None:
    assert reader.http.get(prepare_get(name)).status_code == 200


# ---------------------------------------------------------------------------------------------------
# Scope: 403 for a context named outside it, 404 for a record addressed by id outside it
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(POST_ENDPOINTS) - set(POSTS_BY_ID)))
def test_a_write_naming_a_context_outside_the_scope_answers_403(outsider, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    before = (Environment.objects.count(), DeploymentRecord.objects.count(), BootstrapOperation.objects.count())

    error = error_of(post(outsider.http, url, body, key=new_key()), 403, "permission_denied")

    assert "cm" in error["message"]
    assert (Environment.objects.count(), DeploymentRecord.objects.count(), BootstrapOperation.objects.count()) == before


@pytest.mark.parametrize("name", sorted(set(GET_ENDPOINTS) - set(GETS_BY_ID) - set(GET_LISTS)))
def test_a_read_naming_a_context_outside_the_scope_answers_403(outsider, name) -> None:
    error_of(outsider.http.get(prepare_get(name)), 403, "permission_denied")


def test_a_url_naming_an_unknown_environment_outside_the_scope_answers_403_not_404(outsider) -> None:
    error_of(outsider.http.get(environment_url("cm", "nowhere")), 403, "permission_denied")


@pytest.mark.parametrize("name", sorted(GETS_BY_ID))
def test_a_record_read_by_id_outside_the_scope_answers_404_like_an_unknown_one(outsider, name) -> None:
    url = prepare_get(name)
    unknown = deployment_url("dep-nowhere") if name == "deployment" else bootstrap_url("op-nowhere")

    outside = error_of(outsider.http.get(url), 404, "not_found")

    assert outside == error_of(outsider.http.get(unknown), 404, "not_found")


@pytest.mark.parametrize("name", sorted(POSTS_BY_ID))
def test_a_write_to_an_operation_outside_the_scope_answers_404_like_an_unknown_one(outsider, name) -> None:
    url, body = POST_ENDPOINTS[name]()
    unknown = result_url("op-nowhere") if name == "bootstrap-result" else cancel_url("op-nowhere")

    outside = error_of(post(outsider.http, url, body), 404, "not_found")

    assert outside == error_of(post(outsider.http, unknown, body), 404, "not_found")
    assert BootstrapOperation.objects.get().status == "running"


@pytest.fixture
def two_contexts(db) -> dict[str, str]:
    """cm/testing and acme/prod, each with a deployment and a running operation."""
    return {
        "cm": start(deployed_env("cm", "testing", "dep-cm")).operation_id,
        "acme": start(deployed_env("acme", "prod", "dep-acme")).operation_id,
    }


def listed(http) -> dict[str, set[str]]:
    return {
        "environments": {row["context"] for row in http.get(ENVIRONMENTS).json()["results"]},
        "deployments": {row["record_id"] for row in http.get(DEPLOYMENTS).json()["results"]},
        "bootstraps": {row["context"] for row in http.get(BOOTSTRAPS).json()["results"]},
    }


def test_lists_show_only_what_is_in_the_clients_scope(automation, outsider, two_contexts) -> None:
    assert listed(automation.http) == {"environments": {"cm"}, "deployments": {"dep-cm"}, "bootstraps": {"cm"}}
    assert listed(outsider.http) == {"environments": {"acme"}, "deployments": {"dep-acme"}, "bootstraps": {"acme"}}


@pytest.mark.parametrize("url", [ENVIRONMENTS, DEPLOYMENTS, BOOTSTRAPS])
def test_a_list_url_naming_a_context_outside_the_scope_answers_403(outsider, two_contexts, url) -> None:
    error = error_of(outsider.http.get(url, {"context": "cm"}), 403, "permission_denied")

    assert "cm" in error["message"]


@pytest.mark.parametrize("url", [ENVIRONMENTS, DEPLOYMENTS, BOOTSTRAPS])
def test_a_list_filtered_by_a_context_in_scope_shows_only_that_context(outsider, two_contexts, url) -> None:
    response = outsider.http.get(url, {"context": "acme"})

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_client_scoped_to_several_contexts_sees_and_writes_each(two_contexts) -> None:
    both = make_caller("ci-both", ["cm", "acme"])

    assert listed(both.http)["environments"] == {"cm", "acme"}
    assert both.http.get(bootstrap_url(two_contexts["acme"])).status_code == 200
    assert post(both.http, ENVIRONMENTS, environment_body("acme", "testing")).status_code == 201
    assert post(both.http, ENVIRONMENTS, environment_body("other", "testing")).status_code == 403


# ---------------------------------------------------------------------------------------------------
# create_api_client
# ---------------------------------------------------------------------------------------------------


def create_api_client(*args: str) -> tuple[str, str]:
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    text = out.getvalue()
    return text, text.strip().splitlines()[-1]


def bearer(token: str) -> APIClient:
    http = APIClient()
    http.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return http


def test_create_api_client_prints_a_token_as_its_last_line_that_works(db) -> None:
    deployed_env()
    text, token = create_api_client("deploy-driver", "--context", "cm")

    http = bearer(token)

    assert http.get(environment_url()).status_code == 200
    assert post(http, DEPLOYMENTS, deployment_body(record_id="dep-2")).status_code == 201
    client = ApiClient.objects.get(name="deploy-driver")
    assert client.contexts == ["cm"] and client.read_only is False
    assert token not in text.strip().splitlines()[0]  # shown once, on its own line


def test_create_api_client_scopes_the_token_to_every_context_given(db) -> None:
    _text, token = create_api_client("multi", "--context", "cm", "--context", "acme")

    http = bearer(token)

    assert post(http, ENVIRONMENTS, environment_body("cm", "testing")).status_code == 201
    assert post(http, ENVIRONMENTS, environment_body("acme", "testing")).status_code == 201
    error_of(post(http, ENVIRONMENTS, environment_body("other", "testing")), 403, "permission_denied")


def test_create_api_client_read_only_issues_a_token_that_reads_but_cannot_write(db) -> None:
    deployed_env()
    _text, token = create_api_client("dashboard", "--context", "cm", "--read-only")

    http = bearer(token)

    assert http.get(environment_url()).status_code == 200
    error_of(post(http, ENVIRONMENTS, environment_body("cm", "prod")), 403, "permission_denied")


@pytest.mark.parametrize(
    "args",
    [
        ("bad-context", "--context", "CM"),
        ("dup", "--context", "cm"),
        ("no-context",),
    ],
    ids=["bad-context", "taken-name", "no-context"],
)
def test_create_api_client_refuses_a_bad_context_or_a_taken_name(db, args) -> None:
    ApiClient.issue("dup", contexts=["cm"])

    with pytest.raises(CommandError):
        call_command("create_api_client", *args, stdout=StringIO())


# ---------------------------------------------------------------------------------------------------
# Staff sessions (the browsable API)
# ---------------------------------------------------------------------------------------------------


def test_a_superuser_session_reads_and_writes_every_context(superuser_session) -> None:
    operation = start(deployed_env("acme", "prod", "dep-acme"))

    assert superuser_session.get(environment_url("acme", "prod")).status_code == 200
    assert post(superuser_session, ENVIRONMENTS, environment_body("cm", "testing")).status_code == 201
    response = post(superuser_session, cancel_url(operation.operation_id), {"reason": "operator stopped it"})
    assert response.status_code == 200
    assert BootstrapOperation.objects.get().status == "cancelled"
    assert InventoryTransition.objects.get(cause_type="cancel").actor == "user:olga"


def test_a_superuser_session_write_is_attributed_to_the_user(superuser_session) -> None:
    deployed_env()

    response = post(
        superuser_session, BOOTSTRAPS, {"context": "cm", "instance": "testing", "data_source": "empty"}, key="k"
    )

    assert response.json()["requested_by"] == "user:olga"


@pytest.mark.parametrize("name", GET_ENDPOINTS)
def test_a_staff_session_without_superuser_reads_every_endpoint(staff_session, name) -> None:
    assert staff_session.get(prepare_get(name)).status_code == 200


@pytest.mark.parametrize("name", POST_ENDPOINTS)
def test_a_staff_session_without_superuser_cannot_write(staff_session, name) -> None:
    url, body = POST_ENDPOINTS[name]()

    error_of(post(staff_session, url, body, key=new_key()), 403, "permission_denied")


def test_a_logged_in_user_who_is_not_staff_is_refused(db) -> None:
    user = get_user_model().objects.create_user(username="visitor")
    http = APIClient()
    http.force_login(user)

    error_of(http.get(ENVIRONMENTS), 403, "permission_denied")


def test_a_result_by_a_read_only_client_leaves_the_operation_running(reader) -> None:
    operation = start(deployed_env())

    error_of(post(reader.http, result_url(operation.operation_id), result_body()), 403, "permission_denied")

    assert BootstrapOperation.objects.get().status == "running"
