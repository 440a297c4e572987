"""Headers every page sends (#14 point 6): a strict Content-Security-Policy everywhere, nothing
kept in a browser's cache for anyone signed in, and CSV cells a spreadsheet cannot run."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from core.spreadsheets import SpreadsheetWriter, spreadsheet_safe
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_every_page_has_a_policy_that_allows_only_the_sites_own_scripts_and_styles(client, icc):
    anonymous = client.get(reverse("login"))
    client.force_login(icc)
    signed_in = client.get(reverse("referral_list"))

    for response in (anonymous, signed_in):
        policy = directives(response)
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert "unsafe" not in response["Content-Security-Policy"]


def test_the_admin_may_set_style_attributes_and_nothing_else_more(client, administrator):
    client.force_login(administrator)

    policy = directives(client.get("/admin/"))

    assert policy["style-src-attr"] == "'unsafe-inline'"
    assert policy["script-src"] == "'self'"


def test_no_template_has_an_inline_script_handler_or_style():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*="):
            offenders += [f"{path.relative_to(TEMPLATES)}: {m}" for m in re.findall(pattern, text)]
    assert offenders == []


def test_the_two_factor_qr_code_is_drawn_without_style_attributes(icc):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.two_factor import qr_code_svg

    svg = qr_code_svg(TOTPDevice.objects.create(user=icc, confirmed=False))

    assert svg.startswith("<svg") and "style" not in svg and "<script" not in svg


def test_a_patients_page_is_not_kept_by_the_browser(client, icc, home_from_hospital):
    referral = ReferralFactory(referrer=icc, service=home_from_hospital)
    client.force_login(icc)

    for url in (
        reverse("referral_detail", args=[referral.pk]),
        reverse("referral_list"),
        reverse("patient_lookup") + "?nhs_number=" + referral.patient.nhs_number,
    ):
        cache_control = client.get(url)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, url


def test_production_adds_hsts_and_keeps_frames_and_referrers_in(settings):
    from vsocare import settings as project

    assert project.SECURE_REFERRER_POLICY == "same-origin"
    assert project.X_FRAME_OPTIONS == "DENY"
    assert project.SECURE_CONTENT_TYPE_NOSNIFF


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
        ("Edna = fine", "Edna = fine"), ("", ""), (-3, -3), (2.5, 2.5), (None, None),
    ],
)  # fmt: skip
def test_a_cell_that_a_spreadsheet_would_run_is_written_as_text(cell, written):
    assert spreadsheet_safe(cell) == written


def test_the_access_log_csv_writes_a_formula_name_as_text(
    client, administrator, icc, home_from_hospital
):
    from referrals.models import AccessKind
    from referrals.services_access import access_record

    referral = ReferralFactory(referrer=icc, service=home_from_hospital)
    icc.full_name = "=cmd|' /C calc'!A0"
    icc.save()
    access_record(user=icc, kind=AccessKind.REFERRAL_VIEW, referral=referral)
    client.force_login(administrator)

    response = client.post(reverse("access_log_csv"), {"nhs_number": referral.patient.nhs_number})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert any("'=cmd|' /C calc'!A0" in row for row in rows), rows


def test_the_writer_makes_every_row_safe():
    stream = io.StringIO()

    SpreadsheetWriter(stream).writerows([["=1", 2], ["a", "-b"]])

    assert stream.getvalue().splitlines() == ["'=1,2", "a,'-b"]
