"""One focus style everywhere, in chromium: text inputs, selects, textareas, checkboxes and
summaries show the NHS yellow with a near-black indicator, never Bootstrap's pale ring; and at
1280px the header's page links fit on one line for the person with the most of them."""

import pytest

from accounts.models import Role
from accounts.navigation import nav_items_for
from tests.browser.test_every_page_browser import DESKTOP, header_problems, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]

YELLOW = "rgb(255, 235, 59)"
NEAR_BLACK = "rgb(33, 43, 50)"

FOCUS_STYLE = """element => {
  const style = getComputedStyle(element);
  return {focused: document.activeElement === element, outlineStyle: style.outlineStyle,
          outlineWidth: parseFloat(style.outlineWidth), outlineColor: style.outlineColor,
          boxShadow: style.boxShadow, borderColor: style.borderTopColor,
          background: style.backgroundColor};
}"""


def focus_style(locator) -> dict:
    return locator.evaluate(FOCUS_STYLE)


def assert_nhs_focus(style: dict, *, dark_in: str) -> None:
    """A 4px yellow outline and at least 2px of near-black (in the box shadow or the border):
    WCAG 2.2 focus appearance, as the links and buttons already had."""
    assert style["focused"], style
    assert (style["outlineStyle"], style["outlineColor"]) == ("solid", YELLOW), style
    assert style["outlineWidth"] >= 4, style
    assert NEAR_BLACK in style[dark_in], style
    assert "13, 110, 253" not in style["boxShadow"], style  # Bootstrap's pale blue ring


def test_inputs_selects_textareas_checkboxes_and_summaries_share_the_yellow_focus(
    page, live_server, icc, home_from_hospital
):
    from tests.factories import ReferralFactory

    referral = ReferralFactory(referrer=icc, service=home_from_hospital)
    page.set_viewport_size(DESKTOP)
    page.emulate_media(reduced_motion="reduce")  # Bootstrap then draws focus without a transition
    sign_in(page, live_server.url, icc)

    page.goto(f"{live_server.url}/directory/")
    for label in ("Search", "Place"):
        field = page.get_by_label(label, exact=True)
        field.focus()
        style = focus_style(field)
        assert_nhs_focus(style, dark_in="boxShadow")
        assert "inset" in style["boxShadow"] and style["borderColor"] == NEAR_BLACK, style
    checkbox = page.get_by_role("checkbox").first
    checkbox.focus()
    assert_nhs_focus(focus_style(checkbox), dark_in="boxShadow")

    page.goto(f"{live_server.url}/referrals/{referral.pk}/")
    page.locator("#concerns summary").first.click()
    textarea = page.locator("#concerns textarea").first
    textarea.focus()
    assert_nhs_focus(focus_style(textarea), dark_in="boxShadow")

    # A summary shows focus to keyboard users (:focus-visible), so it is reached with Tab.
    page.goto(f"{live_server.url}/referrals/")
    page.get_by_role("link", name="New referral").last.focus()
    page.keyboard.press("Tab")
    summary = page.locator("summary", has_text="Filter referrals")
    style = focus_style(summary)
    assert_nhs_focus(style, dark_in="boxShadow")
    assert style["background"] == YELLOW, style


def test_the_filters_fold_away_on_a_phone_and_are_open_on_a_desktop(page, live_server, icc):
    sign_in(page, live_server.url, icc)
    filters = page.locator("details.vso-filters")

    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/referrals/")
    assert filters.evaluate("details => details.open")
    assert page.get_by_label("Status").is_visible()

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/referrals/")
    assert not filters.evaluate("details => details.open")
    assert not page.get_by_label("Status").is_visible()
    page.get_by_text("Filter referrals").click()
    assert page.get_by_label("Status").is_visible()


def test_the_navigation_fits_on_one_line_at_1280px_for_the_longest_menu(
    page, live_server, user_for_role
):
    user = max((user_for_role(role) for role in Role), key=lambda u: len(nav_items_for(u)))
    page.set_viewport_size(DESKTOP)

    sign_in(page, live_server.url, user)

    assert header_problems(page) == []
