"""Issue 17, point 6: the Django admin, which only administrators reach, passes axe like the
rest of the app: its index, each registered model's list, and a change and an add form of each
model the administrator may add to."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib import admin
from django.urls import reverse

from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]


def violations(page) -> list[str]:
    results = Axe().run(page)
    return [] if results.violations_count == 0 else [results.generate_report()]


def admin_pages(page, base: str) -> list[str]:
    """The index, and for each model on it its list, its first row's form and its add form."""
    page.goto(f"{base}/admin/")
    lists = page.eval_on_selector_all(
        "#content-main th[scope=row] a", "links => links.map(a => a.getAttribute('href'))"
    )
    adds = page.eval_on_selector_all(
        "#content-main a.addlink", "links => links.map(a => a.getAttribute('href'))"
    )
    paths = ["/admin/", *lists, *adds]
    for changelist in lists:
        page.goto(f"{base}{changelist}")
        first = page.eval_on_selector_all(
            "#result_list tbody tr th a, #result_list tbody tr td.field-__str__ a",
            "links => links.slice(0, 1).map(a => a.getAttribute('href'))",
        )
        paths.extend(first)
    return paths


def test_every_admin_page_an_administrator_uses_passes_axe(
    page, live_server, administrator, home_from_hospital, icc
):
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(administrator.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/administrator/|/$"))

    paths = admin_pages(page, live_server.url)
    # The page of the admin's own that the app adds: resetting a lost authenticator.
    paths.append(reverse("admin:accounts_user_two_factor_reset", args=[icc.pk]))

    # Every registered model is reached, and more than the list of each.
    assert len(paths) > len(admin.site._registry) + 1
    found = {}
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        assert page.locator("#content").count() == 1, path
        problems = violations(page)
        if problems:
            found[path] = problems
    assert not found, "\n\n".join(f"{path}\n{report[0]}" for path, report in found.items())
