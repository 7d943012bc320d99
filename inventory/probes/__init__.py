"""Launchplane's own verification probes (PRODUCT.md, "Verification: Launchplane's own probes").

A library with no ORM: ``run_probes(ProbeTarget(...))`` probes a runtime's health, canonical URL and
logo inside one time budget and returns a ``ProbeReport`` of ``ProbeEvidence``. The verification
service turns that report into rule 15's facts and records it.

- ``parsing``: pure judgements of what came back (bytes in, verdicts out), and the address check.
- ``client``: one HTTP client per run: address pinning, manual same-origin redirects, retries,
  bounded reads, a transport that keeps every socket operation inside the budget.
- ``runner``: the probes in order, the not_run rule, and the run's settings.
"""

from inventory.probes.client import BODY_LIMIT, MAX_REDIRECTS, USER_AGENT
from inventory.probes.parsing import DEFAULT_BLOCKED_NETWORKS, IDENTITY_KEYS, PROBES
from inventory.probes.runner import ProbeEvidence, ProbeReport, ProbeTarget, run_probes

__all__ = [
    "BODY_LIMIT",
    "DEFAULT_BLOCKED_NETWORKS",
    "IDENTITY_KEYS",
    "MAX_REDIRECTS",
    "PROBES",
    "USER_AGENT",
    "ProbeEvidence",
    "ProbeReport",
    "ProbeTarget",
    "run_probes",
]
