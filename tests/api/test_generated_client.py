"""A client generated from /api/v1/schema/ by openapi-python-client, with no hand edits, drives the API
the way a client team would: create an environment, record a deployment, one-shot a bootstrap, read the
environment and its history back, and read a 409 through the typed error model. A schema change that
breaks generated clients fails here.

The document is fetched from a live server with a token, the client is generated into a temporary folder
(``post_hooks: []``: no formatter needed) and imported from there; everything stays on loopback.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from launchplane.api.plumbing import ClientRateThrottle
from launchplane.models import ApiClient

PACKAGE = "launchplane_client"
CONFIG = f"project_name_override: launchplane-client\npackage_name_override: {PACKAGE}\npost_hooks: []\n"


def generate_client(schema_url: str, token: str, folder: Path) -> None:
    """Fetch the document as a client would and generate a client package from it under ``folder``."""
    answer = httpx.get(schema_url, params={"format": "json"}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text[:500]
    (folder / "openapi.json").write_bytes(answer.content)
    (folder / "config.yaml").write_text(CONFIG)
    command = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(folder / "openapi.json"),
        "--output-path",
        str(folder / "client"),
        "--config",
        str(folder / "config.yaml"),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    # openapi-python-client reports schemas it could not turn into code, and leaves them out, but exits 0.
    assert "Unable to" not in output and "Warning" not in output, output


@pytest.fixture
def generated(live_server, tmp_path, monkeypatch) -> Iterator[tuple[ModuleType, str, str]]:
    """The generated package, a read-write token scoped to ``cm`` and the server's URL."""
    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "1000000/minute"})
    _, token = ApiClient.issue("generated-client", contexts=["cm"])
    generate_client(f"{live_server.url}/api/v1/schema/", token, tmp_path)
    sys.path.insert(0, str(tmp_path / "client"))
    try:
        yield importlib.import_module(PACKAGE), token, live_server.url
    finally:
        sys.path.remove(str(tmp_path / "client"))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def submodule(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.{name}")


@pytest.mark.slow
def test_a_generated_client_records_and_reads_an_environment_typed(generated):
    package, token, url = generated
    models = submodule(package, "models")
    api = {name: submodule(package, f"api.{name}") for name in ("environments", "deployments", "bootstraps")}

    def endpoint(group: str, name: str) -> ModuleType:
        return submodule(api[group], name)

    client = package.AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)
    with client:
        created = endpoint("environments", "environments_create").sync(
            client=client,
            body=models.EnvironmentCreateRequest(
                context="cm", instance="generated", required_checks=[models.RequiredChecksEnum.HEALTH]
            ),
            idempotency_key="generated-env-1",
        )
        assert isinstance(created, models.Environment), created
        assert (created.context, created.instance, created.state) == (
            "cm",
            "generated",
            models.InventoryStateEnum.UNRECORDED,
        )

        identity = {
            "context": "cm",
            "instance": "generated",
            "deployment_record_id": "gen-dep-1",
            "artifact_id": "artifact-1",
            "source_git_ref": "refs/heads/main",
        }
        deployed = endpoint("deployments", "deployments_create").sync(
            client=client,
            body=models.DeploymentCreateRequest(
                context="cm",
                instance="generated",
                record_id="gen-dep-1",
                artifact_id="artifact-1",
                source_git_ref="refs/heads/main",
                deploy_status=models.DeployStatusEnum.PASS,
                post_deploy_status=models.CheckStatusEnum.PASS,
                health_status=models.CheckStatusEnum.PASS,
                started_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
                finished_at=datetime(2026, 11, 27, 12, 4, tzinfo=UTC),
                observed_runtime_identity=identity,
            ),
            idempotency_key="generated-dep-1",
        )
        assert isinstance(deployed, models.DeploymentResponse), deployed
        assert deployed.inventory_effect == models.InventoryEffectEnum.ADVANCED
        assert deployed.environment.current_deployment.record_id == "gen-dep-1"

        one_shot = endpoint("bootstraps", "bootstraps_create").sync(
            client=client,
            body=models.StartRequest(
                context="cm",
                instance="generated",
                data_source=models.DataSourceEnum.UPSTREAM_RESTORE,
                result=models.OneShotResultRequest(
                    bootstrap_run_status=models.ResultRunStatusEnum.PASS,
                    data_mutated=True,
                    post_deploy_status=models.CheckStatusEnum.PASS,
                    health_status=models.CheckStatusEnum.PASS,
                    observed_runtime_identity=identity,
                ),
            ),
            idempotency_key="generated-boot-1",
        )
        assert isinstance(one_shot, models.BootstrapResponse), one_shot
        assert (one_shot.status, one_shot.readiness_status) == ("finished", "ready")
        assert one_shot.environment.data_state == models.DataStateEnum.CURRENT

        environment = endpoint("environments", "environments_retrieve").sync("cm", "generated", client=client)
        assert isinstance(environment, models.Environment), environment
        assert environment.state == models.InventoryStateEnum.CURRENT
        assert environment.last_known_good.deployment_record_id == "gen-dep-1"
        assert environment.last_known_good.bootstrap_operation_id == one_shot.operation_id
        assert isinstance(environment.last_known_good.verified_at, datetime)

        history = endpoint("environments", "environments_history_list").sync("cm", "generated", client=client)
        assert isinstance(history, models.PaginatedTransitionList), history
        assert [t.cause_type for t in history.results] == [
            models.CauseTypeEnum.BOOTSTRAP,
            models.CauseTypeEnum.DEPLOYMENT,
        ]

        start = endpoint("bootstraps", "bootstraps_create")
        active = start.sync(
            client=client,
            body=models.StartRequest(context="cm", instance="generated", data_source=models.DataSourceEnum.EMPTY),
            idempotency_key="generated-boot-2",
        )
        assert isinstance(active, models.BootstrapResponse), active
        refused = start.sync_detailed(
            client=client,
            body=models.StartRequest(context="cm", instance="generated", data_source=models.DataSourceEnum.EMPTY),
            idempotency_key="generated-boot-3",
        )
        assert refused.status_code == 409
        assert isinstance(refused.parsed, models.Error), refused.parsed
        assert refused.parsed.error.code == "bootstrap_active"
        assert active.operation_id in refused.parsed.error.message
