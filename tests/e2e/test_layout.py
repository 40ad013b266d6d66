"""Every main page of every role fits a 1,500 px and a 1,280 px screen and a 390 px phone, in English and in Chinese:
the page never scrolls sideways; at 1,500 px no table hides columns in its own scroll box (narrower screens scroll the
table in its box), and on a phone the client's orders show their progress and delivery without scrolling. One data
set (tests/e2e/busy_factory.py: long names and references, enough orders and pools to make every table wide) serves
the whole module; each role's test visits its pages at each width."""

import pytest

from tests.e2e.busy_factory import LANGUAGES, ROLES, main_pages, open_page, role_context

# The module's data is committed once by `busy_floor`; each test only reads it (through the live server).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WIDTHS = (1500, 1280, 390)
WIDE = 1500
# Tables that fit even a phone: the client's orders, stacked as cards.
FIT_EVERYWHERE = ("portal-orders",)
# Reads what a person would see: the page wider than the window, and tables whose columns lie beyond their box.
OVERFLOW = """() => ({
  page: document.documentElement.scrollWidth,
  window: window.innerWidth,
  tables: [...document.querySelectorAll("table")]
    .map((table) => [table, table.closest(".table-scroll, .results")])
    .filter(([table, box]) => box && box.scrollWidth > box.clientWidth + 1)
    .map(([table, box]) => `${table.className || table.id} (${box.scrollWidth} px in ${box.clientWidth} px)`),
})"""


def _overflows(page, paths, language) -> list[str]:
    """What does not fit, page by page and width by width (all of it, not only the first)."""
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            open_page(page, path, language)
            seen = page.evaluate(OVERFLOW)
            if seen["page"] > seen["window"]:
                found.append(f"{path} at {width} px: the page is {seen['page']} px wide")
            hidden = [
                table for table in seen["tables"] if width == WIDE or any(name in table for name in FIT_EVERYWHERE)
            ]
            if hidden:
                found.append(f"{path} at {width} px: columns beyond the table's box: {', '.join(hidden)}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_fits_laptops_and_phones(browser, request, busy_floor, role, language):
    # Asked for only now, after the module's data is in place: the live server then serves that data set.
    live_server = request.getfixturevalue("live_server")
    context, page = role_context(browser, live_server, busy_floor, role, language)

    overflows = _overflows(page, main_pages(role, busy_floor), language)

    context.close()
    assert not overflows, "\n".join(overflows)
