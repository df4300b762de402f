"""What templates are given: Tokyo times, integer yen, and the shared macros (pager, field)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request

from core.paging import Page
from web.render import environment, page_context, tokyo, yen
from web.session import WebUser

USER = WebUser(account="sato", role="noc", customer=None, locale="en", csrf_token="tok")


def request_for(query: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/ui/noc/devices",
        "query_string": query.encode(),
        "headers": [],
        "state": {},
    }
    return Request(scope)


def test_times_are_shown_in_tokyo_and_money_in_integer_yen() -> None:
    assert tokyo(datetime(2026, 12, 31, 15, 30, tzinfo=UTC)) == "2027-01-01 00:30"
    assert tokyo(datetime(2026, 12, 31, 15, 30)) == "2027-01-01 00:30"  # naive: UTC
    assert tokyo(None) == ""
    assert (yen(12345), yen(0), yen(-500), yen(None)) == ("¥12,345", "¥0", "-¥500", "")


def render(source: str, query: str = "", **values: object) -> str:
    request = request_for(query)
    template = environment().from_string('{% import "macros.html" as m with context %}' + source)
    return template.render(**page_context(request, USER), **values)


def test_the_pager_links_the_pages_keeping_the_other_parameters() -> None:
    page = Page(items=[], total=120)
    html = render("{{ m.pager(page) }}", "status=in_stock&offset=50&limit=50", page=page)
    assert 'href="/ui/noc/devices?status=in_stock&amp;offset=0&amp;limit=50"' in html
    assert 'href="/ui/noc/devices?status=in_stock&amp;offset=100&amp;limit=50"' in html
    assert "51–100 of 120" in html
    assert render("{{ m.pager(page) }}", page=Page(items=[], total=10)).strip() == ""


def test_a_field_is_labelled_and_its_problems_are_tied_to_it() -> None:
    html = render('{{ m.field("serial", "Serial", "Q2<x>", ["not a serial"]) }}{{ m.csrf() }}')
    assert '<label for="f-serial">Serial</label>' in html
    assert 'value="Q2&lt;x&gt;"' in html  # escaped
    assert 'aria-describedby="f-serial-problems"' in html and 'id="f-serial-problems"' in html
    assert '<input type="hidden" name="csrf_token" value="tok">' in html
