from referrals.reports.tables import concerns_by_addressee


def pair(addressed_to, raised_by, *, open, past_deadline=0, serious=0, oldest="2026-11-01"):
    return {
        "addressed_to": addressed_to, "raised_by": raised_by, "open": open,
        "awaiting_acknowledgement": open, "past_deadline": past_deadline, "serious": serious,
        "oldest_raised_on": oldest,
    }  # fmt: skip


def test_concerns_are_summed_per_organisation_addressed_those_past_deadline_first():
    rows = concerns_by_addressee([
        pair("Aldgate Trust", "Red Cross", open=5),
        pair("Zetland Council", "Red Cross", open=1, past_deadline=1, oldest="2026-10-02"),
        pair("Zetland Council", "Age Concern", open=2, past_deadline=1, serious=1,
             oldest="2026-09-30"),
        pair("Middle Practice", "Age Concern", open=1, past_deadline=1),
    ])  # fmt: skip

    assert [(r["addressed_to"], r["raised_by"], r["open"], r["past_deadline"]) for r in rows] == [
        ("Zetland Council", 2, 3, 2),
        ("Middle Practice", 1, 1, 1),
        ("Aldgate Trust", 1, 5, 0),
    ]
    assert (rows[0]["serious"], rows[0]["oldest_raised_on"]) == (1, "2026-09-30")


def test_no_open_concerns_make_no_rows():
    assert concerns_by_addressee([]) == []
