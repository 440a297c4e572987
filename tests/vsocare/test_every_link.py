"""Every link works (#17 point 1): as each role, starting from their home page, every link on
every page they reach is followed, and none leads to a 404, a 403 or an error. The dashboard's
links, with and without a query, are in tests/referrals/test_dashboard_links.py; this walks the
rest of the app from where each person starts."""

import html
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Notification, Role
from tests.browser.test_every_page_browser import world  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("starting_codes")]

LINK = re.compile(r"<a\b[^>]*?\bhref=\"([^\"]+)\"", re.IGNORECASE)
# Where a walk does not go: files served as they are, and the Django admin's own pages, which
# are checked by its own tests (its links are followed once, not walked).
NOT_WALKED = ("/static/", "/admin/")
# Enough for every page and a few of each list's pages; the walk stops there.
MOST_PAGES = 400


def links_on(page_url: str, content: str) -> list[str]:
    found = []
    for href in LINK.findall(content):
        href = html.unescape(href)
        if href.startswith(("#", "mailto:", "tel:")):
            continue
        absolute = urljoin(page_url, href)
        parts = urlsplit(absolute)
        if parts.netloc not in ("", "testserver"):
            continue  # another site
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def walk(client: Client, start: str) -> tuple[dict[str, tuple[int, str]], int]:
    """Breadth first from `start`: each broken link with its status and the page it was on,
    and how many pages were opened."""
    queue: deque[tuple[str, str]] = deque([(start, "(start)")])
    seen: set[str] = set()
    broken: dict[str, tuple[int, str]] = {}
    while queue and len(seen) < MOST_PAGES:
        url, found_on = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code in (301, 302):
            queue.append((response["Location"], url))
            continue
        if response.status_code != 200:
            broken[url] = (response.status_code, found_on)
            continue
        if url.startswith(NOT_WALKED) or "text/html" not in response.get("Content-Type", ""):
            continue
        queue.extend((link, url) for link in links_on(url, response.content.decode()))
    return broken, len(seen)


@pytest.mark.parametrize("role", list(Role))
def test_every_link_a_person_can_reach_works(client, user_for_role, world, role):  # noqa: F811
    person = user_for_role(role)
    # The world tells everyone of a referral; VSO Care itself tells only those who may open it
    # (docs/notifications.md), which an administrator may not.
    Notification.objects.filter(recipient=person, recipient__role=Role.ADMINISTRATOR).delete()
    client.force_login(person)

    broken, opened = walk(client, reverse("home"))
    print(f"{role}: {opened} pages")

    assert opened > 15, f"the walk opened only {opened} pages"
    assert broken == {}
