"""The API tests' cast (a client scoped to ``cm``, a read-only one, one scoped elsewhere), for /v1/."""

from tests.api.conftest import (  # noqa: F401  (fixtures)
    _fresh_throttle_history,
    anonymous,
    automation,
    outsider,
    reader,
    staff_session,
    superuser_session,
)
