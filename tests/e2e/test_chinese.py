"""Chinese that renders: zh-hans pages draw their text in a CJK font named in the stylesheet's stack, not in
missing-glyph boxes, and plotly speaks Chinese too. Screenshots of the main pages in zh-hans are saved to
test-artifacts/ (zh-*.png), where a person can see the glyphs."""

import pytest

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The CJK fonts of factory.css's stack, as fontconfig and Chromium name them.
CJK_FONTS = {
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
}
# Two private-use code points no font draws: what "订单" looks like when no font has its glyphs.
MISSING_GLYPHS = "\U0010fffd\U0010fffd"


def _sign_in_chinese(page, username):
    """Signs in on the English sign-in page, then reads in Chinese (the language cookie the switcher sets)."""
    page.context.clear_cookies()
    sign_in(page, username, PASSWORD)
    origin = page.url.split("/", 3)[:3]
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": "/".join(origin)}])


def _fonts_drawing(page, selector: str) -> set[str]:
    """The platform fonts Chromium actually drew the element's text with (DevTools' "Rendered Fonts")."""
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument")["root"]["nodeId"]
    node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {font["familyName"] for font in fonts if font["glyphCount"]}


def _width(page, text: str) -> float:
    """The rendered width of `text` in the page's body font."""
    return page.evaluate(
        """text => {
            const span = document.createElement("span");
            span.textContent = text;
            document.body.appendChild(span);
            const width = span.getBoundingClientRect().width;
            span.remove();
            return width;
        }""",
        text,
    )


def test_a_chinese_page_draws_its_text_in_a_cjk_font_of_the_stack(page, factory_floor):
    _sign_in_chinese(page, "ops-user")
    page.goto("/")
    page.get_by_role("heading", name="运营中心").wait_for()

    assert _fonts_drawing(page, "h1") & CJK_FONTS
    assert _width(page, "订单") != pytest.approx(_width(page, MISSING_GLYPHS), abs=0.5)
    page.watch.assert_clean()


def test_the_main_pages_in_chinese_are_saved_for_a_person_to_look_at(
    page, screenshot, factory_floor, dispatcher, reviewer, aftersales_user
):
    pages = [
        ("ops-user", "/", "operations-center"),
        ("ops-user", "/orders/", "order-list"),
        ("ops-user", f"/orders/{factory_floor['running'].pk}/", "order-page"),
        ("dispatch-user", "/dispatch/", "dispatch-center"),
        ("security-user", "/security/reviews/", "security-queue"),
        ("aftersales-user", "/aftersales/tickets/", "ticket-queue"),
        ("client-a-user", "/portal/", "portal"),
    ]
    for username, path, name in pages:
        _sign_in_chinese(page, username)
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        assert _fonts_drawing(page, "h1") & CJK_FONTS, path
        screenshot(f"zh-{name}")
    page.watch.assert_clean()


def _toolbar_titles(page, chart: str) -> set[str]:
    page.locator(f'[data-chart="{chart}"] .main-svg').first.wait_for()
    buttons = page.locator(f'[data-chart="{chart}"] .modebar-btn')
    return {buttons.nth(index).get_attribute("data-title") for index in range(buttons.count())}


def test_plotlys_toolbar_offers_no_sharing_to_plotlys_cloud(page, factory_floor, dispatcher):
    sign_in(page, "dispatch-user", PASSWORD)
    page.goto("/dispatch/")

    titles = _toolbar_titles(page, "utilization")

    assert "Zoom in" in titles
    assert "Share chart..." not in titles  # it would send the factory's data to plotly's cloud
    page.watch.assert_clean()


def test_plotlys_toolbar_speaks_chinese_on_a_chinese_page(page, factory_floor, dispatcher):
    _sign_in_chinese(page, "dispatch-user")
    page.goto("/dispatch/")
    titles = _toolbar_titles(page, "utilization")

    assert {"放大", "缩小", "重置坐标轴"} <= titles
    assert "Zoom in" not in titles
    page.watch.assert_clean()
