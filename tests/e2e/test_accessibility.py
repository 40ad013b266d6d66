"""axe-core finds no serious or critical violation on any main page of any role, in English or in Chinese (UI.md
"Accessibility and trust"): contrast, labels, names, landmarks, ids, tables. The pages and their data are those of
the layout test (tests/e2e/busy_factory.py); axe is the copy inside the axe-playwright-python package, injected
into each page, so nothing is downloaded."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.busy_factory import LANGUAGES, ROLES, main_pages, open_page, role_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

BLOCKING = ("serious", "critical")
SHOWN = 5  # offending elements named per rule and page; the rest are counted
AXE = Axe()
# What axe checks: WCAG 2.1 A and AA (contrast is AA) and its best practices (landmarks, one main, names).
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


def _blocking(page, path: str) -> list[str]:
    """The page's serious and critical violations, one line each: rule, impact, what it means and where."""
    results = AXE.run(page, options={**RULES, "resultTypes": ["violations"]})
    found = []
    for rule in results.response["violations"]:
        if rule["impact"] not in BLOCKING:
            continue
        where = [" ".join(map(str, node["target"])) for node in rule["nodes"]]
        more = f" and {len(where) - SHOWN} more" if len(where) > SHOWN else ""
        found.append(f"{path}: {rule['id']} ({rule['impact']}) {rule['help']}: {', '.join(where[:SHOWN])}{more}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_has_no_serious_accessibility_violation(browser, request, busy_floor, role, language):
    live_server = request.getfixturevalue("live_server")
    context, page = role_context(browser, live_server, busy_floor, role, language)
    found = []
    for path in main_pages(role, busy_floor):
        open_page(page, path, language)
        found += _blocking(page, path)

    context.close()
    assert not found, "\n".join(found)
