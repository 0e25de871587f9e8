"""The review dashboard against a small reviewed history counted by hand: per month the
prescriptions sampled and reviewed and each verdict, the irrational rate per clinician and per
institution, the reasons found; its place in the audit dashboard's clinician view; scope per
persona; the CSV; bad filters."""

import csv
import io
from datetime import date

import pytest

from audit.models import ReviewSample, Verdict
from audit.review.services import review_draw, review_score
from dashboards.rollups import refresh

from .dashboard_history import local, page, table

FEB_MAR = {"start": "2026-02-15", "end": "2026-03-10"}  # touches February and March whole
APPROVED = {"ai_audited": 1, "approved": 20}


@pytest.fixture
def reviewed(history, people):
    """Approved and drawn whole (fewer than 100 a month): February c1 c2 of the clinician, o1 of
    the outsider; March c3, o2, o3. Scored: c1 appropriate, c2 non-standard (1-10), o1
    inappropriate (2-8, 2-1), o2 excessive (3-2), o3 appropriate; c3 not yet."""
    clinician, outsider = people["clinician"], people["outsider"]
    made = {}
    for name, who, at in (
        ("c1", clinician, local(2026, 2, 3)),
        ("c2", clinician, local(2026, 2, 4)),
        ("o1", outsider, local(2026, 2, 5)),
        ("c3", clinician, local(2026, 3, 3)),
        ("o2", outsider, local(2026, 3, 4)),
        ("o3", outsider, local(2026, 3, 5)),
    ):
        made[name] = history.walk(history.write(who, at=at), APPROVED)
    review_draw(month=date(2026, 2, 1))
    review_draw(month=date(2026, 3, 1))
    for name, verdict, reasons in (
        ("c1", Verdict.APPROPRIATE, []),
        ("c2", Verdict.NONSTANDARD, ["1-10"]),
        ("o1", Verdict.INAPPROPRIATE, ["2-8", "2-1"]),
        ("o2", Verdict.EXCESSIVE, ["3-2"]),
        ("o3", Verdict.APPROPRIATE, []),
    ):
        sample = ReviewSample.objects.get(prescription=made[name])
        review_score(pharmacist=people["pharmacist"], sample=sample, verdict=verdict, reasons=reasons)
    refresh(full=True)
    return made


def tiles(response) -> dict:
    return {str(label): value for label, value in response.context["figures"].tiles}


def rows(response, name, *keys) -> list[tuple]:
    return [tuple(r[k] for k in keys) for r in table(response, name)]


VERDICTS = ("sampled", "scored", "appropriate", "nonstandard", "inappropriate", "excessive", "irrational_rate")


def test_the_county_sees_each_months_sample_verdicts_and_irrational_rate(client, people, reviewed):
    response = page(client, people["county_admin"], "review", **FEB_MAR)

    assert response.status_code == 200
    assert rows(response, "months", "month", *VERDICTS) == [
        (date(2026, 2, 1), 3, 3, 1, 1, 1, 0, 0.667),
        (date(2026, 3, 1), 3, 2, 1, 0, 0, 1, 0.5),
    ]
    assert tiles(response) == {"抽取": 6, "已点评": 5, "待点评": 1, "不合理处方率": 0.6}


def test_the_irrational_rate_per_clinician_and_institution_and_the_reasons_found(client, people, reviewed):
    response = page(client, people["county_admin"], "review", **FEB_MAR)

    assert rows(
        response, "clinicians", "clinician", "institution", "sampled", "scored", "irrational", "irrational_rate"
    ) == [
        ("外乡医生", "柳溪乡卫生院", 3, 3, 2, 0.667),
        ("李医生", "白塔乡卫生院", 3, 2, 1, 0.5),
    ]
    assert rows(response, "institutions", "institution", "irrational_rate") == [
        ("柳溪乡卫生院", 0.667),
        ("白塔乡卫生院", 0.5),
    ]
    assert rows(response, "reasons", "code", "category", "scores") == [
        ("1-10", "不规范处方", 1),
        ("2-1", "用药不适宜处方", 1),
        ("2-8", "用药不适宜处方", 1),
        ("3-2", "超常处方", 1),
    ]


def test_a_range_counts_the_months_it_touches(client, people, reviewed):
    march_only = page(client, people["county_admin"], "review", start="2026-03-20", end="2026-03-25")

    assert rows(march_only, "months", "month", "sampled") == [(date(2026, 3, 1), 3)]


def test_the_review_feeds_the_audit_dashboards_clinician_view(client, people, reviewed):
    response = page(client, people["county_admin"], "audit", start="2026-02-01", end="2026-03-31")

    assert rows(response, "behaviour", "clinician", "scored", "irrational_rate") == [
        ("外乡医生", 3, 0.667),
        ("李医生", 2, 0.5),
    ]
    assert response.context["figures"].extra["county"]["irrational_rate"] == 0.6


def test_each_persona_sees_its_own_scope(client, people, reviewed):
    centre = page(client, people["centre_admin"], "review", **FEB_MAR)
    own = page(client, people["clinician"], "review", **FEB_MAR)
    widened = page(client, people["clinician"], "review", clinician=people["outsider"].pk, **FEB_MAR)

    assert rows(centre, "clinicians", "clinician", "sampled") == [("李医生", 3)]
    assert rows(own, "months", "month", "sampled", "scored") == [(date(2026, 2, 1), 2, 2), (date(2026, 3, 1), 1, 0)]
    assert tiles(own)["不合理处方率"] == 0.5
    assert table(widened, "clinicians") == table(own, "clinicians")
    assert "外乡医生" not in centre.content.decode() + own.content.decode()
    assert page(client, people["pharmacist"], "review").status_code == 403


def test_the_months_table_downloads_as_csv(client, people, reviewed):
    response = page(client, people["county_admin"], "review", format="csv", table="months", **FEB_MAR)

    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0] == [
        "月份",
        "抽取",
        "已点评",
        "合理处方",
        "不规范处方",
        "用药不适宜处方",
        "超常处方",
        "不合理",
        "不合理处方率",
    ]
    assert lines[1] == ["2026-02-01", "3", "3", "1", "1", "1", "0", "2", "0.667"]


def test_a_bad_filter_is_a_400_at_its_field(client, people, reviewed):
    response = page(client, people["county_admin"], "review", start="2026-04-01", end="2026-03-01")

    assert response.status_code == 400 and "start" in response.context["form"].errors
    assert "figures" not in response.context


def test_the_supervision_report_takes_its_irrational_rate_from_the_review(client, people, reviewed):
    """The county in March: 1 irrational (o2) of 2 scored (o2, o3; c3 waits); in February 2 of 3.
    C001's subtree: in March only c3, not yet scored; in February 1 (c2) of 2."""
    county = page(client, people["county_admin"], "supervision", month="2026-03")
    centre = page(client, people["centre_admin"], "supervision", month="2026-03")

    def rate(response):
        return next((r["now"], r["was"]) for r in table(response, "indicators") if "事后点评" in str(r["indicator"]))

    assert rate(county) == (0.5, 0.667)
    assert (str(rate(centre)[0]), rate(centre)[1]) == ("尚无点评", 0.5)
