"""No query string of any shape gives a 500 (#14 point 2): Hypothesis draws query strings, from
the parameter names the app reads and from nowhere, with values from text to absurd dates and
numbers, and sends them to every page each role can open (the route table of test_tenancy).
The test client raises what a view raises, so a failure shows the traceback and the example."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from commissioning.filters import OrganisationFilter
from commissioning.forms import DirectorySearchForm
from referrals.forms import ConcernListForm, ReferralFilter
from referrals.forms_remit import RemitMonthForm
from referrals.views_dashboard import DashboardForm
from tests.vsocare.test_tenancy import ROUTES, eastern, url_for  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("starting_codes")]

# Every name a page reads from its query string, and its forms' fields.
PARAMETERS = sorted(
    {
        "page", "next", "with", "system", "status", "service", "q", "per_page", "nhs_number",
        "locked", "date_of_birth", "organisation", "rule", "kind", "after", "before",
        *DashboardForm.base_fields, *RemitMonthForm.base_fields, *ConcernListForm.base_fields,
        *DirectorySearchForm.base_fields, *ReferralFilter.base_filters,
        *OrganisationFilter.base_filters,
    }
)  # fmt: skip
# The values testers and fuzzers try first, beside whatever Hypothesis draws.
NASTY = [
    "", " ", "0", "-1", "1e309", "NaN", "Infinity", "99999999999999999999999", "abc",
    "9999-12-30", "9999-12-31", "0001-01-01", "1800-01-01", "2026-02-30", "2026-13-01",
    "\x00", "%00", "a\x00b", "' OR 1=1 --", "<script>", "../../etc/passwd", "é" * 300,
    "2026-11", "2026", "0000-00", "-2026-01",
]  # fmt: skip
values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates().map(lambda day: day.isoformat()),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}(-[0-9]{2})?\Z"),
    # Keyset cursors (core.pagination) and near misses: beyond year 9999, beyond a bigint.
    st.from_regex(r"\A-?[0-9]{1,20}\.[0-9]{1,20}\Z"),
)
# Any of the app's names, each with a drawn value, and now and then a name of nobody's. All at
# once: a form checks every field, so one example tries many; shrinking finds the one at fault.
queries = st.tuples(
    st.dictionaries(st.sampled_from(PARAMETERS), values, max_size=len(PARAMETERS)),
    st.dictionaries(st.text(max_size=12), values, max_size=2),
).map(lambda both: {**both[1], **both[0]})
# Every route but /health/, whose 503 says a service is down, which is its job.
GET_ROUTES = sorted(name for name in ROUTES if name != "health")


# Examples may take a while (a page renders) and share the test's database and clients.
BOUNDED = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


def signed_in_where(user_for_role, opens) -> list[Client]:
    """A client signed in as each role for which `opens(client)` holds: those the page is for."""
    clients = []
    for role in Role:
        client = Client(raise_request_exception=True)
        client.force_login(user_for_role(role))
        if opens(client):
            clients.append(client)
    return clients


@pytest.mark.parametrize("name", GET_ROUTES)
def test_no_query_string_gives_a_server_error(name, user_for_role, eastern):  # noqa: F811
    url = url_for(name, eastern)
    clients = signed_in_where(user_for_role, lambda client: client.get(url).status_code < 400)
    clients = clients or [Client(raise_request_exception=True)]

    @settings(max_examples=25, **BOUNDED)
    @given(client=st.sampled_from(clients), query=queries)
    def page_answers(client, query):
        response = client.get(url, query)
        assert response.status_code < 500, (name, query, response.status_code)

    page_answers()


def _form_fields() -> list[str]:
    """The fields of every form the app has: what a POST to any page may carry."""
    from django import forms

    from accounts import forms as accounts_forms
    from commissioning import forms as commissioning_forms
    from referrals import forms as referrals_forms
    from referrals import forms_access, forms_deadlines, forms_outcomes, forms_remit

    names = set(PARAMETERS)
    for module in (
        accounts_forms, commissioning_forms, referrals_forms, forms_access, forms_deadlines,
        forms_remit, forms_outcomes,
    ):  # fmt: skip
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm):
                names |= set(getattr(value, "base_fields", ()))
    return sorted(names)


FORM_FIELDS = _form_fields()
posts = st.dictionaries(st.sampled_from(FORM_FIELDS), values, max_size=len(FORM_FIELDS))
# Signing out would end the walk's session; /health/ takes no POST.
POST_ROUTES = sorted(name for name in ROUTES if name not in ("health", "logout", "login"))


@pytest.mark.parametrize("name", POST_ROUTES)
def test_no_form_of_any_shape_gives_a_server_error(name, user_for_role, eastern):  # noqa: F811
    url = url_for(name, eastern)
    clients = signed_in_where(
        user_for_role, lambda client: client.post(url, {}).status_code not in (403, 404, 405)
    )
    if not clients:
        pytest.skip(f"{name} takes no POST from anyone")

    @settings(max_examples=20, **BOUNDED)
    @given(client=st.sampled_from(clients), data=posts)
    def form_answers(client, data):
        response = client.post(url, data)
        assert response.status_code < 500, (name, data, response.status_code)

    form_answers()
