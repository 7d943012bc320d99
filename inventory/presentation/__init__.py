"""Presentation: how inventory reads as sentences, rows and timelines, for the pages and the admin.

Views fetch through ``inventory.selectors`` and hand plain objects to templates; the words and rows
are built here (healthchecks keeps the same in ``hc/front/templatetags``), so that a sentence is
phrased once wherever it appears. ``words`` says times and states, ``evidence`` makes rows of identity,
probes and history, ``verification`` presents Launchplane's own runs, ``timeline`` orders what happened,
``review`` says who holds an environment (the take / release buttons) and links the queue's views.
"""

from inventory.presentation.evidence import (
    CHECK_LABELS,
    HistoryRow,
    IdentityRow,
    IdentityView,
    ProbeRow,
    ProbeTable,
    history_rows,
    identity_rows,
    identity_view,
    probe_table,
)
from inventory.presentation.review import (
    QueueView,
    ResponsibilityAction,
    queue_views,
    responsibility_action,
)
from inventory.presentation.timeline import KIND_LABELS, TimelineEvent, timeline
from inventory.presentation.verification import (
    BoardRow,
    LastVerified,
    ReverifyAction,
    VerificationCard,
    active_run_sentence,
    board_rows,
    last_verified,
    queued_message,
    reverify_action,
    reverify_blocked,
    run_title,
    verification_card,
    verification_settings,
)
from inventory.presentation.words import (
    ago,
    ago_exact,
    banner_sentence,
    data_mutated_words,
    duration,
    last_known_good_phrase,
    seconds_words,
    ttl_words,
)

__all__ = [
    "CHECK_LABELS",
    "KIND_LABELS",
    "BoardRow",
    "HistoryRow",
    "IdentityRow",
    "IdentityView",
    "LastVerified",
    "ProbeRow",
    "ProbeTable",
    "QueueView",
    "ResponsibilityAction",
    "ReverifyAction",
    "TimelineEvent",
    "VerificationCard",
    "active_run_sentence",
    "ago",
    "ago_exact",
    "banner_sentence",
    "board_rows",
    "data_mutated_words",
    "duration",
    "history_rows",
    "identity_rows",
    "identity_view",
    "last_known_good_phrase",
    "last_verified",
    "probe_table",
    "queue_views",
    "queued_message",
    "responsibility_action",
    "reverify_action",
    "reverify_blocked",
    "run_title",
    "seconds_words",
    "timeline",
    "ttl_words",
    "verification_card",
    "verification_settings",
]
