"""Pages of a long list (the board, the review queue): which rows, and links that keep the filters.

Django's ``Paginator`` does the counting; ``get_page`` forgives a page number a person typed (not a
number: the first page; past the end: the last), as a page should, where the API answers 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.http import QueryDict

PAGE_SIZE = 50


@dataclass(frozen=True)
class PageLinks:
    """What the pagination include shows: where this page sits, and links to its neighbours."""

    page: Page
    first: str | None
    previous: str | None
    next: str | None
    last: str | None

    @property
    def shown(self) -> bool:
        return self.page.paginator.num_pages > 1

    @property
    def start(self) -> int:
        return self.page.start_index()

    @property
    def end(self) -> int:
        return self.page.end_index()

    @property
    def count(self) -> int:
        return self.page.paginator.count


def paginate(query: QueryDict, rows, per_page: int = PAGE_SIZE) -> PageLinks:
    """The page of ``rows`` (ordered) that ``query`` (a request's GET) asks for, with links that keep
    every other query parameter."""
    page = Paginator(rows, per_page).get_page(query.get("page"))
    kept = [(name, values) for name, values in query.lists() if name != "page"]

    def link(number: int) -> str:
        query = [(name, value) for name, values in kept for value in values] + [("page", str(number))]
        return "?" + urlencode(query)

    last = page.paginator.num_pages
    return PageLinks(
        page=page,
        first=link(1) if page.number > 1 else None,
        previous=link(page.previous_page_number()) if page.has_previous() else None,
        next=link(page.next_page_number()) if page.has_next() else None,
        last=link(last) if page.number < last else None,
    )
