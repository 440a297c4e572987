"""Load test (issue #14 point 7): 50 people at once on the demo, as `make run` serves it.
A locustfile, not a test: it prints and writes figures, see bench/README.md, "The load test".

    /tmp/locust-venv/bin/locust -f bench/load.py --host http://127.0.0.1:8055 --headless \
        --users 50 --spawn-rate 5 --run-time 5m --csv /tmp/vso_load_run

Three kinds of person, in the proportions of an integrated care system's users (3:1:1):

- referrers (ICCs): their home page, the referral list with and without filters, a referral's
  page, the waiting list, and now and then the intake form: patient lookup and remit check as
  they fill it in (the htmx requests the page makes), then, six times in ten, sending it. A sent
  referral must be made ("has been sent"), or it counts as an error;
- VSO leads: their home page, the remit page, their referral list and referrals, concerns;
- commissioners: their home page, the dashboard (now and then for a period of their own, which
  is computed on the spot), one of its drill-downs or CSV files, the directory and a service.

Each signs in once, with their own account (bench/load_accounts.py makes them), and never tries
a wrong password: django-axes locks an account after 5 failures, so a failed sign-in stops that
simulated person rather than try again. Two-factor sign-in must be off, as it is in the demo.
Every request is named by page, never by a URL with an id, so the figures group per page; any
answer other than 2xx or 3xx is an error.
"""

import html
import itertools
import math
import random
import re
import time
import uuid
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser

PASSWORD = "vsocare-demo"  # the demo's (vsocare/demo.py), public
REFERRAL_LINK = re.compile(r'href="/referrals/(\d+)/"')
REFERRAL_PAGE = re.compile(r"/referrals/\d+/")
NHS_ON_PAGE = re.compile(r"NHS (\d{3} \d{3} \d{4})")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
DRILL_DOWN = re.compile(r'href="(/commissioner/dashboard/(?:breaches|overrides)/\?[^"]*)"')
SERVICE_LINK = re.compile(r'href="/directory/services/(\d+)/"')

# What each demo service is for (vsocare/demo_directory.py SERVICES), so that most referrals
# ask a service for what it does, as a referrer who knows the directory would. The locustfile
# does not import the app; a service not named here is asked for a need at random.
SERVICE_NEEDS = {
    "Home from Hospital": ["home_help", "shopping", "prescription_collection", "transport"],
    "Befriending and Friendship Calls": ["befriending", "social_prescription", "digital_inclusion"],
    "Good Neighbours Help": ["shopping", "transport", "prescription_collection", "befriending"],
    "Neighbourly Check-ins": ["befriending", "shopping", "digital_inclusion"],
    "Village Warden": ["transport", "equipment", "housing_paperwork"],
    "Wellbeing Co-ordination": ["care_coordination", "mental_health_support", "caregiver_support"],
}
FILTERS = {
    "status": ["received", "accepted", "in_progress", "closed", "declined"],
    "urgency": ["routine", "soon", "urgent", "emergency"],
    "destination_sector": ["health", "social_care", "voluntary"],
}


@events.init_command_line_parser.add_listener
def _options(parser):
    group = parser.add_argument_group("VSO Care")
    group.add_argument("--think-min", type=float, default=3, help="Seconds a person reads a page")
    group.add_argument("--think-max", type=float, default=10)
    group.add_argument("--icc-accounts", type=int, default=30, help="load-icc-NN accounts")
    group.add_argument("--lead-accounts", type=int, default=10)
    group.add_argument("--commissioner-accounts", type=int, default=10)
    group.add_argument(
        "--settle",
        type=float,
        default=60,
        help="Seconds from the start after which the figures count as settled (sign-ins done)",
    )
    group.add_argument("--table", default="", help="Also write the per-page table to this file")


# Every request's own time, for exact percentiles (locust's own are rounded to two figures) over
# the whole run and over the settled part of it, after the burst of sign-ins at the start.
SAMPLES: list[tuple[float, str, str, float, bool]] = []
STARTED: list[float] = []


@events.test_start.add_listener
def _started(**_kwargs):
    SAMPLES.clear()
    STARTED[:] = [time.monotonic()]


