"""Pure decision rules for the artifact side of inventory (PRODUCT.md rules 4, 5, 6 and 8).

No ORM and no clock: plain values in, a frozen outcome out. Services feed these functions what they
read under the inventory row lock and write what comes back. Each table is a tuple of rows that carry
their outcomes; the first row whose predicate holds decides, and ``docs/provenance.md`` is rendered
from the same rows. ``identity`` (rule 5), ``core`` (rows, combining the sides, wording, order,
freshness), ``deployments`` (rule 6) and ``observations`` (rule 8); everything is importable from here.
"""

from inventory.rules.core import (
    CHECK_NOT_PASSED,
    CHECKS,
    CS,
    SEVERITY,
    Row,
    checks_phrase,
    combine,
    deployment_is_superseded,
    effect_for,
    first_match,
    freshness,
    human_list,
    identity_detail,
    identity_phrase,
    is_worse,
    no_detail,
    observation_is_superseded,
    severity,
    state_reason,
    unpassed_phrases,
)
from inventory.rules.deployments import (
    DEPLOYMENT_ROWS,
    DeploymentDecision,
    DeploymentFacts,
    DeploymentOutcome,
    decide_deployment,
)
from inventory.rules.identity import (
    ID,
    IDENTITY_AGAINST,
    IDENTITY_KEYS,
    IDENTITY_UNPROVEN,
    NOT_SENT,
    IdentityComparison,
    IdentityInput,
    compare_identity,
    expected_identity,
)
from inventory.rules.observations import (
    OBSERVATION_ROWS,
    ObservationDecision,
    ObservationFacts,
    ObservationOutcome,
    decide_observation,
)

__all__ = [
    "CHECKS",
    "CHECK_NOT_PASSED",
    "CS",
    "DEPLOYMENT_ROWS",
    "ID",
    "IDENTITY_AGAINST",
    "IDENTITY_KEYS",
    "IDENTITY_UNPROVEN",
    "NOT_SENT",
    "OBSERVATION_ROWS",
    "SEVERITY",
    "DeploymentDecision",
    "DeploymentFacts",
    "DeploymentOutcome",
    "IdentityComparison",
    "IdentityInput",
    "ObservationDecision",
    "ObservationFacts",
    "ObservationOutcome",
    "Row",
    "checks_phrase",
    "combine",
    "compare_identity",
    "decide_deployment",
    "decide_observation",
    "deployment_is_superseded",
    "effect_for",
    "expected_identity",
    "first_match",
    "freshness",
    "human_list",
    "identity_detail",
    "identity_phrase",
    "is_worse",
    "no_detail",
    "observation_is_superseded",
    "severity",
    "state_reason",
    "unpassed_phrases",
]
