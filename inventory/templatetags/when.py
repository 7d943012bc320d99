"""``{% when at %}``: a time as people read it ("12 minutes ago", "in 3 hours", "just now"), inside a
``<time>`` element whose ``datetime`` and title give the exact moment (UTC), measured from the page's
``now`` (rule 14: the server's clock).

It is a tag, not an included template, because the board shows four per row: a Python function is a
tenth of the cost of an include, and a page shows the same words either way.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from inventory.presentation.words import timesince, timeuntil

register = template.Library()


def when_html(at: datetime | None, now: datetime) -> SafeString:
    if not at:
        return mark_safe("")
    local = timezone.localtime(at)
    if at > now:
        words = f"in {timeuntil(at, now)}"
    else:
        since = timesince(at, now)
        words = "just now" if since.startswith("0") else f"{since} ago"
    # isoformat() and strftime() say what the date filter's "c" and "Y-m-d H:i" say, at a tenth of the cost;
    # neither they nor the words (digits and unit names) hold a character HTML would need escaped.
    return mark_safe(f'<time datetime="{local.isoformat()}" title="{local:%Y-%m-%d %H:%M} UTC">{words}</time>')


@register.simple_tag(takes_context=True, name="when")
def when_tag(context: template.Context, at: datetime | None) -> SafeString:
    """``{% when operation.finished_at %}``, measured from the context's ``now``."""
    return when_html(at, context.get("now") or timezone.now())