@events.request.add_listener
def _sample(request_type, name, response_time, exception, **_kwargs):
    if STARTED:
        SAMPLES.append(
            (time.monotonic() - STARTED[0], request_type, name, response_time, not exception)
        )


def _percentile(times: list[float], p: float) -> str:
    if not times:
        return "n/a"
    ranked = sorted(times)
    return f"{ranked[max(0, math.ceil(p / 100 * len(ranked)) - 1)]:,.0f}"


@events.quitting.add_listener
def _table(environment, **_kwargs):
    if not SAMPLES:
        return
    options = environment.parsed_options
    settle = options.settle if options else 60
    # Every name is one page and one method: "sign-in form" is the GET, "sign-in" the POST.
    pages: dict[str, list[tuple[float, float, bool]]] = {}
    for at, _method, name, ms, ok in SAMPLES:
        pages.setdefault(name, []).append((at, ms, ok))
    lines = [
        f"| Page | Requests | Errors | p50 ms | p95 ms | p99 ms | p95 after {settle:.0f} s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, rows in sorted(pages.items()):
        times = [ms for _, ms, _ in rows]
        settled = [ms for at, ms, _ in rows if at >= settle]
        errors = sum(not ok for _, _, ok in rows)
        lines.append(
            f"| {name} | {len(rows):,} | {errors} | {_percentile(times, 50)} | "
            f"{_percentile(times, 95)} | {_percentile(times, 99)} | {_percentile(settled, 95)} |"
        )
    everything = [ms for _, _, _, ms, _ in SAMPLES]
    errors = sum(not ok for *_, ok in SAMPLES)
    settled = [ms for at, _, _, ms, _ in SAMPLES if at >= settle]
    lines.append(
        f"| **all** | {len(SAMPLES):,} | {errors} | {_percentile(everything, 50)} | "
        f"{_percentile(everything, 95)} | {_percentile(everything, 99)} | "
        f"{_percentile(settled, 95)} |"
    )
    table = "\n".join(lines) + "\n"
    print(table)
    if options and options.table:
        with open(options.table, "w") as out:
            out.write(table)


class FormFields(HTMLParser):
    """The intake form as a browser would send it untouched: hidden inputs, checked radios,
    each select's selected option, plus every select's options to choose from."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.options: dict[str, list[tuple[str, str]]] = {}
        self._select: str | None = None
        self._option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "hidden" or (kind == "radio" and "checked" in a):
                self.values.setdefault(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name")
            self.options[self._select] = []
        elif tag == "option" and self._select:
            self._option = a.get("value", "")
            if "selected" in a:
                self.values[self._select] = self._option
        elif tag == "textarea" and a.get("name"):
            self.values.setdefault(a["name"], "")

    def handle_data(self, data):
        if self._select and self._option is not None and data.strip():
            self.options[self._select].append((self._option, data.strip()))
            self._option = None

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


class Person(HttpUser):
    abstract = True
    account_pattern = ""
    accounts_option = ""
    role = ""
    _numbers: itertools.count

    def wait_time(self):
        options = self.environment.parsed_options
        low = options.think_min if options else 3
        high = options.think_max if options else 10
        return between(low, high)(self)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        accounts = getattr(options, self.accounts_option, 1) if options else 1
        n = next(type(self)._numbers) % accounts + 1
        self.email = self.account_pattern.format(n)
        self.referral_ids: list[int] = []
        self.home_path = "/"
        self._sign_in()

    def _sign_in(self) -> None:
        page = self.client.get("/sign-in/", name="sign-in form")
        token = CSRF.search(page.text)
        with self.client.post(
            "/sign-in/",
            {
                "csrfmiddlewaretoken": token[1] if token else "",
                "username": self.email,
                "password": PASSWORD,
                "next": "",
            },
            name="sign-in",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            target = urlsplit(answer.headers.get("Location", "")).path
            if answer.status_code != 302 or target.startswith("/sign-in/"):
                # One wrong try at most per simulated person: never near axes' lock-out.
                why = "two-factor sign-in is on" if "two-factor" in target else "refused"
                answer.failure(f"{self.email}: sign-in {why} ({answer.status_code} {target})")
                raise StopUser()
            # Signing in leads to the person's own home page, as the header's "Home" does.
            self.home_path = target or "/"
        self.home()

    def get(self, path: str, name: str, **kwargs):
        return self.client.get(path, name=name, **kwargs)

    def remember_referrals(self, text: str) -> None:
        ids = [int(pk) for pk in REFERRAL_LINK.findall(text)]
        if ids:
            self.referral_ids = ids

    @task(3)
    def home(self) -> None:
        self.remember_referrals(self.get(self.home_path, f"home ({self.role})").text)

    def referral_page(self) -> str:
        if not self.referral_ids:
            self.remember_referrals(self.get("/referrals/", f"referral list ({self.role})").text)
        if not self.referral_ids:
            return ""
        pk = random.choice(self.referral_ids)
        return self.get(f"/referrals/{pk}/", f"referral page ({self.role})").text


class Referrer(Person):
    weight = 3
    account_pattern = "load-icc-{:02}@eastern-health.example"
    accounts_option = "icc_accounts"
    role = "ICC"
    _numbers = itertools.count()

    def on_start(self) -> None:
        self.patients: set[str] = set()
        self.sent: set[tuple] = set()
        super().on_start()

    @task(4)
    def referral_list(self) -> None:
        self.remember_referrals(self.get("/referrals/", f"referral list ({self.role})").text)

    @task(2)
    def referral_list_filtered(self) -> None:
        params = {name: random.choice(values) for name, values in FILTERS.items()}
        params = dict(random.sample(sorted(params.items()), k=random.randint(1, 2)))
        if random.random() < 0.3:
            params["referred_from"] = (date.today() - timedelta(days=90)).isoformat()
        page = self.get("/referrals/", "referral list, filtered (ICC)", params=params)
        self.remember_referrals(page.text)

    @task(5)
    def open_referral(self) -> None:
        for number in NHS_ON_PAGE.findall(self.referral_page()):
            self.patients.add(number.replace(" ", ""))

    @task(2)
    def waiting_list(self) -> None:
        self.remember_referrals(self.get("/referrals/waiting/", f"waiting list ({self.role})").text)

    @task(2)
    def intake(self) -> None:
        """The intake form as a person fills it in: the NHS number (the lookup), the service
        and needs (the remit check), then, six times in ten, send."""
        if not self.patients:
            self.open_referral()
        if not self.patients:
            return
        page = self.get("/referrals/new/", "new referral form")
        form = FormFields()
        form.feed(page.text)
        services = [(v, label) for v, label in form.options.get("service", []) if v]
        if not services or "submission" not in form.values:
            page.failure("the intake form has no services or no one-time token")
            return
        gevent.sleep(random.uniform(1, 3))  # typing the NHS number
        nhs_number = random.choice(sorted(self.patients))
        self.client.get(
            "/referrals/patient-lookup/",
            params={"nhs_number": nhs_number, "date_of_birth": ""},
            headers={"HX-Request": "true"},
            name="patient lookup (htmx)",
        )
        data = self._intake_data(form, services, nhs_number)
        if data is None:
            return
        gevent.sleep(random.uniform(1, 3))  # choosing the service and needs
        check = self.client.post(
            "/referrals/remit-check/",
            data,
            headers={"HX-Request": "true", "X-CSRFToken": data["csrfmiddlewaretoken"]},
            name="remit check (htmx)",
        )
        if random.random() < 0.4 or "already has an open referral" in check.text:
            # Left unsent: a person checking what a service would take, or told the patient is
            # already referred for this (also what a run 15 minutes before may have sent).
            return
        if "data-out-of-remit" in check.text:
            data["override_reason"] = "Nobody else covers this patient's village this week."
        gevent.sleep(random.uniform(2, 5))  # the reason, a last read
        # The send alone, then the referral's page it leads to, timed apart: the page is the
        # same as any referral's, and must say the referral was made.
        with self.client.post(
            "/referrals/new/",
            data,
            name="new referral sent",
            allow_redirects=False,
            catch_response=True,
        ) as sent:
            target = urlsplit(sent.headers.get("Location", "")).path
            if sent.status_code != 302 or not REFERRAL_PAGE.fullmatch(target):
                errors = re.findall(r"invalid-feedback[^>]*>(?:<[^>]+>)*([^<]+)", sent.text)
                sent.failure(f"referral not made: {sent.status_code} {errors[:3]}")
                return
        with self.client.get(
            target, name=f"referral page ({self.role})", catch_response=True
        ) as page:
            if "has been sent" not in page.text:
                page.failure("referral not made: sent already (the same form or the same content)")

    def _intake_data(self, form: FormFields, services, nhs_number: str) -> dict | None:
        for _ in range(10):  # never the same patient, service and needs twice in a run
            service_id, label = random.choice(services)
            name = html.unescape(label).split(" (")[0]
            choices = SERVICE_NEEDS.get(name) or ["befriending", "shopping", "transport"]
            needs = sorted(random.sample(choices, k=random.randint(1, min(2, len(choices)))))
            key = (nhs_number, service_id, tuple(needs))
            if key not in self.sent:
                self.sent.add(key)
                break
        else:
            return None
        data = dict(form.values)
        data.update(
            {
                "nhs_number": nhs_number,
                "destination_sector": "voluntary",
                "service": service_id,
                "needs": needs,
                "urgency": random.choice(["routine", "routine", "routine", "soon"]),
                "source": form.values.get("source") or "icc",
                "lawful_basis": "consent",
                "consent_method": random.choice(["in_person", "phone"]),
                "reason": f"Load test {uuid.uuid4().hex[:8]}: needs a hand after a fall.",
            }
        )
        return data


class VsoLead(Person):
    weight = 1
    account_pattern = "load-lead-{:02}@vso-load.example"
    accounts_option = "lead_accounts"
    role = "VSO lead"
    _numbers = itertools.count()

    @task(3)
    def remit_page(self) -> None:
        self.remember_referrals(self.get("/remit/", "remit page").text)

    @task(3)
    def referral_list(self) -> None:
        self.remember_referrals(self.get("/referrals/", f"referral list ({self.role})").text)

    @task(3)
    def open_referral(self) -> None:
        self.referral_page()

    @task(2)
    def concerns(self) -> None:
        self.get("/concerns/", "concerns list")


class Commissioner(Person):
    weight = 1
    account_pattern = "load-commissioner-{:02}@eastern-health.example"
    accounts_option = "commissioner_accounts"
    role = "commissioner"
    _numbers = itertools.count()

    def on_start(self) -> None:
        self.drill_downs: list[str] = []
        self.services: list[str] = []
        super().on_start()

    @task(4)
    def dashboard(self) -> None:
        page = self.get("/commissioner/dashboard/", "dashboard")
        self.drill_downs = [html.unescape(link) for link in DRILL_DOWN.findall(page.text)]

    @task(1)
    def dashboard_period(self) -> None:
        """A period of their own: not one of the nightly snapshots, so computed on the spot."""
        end = date.today() - timedelta(days=random.randint(1, 60))
        start = end - timedelta(days=random.choice([30, 90, 180]))
        params = {"date_from": start.isoformat(), "date_to": end.isoformat()}
        self.get("/commissioner/dashboard/", "dashboard, own period", params=params)

    @task(2)
    def drill_down(self) -> None:
        if not self.drill_downs:
            self.dashboard()
        if self.drill_downs:
            link = random.choice(self.drill_downs)
            kind = "breaches" if "/breaches/" in link else "overrides"
            self.get(link, f"dashboard drill-down ({kind})")

    @task(1)
    def dashboard_csv(self) -> None:
        section = random.choice(["by_month", "services", "capacity", "breaches"])
        self.get(f"/commissioner/dashboard/{section}.csv", "dashboard CSV")

    @task(3)
    def directory(self) -> None:
        page = self.get("/directory/", "directory")
        self.services = SERVICE_LINK.findall(page.text) or self.services

    @task(1)
    def directory_service(self) -> None:
        if not self.services:
            self.directory()
        if self.services:
            pk = random.choice(self.services)
            self.get(f"/directory/services/{pk}/", "directory service")

    @task(1)
    def waiting_list(self) -> None:
        self.get("/referrals/waiting/", f"waiting list ({self.role})")
