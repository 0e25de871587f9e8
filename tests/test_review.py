"""Post-hoc prescription review (事后点评): the monthly draw (per clinician, topped up per reviewing
institution to the rule's minimum, only the month's approvals, once, the same every time) and the
pharmacists' scores (the checklist's categories, one score only, the reviewing institution's
pharmacists only), through the services, the pages and the API."""

import threading
from datetime import date

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from accounts.roles import Role
from audit import tasks
from audit.exceptions import ReviewConflict
from audit.models import ReviewRound, ReviewSample, ReviewScore, Verdict
from audit.review.checklist import ITEMS
from audit.review.selectors import review_samples_for
from audit.review.services import month_seed, review_draw, review_score, rule_minimum

from .dashboard_history import HIGH, History, local
from .factories import UserFactory

MARCH = date(2026, 3, 1)
APPROVED = {"ai_audited": 1, "approved": 20}
SAMPLES = "/api/v1/review/samples/"


def approved(history: History, clinician, at, **kwargs):
    return history.walk(history.write(clinician, at=at, **kwargs), APPROVED)


def drawn(month=MARCH) -> set[int]:
    return set(ReviewSample.objects.filter(round__month=month).values_list("prescription_id", flat=True))


@pytest.fixture
def colleague(county):
    """A second clinician of T001, whose prescriptions are audited at H001 too."""
    return UserFactory(username="colleague", name="张医生", institution=county["T001"], roles=[Role.CLINICIAN])


@pytest.fixture
def march(history, people, colleague):
    """Five prescriptions of the clinician and one of the colleague approved in March 2026."""
    mine = [approved(history, people["clinician"], local(2026, 3, day)) for day in (2, 3, 4, 5, 6)]
    theirs = [approved(history, colleague, local(2026, 3, 9))]
    return {"clinician": {p.pk for p in mine}, "colleague": {p.pk for p in theirs}}


def per_clinician(month=MARCH) -> dict[str, int]:
    samples = ReviewSample.objects.filter(round__month=month)
    return {user.username: samples.filter(prescriber=user).count() for user in {s.prescriber for s in samples}}


# --- Drawing ----------------------------------------------------------------------------------------------------


def test_each_clinician_gets_the_configured_number_drawn_at_random(settings, march):
    settings.TCM_REVIEW_SAMPLE_PER_CLINICIAN = 2

    made = review_draw(month=MARCH, minimum=0, share=0)

    assert per_clinician() == {"clinician": 2, "colleague": 1}  # all of the colleague's one
    assert drawn() <= march["clinician"] | march["colleague"]
    assert (made.per_clinician, made.approved, made.seed) == (2, 6, 202603)
    assert not ReviewSample.objects.filter(topped_up=True).exists()


def test_the_setting_gives_five_per_clinician_by_default(settings, history, people):
    assert settings.TCM_REVIEW_SAMPLE_PER_CLINICIAN == 5
    for day in range(2, 9):
        approved(history, people["clinician"], local(2026, 3, day))

    review_draw(month=MARCH, minimum=0, share=0)

    assert per_clinician() == {"clinician": 5}


def test_a_month_of_fewer_than_a_hundred_approvals_is_reviewed_whole(settings, march):
    """The rule: at least 100 a month, all of them if fewer; the per-clinician draw is topped up."""
    settings.TCM_REVIEW_SAMPLE_PER_CLINICIAN = 2

    review_draw(month=MARCH)

    assert drawn() == march["clinician"] | march["colleague"]
    assert ReviewSample.objects.filter(topped_up=True).count() == 3  # the clinician's other three


def test_the_top_up_draws_only_what_the_minimum_lacks_from_those_not_yet_drawn(settings, march):
    settings.TCM_REVIEW_SAMPLE_PER_CLINICIAN = 2

    review_draw(month=MARCH, minimum=4)

    assert len(drawn()) == 4
    assert per_clinician() == {"clinician": 3, "colleague": 1}
    assert ReviewSample.objects.filter(topped_up=True).count() == 1


def test_the_rules_minimum_is_a_hundred_or_half_a_percent_and_never_more_than_there_are():
    assert [rule_minimum(n) for n in (0, 7, 100, 101, 20_000, 20_001, 30_000)] == [0, 7, 100, 100, 100, 101, 150]


def test_the_minimum_is_met_for_each_reviewing_institution(settings, history, people, county):
    """T003's prescriptions are audited, and so reviewed, at C002 once C002 has a pharmacist."""
    c002 = UserFactory(username="c002-pharmacist", institution=county["C002"], roles=[Role.PHARMACIST])
    settings.TCM_REVIEW_SAMPLE_PER_CLINICIAN = 1
    for day in (2, 3, 4):
        approved(history, people["clinician"], local(2026, 3, day))
        history.walk(history.write(people["outsider"], at=local(2026, 3, day)), APPROVED, pharmacist=c002)

    review_draw(month=MARCH, minimum=2)

    routed = {code: ReviewSample.objects.filter(routed_to__code=code).count() for code in ("H001", "C002")}
    assert routed == {"H001": 2, "C002": 2}
    assert set(ReviewSample.objects.filter(routed_to__code="C002").values_list("prescriber__username", flat=True)) == {
        "outsider"
    }


def test_only_prescriptions_approved_in_that_local_month_are_drawn(history, people):
    clinician = people["clinician"]
    in_february = approved(history, clinician, local(2026, 2, 27))
    submitted_feb_approved_march = history.walk(
        history.write(clinician, at=local(2026, 2, 28, 23, 50)), {"ai_audited": 1, "approved": 20}
    )
    last_minute_of_march = history.walk(
        history.write(clinician, at=local(2026, 3, 31, 23, 30)), {"ai_audited": 1, "approved": 29}
    )
    first_minute_of_april = history.walk(
        history.write(clinician, at=local(2026, 3, 31, 23, 50)), {"ai_audited": 1, "approved": 11}
    )
    rejected = history.walk(history.write(clinician, at=local(2026, 3, 10)), {"ai_audited": 1, "rejected": 20})
    waiting = history.walk(history.write(clinician, at=local(2026, 3, 11)), {"ai_audited": 1})
    submitted = history.write(clinician, at=local(2026, 3, 12))

    review_draw(month=MARCH)

    assert drawn() == {submitted_feb_approved_march.pk, last_minute_of_march.pk}
    assert not drawn() & {in_february.pk, first_minute_of_april.pk, rejected.pk, waiting.pk, submitted.pk}
    assert ReviewRound.objects.get(month=MARCH).approved == 2


def test_drawing_a_month_twice_draws_nothing_new(history, people, march):
    first = review_draw(month=MARCH, minimum=0)
    before = drawn()
    approved(history, people["clinician"], local(2026, 3, 20))  # written into March afterwards

    again = review_draw(month=date(2026, 3, 17))

    assert again.pk == first.pk
    assert drawn() == before
    assert ReviewRound.objects.count() == 1


def test_the_same_month_and_approvals_draw_the_same_sample(settings, march):
    settings.TCM_REVIEW_SAMPLE_PER_CLINICIAN = 2
    review_draw(month=MARCH, minimum=0)
    first = drawn()
    ReviewSample.objects.all().delete()
    ReviewRound.objects.all().delete()

    review_draw(month=MARCH, minimum=0)

    assert drawn() == first
    assert month_seed(MARCH) == 202603


def test_a_month_is_drawn_only_once_it_has_ended(march):
    with time_machine.travel(local(2026, 3, 31, 23, 59), tick=False), pytest.raises(ValidationError) as refused:
        review_draw(month=MARCH)

    assert "month" in refused.value.message_dict
    assert not ReviewRound.objects.exists()


def test_beat_draws_the_previous_month_daily_and_a_second_run_draws_nothing(settings, march):
    entry = {"task": "audit.draw_review_sample", "schedule": settings.CELERY_BEAT_SCHEDULE["review-draw"]["schedule"]}
    assert entry in settings.CELERY_BEAT_SCHEDULE.values()

    with time_machine.travel(local(2026, 4, 1, 1, 10), tick=False):
        tasks.draw_review_sample()
        tasks.draw_review_sample()
    tasks.draw_review_sample("2026-03")

    assert list(ReviewRound.objects.values_list("month", flat=True)) == [MARCH]
    assert drawn() == march["clinician"] | march["colleague"]


# --- Scoring ----------------------------------------------------------------------------------------------------


@pytest.fixture
def sample(history, colleague):
    """The colleague's one approved prescription of March, drawn for review at H001."""
    approved(history, colleague, local(2026, 3, 9))
    review_draw(month=MARCH)
    return ReviewSample.objects.get()


def test_a_pharmacist_scores_a_sample_with_reasons_of_the_verdicts_category(pharmacist, sample):
    score = review_score(
        pharmacist=pharmacist, sample=sample, verdict=Verdict.INAPPROPRIATE, reasons=["2-8", "2-1", "2-8"]
    )

    score.refresh_from_db()
    assert (score.verdict, score.reasons, score.pharmacist) == (Verdict.INAPPROPRIATE, ["2-1", "2-8"], pharmacist)


@pytest.mark.parametrize(
    ("verdict", "reasons", "comment", "field"),
    [
        (Verdict.APPROPRIATE, ["1-1"], "", "reasons"),  # an appropriate prescription has no reasons
        (Verdict.NONSTANDARD, [], "", "reasons"),  # an irrational one at least one
        (Verdict.NONSTANDARD, ["2-8"], "", "reasons"),  # of its own category
        (Verdict.EXCESSIVE, ["1-10", "3-2"], "", "reasons"),
        (Verdict.INAPPROPRIATE, ["9-9"], "", "reasons"),  # not an item at all
        ("wrong", [], "", "verdict"),
        (Verdict.INAPPROPRIATE, ["2-9"], " ", "comment"),  # "other": the comment says what
        (Verdict.APPROPRIATE, [], "长" * 501, "comment"),
    ],
)
def test_the_checklist_refuses_a_score_at_its_field_and_saves_nothing(
    pharmacist, sample, verdict, reasons, comment, field
):
    with pytest.raises(ValidationError) as refused:
        review_score(pharmacist=pharmacist, sample=sample, verdict=verdict, reasons=reasons, comment=comment)

    assert list(refused.value.message_dict) == [field]
    assert not ReviewScore.objects.exists()


def test_every_irrational_category_has_items_with_the_regulations_clause_codes():
    assert set(ITEMS) == {Verdict.NONSTANDARD, Verdict.INAPPROPRIATE, Verdict.EXCESSIVE}
    prefixes = {Verdict.NONSTANDARD: "1-", Verdict.INAPPROPRIATE: "2-", Verdict.EXCESSIVE: "3-"}
    assert all(item.code.startswith(prefixes[verdict]) for verdict, items in ITEMS.items() for item in items)


def test_a_second_score_is_a_conflict_and_changes_nothing(pharmacist, sample, county):
    other = UserFactory(username="pharmacist2", institution=county["H001"], roles=[Role.PHARMACIST])
    review_score(pharmacist=pharmacist, sample=sample, verdict=Verdict.APPROPRIATE)

    with pytest.raises(ReviewConflict):
        review_score(pharmacist=other, sample=sample, verdict=Verdict.EXCESSIVE, reasons=["3-2"])

    assert ReviewScore.objects.get().verdict == Verdict.APPROPRIATE


@pytest.mark.django_db(transaction=True)
def test_two_pharmacists_scoring_at_the_same_moment_make_exactly_one_score(catalogue, people, enqueued, county):
    history = History(people)
    approved(history, people["clinician"], local(2026, 3, 2))
    review_draw(month=MARCH)
    sample = ReviewSample.objects.get()
    other = UserFactory(username="pharmacist2", institution=county["H001"], roles=[Role.PHARMACIST])
    barrier, outcomes = threading.Barrier(2), {}

    def score_in_thread(user, verdict, reasons):
        try:
            mine = ReviewSample.objects.get(pk=sample.pk)
            barrier.wait(timeout=30)
            outcomes[user.username] = review_score(pharmacist=user, sample=mine, verdict=verdict, reasons=reasons)
        except Exception as exc:  # noqa: BLE001 - the assertion below names whatever happened
            outcomes[user.username] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=score_in_thread, args=(people["pharmacist"], Verdict.APPROPRIATE, [])),
        threading.Thread(target=score_in_thread, args=(other, Verdict.EXCESSIVE, ["3-2"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert sorted(type(o).__name__ for o in outcomes.values()) == ["ReviewConflict", "ReviewScore"], outcomes
    winner = next(o for o in outcomes.values() if isinstance(o, ReviewScore))
    assert ReviewScore.objects.get().verdict == winner.verdict


def test_a_pharmacist_of_another_institution_sees_and_scores_nothing(client, county, sample):
    elsewhere = UserFactory(username="c002-pharmacist", institution=county["C002"], roles=[Role.PHARMACIST])

    assert not review_samples_for(elsewhere).exists()
    with pytest.raises(PermissionDenied):
        review_score(pharmacist=elsewhere, sample=sample, verdict=Verdict.APPROPRIATE)
    client.force_login(elsewhere)
    assert client.get(f"/audit/review/{sample.pk}/").status_code == 404
    assert client.post(f"{SAMPLES}{sample.pk}/score/", {"verdict": "appropriate"}).status_code == 404
    assert client.get(SAMPLES).json()["count"] == 0
    assert not ReviewScore.objects.exists()


def test_a_pharmacist_who_also_prescribes_does_not_review_their_own_prescription(history, county):
    both = UserFactory(username="both", institution=county["H001"], roles=[Role.PHARMACIST, Role.CLINICIAN])
    approved(history, both, local(2026, 3, 2))
    review_draw(month=MARCH)
    own = ReviewSample.objects.get(prescriber=both)

    assert not review_samples_for(both).exists()
    with pytest.raises(PermissionDenied):
        review_score(pharmacist=both, sample=own, verdict=Verdict.APPROPRIATE)


@pytest.mark.parametrize("persona", ["outsider", "clinician", "county_admin", "dispenser"])
def test_people_without_the_review_capability_are_refused_pages_and_api(client, people, dispenser, sample, persona):
    people = {**people, "dispenser": dispenser}
    client.force_login(people[persona])

    assert client.get("/audit/review/").status_code == 403
    assert client.get(f"/audit/review/{sample.pk}/").status_code == 403
    assert client.get(SAMPLES).status_code == 403
    assert client.post(f"{SAMPLES}{sample.pk}/score/", {"verdict": "appropriate"}).status_code == 403
    with pytest.raises(PermissionDenied):
        review_score(pharmacist=people[persona], sample=sample, verdict=Verdict.APPROPRIATE)


# --- Pages ------------------------------------------------------------------------------------------------------


def test_the_review_page_lists_the_months_sample_and_opens_one_read_only(client, people, history, pharmacist):
    clinician = people["clinician"]
    p = history.walk(
        history.write(clinician, at=local(2026, 3, 2), herbs=HIGH, doses=3), {"ai_audited": 1, "approved": 30}
    )
    review_draw(month=MARCH)
    sample = ReviewSample.objects.get()
    client.force_login(pharmacist)

    listing = client.get("/audit/review/", {"month": "2026-03"}).content.decode()
    page = client.get(f"/audit/review/{sample.pk}/").content.decode()

    assert p.display_number in listing and "李医生" in listing and "待点评" in listing
    for shown in ("甘草", "甘遂", "3 剂", "胃痛", "十八反", "通过", "医师已双签，病情需要"):
        assert shown in page, shown
    assert 'name="verdict"' in page and 'value="2-8"' in page


def test_the_score_form_shows_a_refusal_at_its_field_and_a_saved_score_moves_on(client, pharmacist, march):
    review_draw(month=MARCH, minimum=0, share=0)
    first, second = ReviewSample.objects.order_by("pk")[:2]
    client.force_login(pharmacist)

    refused = client.post(f"/audit/review/{first.pk}/", {"verdict": "nonstandard", "reasons": ["2-8"]})
    saved = client.post(
        f"/audit/review/{first.pk}/", {"verdict": "nonstandard", "reasons": ["1-10"], "comment": "未写证型"}
    )
    again = client.post(f"/audit/review/{first.pk}/", {"verdict": "appropriate"})

    assert refused.status_code == 400
    assert 'id="reasons-error"' in refused.content.decode() and 'value="2-8" checked' in refused.content.decode()
    assert saved.status_code == 302 and saved["Location"] != f"/audit/review/{first.pk}/"
    score = ReviewScore.objects.get()
    assert (score.sample, score.verdict, score.reasons, score.comment) == (first, "nonstandard", ["1-10"], "未写证型")
    assert again.status_code == 409 and "已点评" in again.content.decode()
    assert "1-10" in client.get(f"/audit/review/{first.pk}/").content.decode()
    assert second.pk != first.pk


# --- API --------------------------------------------------------------------------------------------------------


def test_the_api_lists_scores_and_refuses_a_second_score_with_409(client, pharmacist, sample):
    client.force_login(pharmacist)
    url = f"{SAMPLES}{sample.pk}/score/"

    listed = client.get(SAMPLES, {"month": "2026-03"}).json()
    made = client.post(
        url, {"verdict": "excessive", "reasons": ["3-2"], "comment": "人参无指征"}, content_type="application/json"
    )
    second = client.post(url, {"verdict": "appropriate"}, content_type="application/json")

    assert listed["count"] == ReviewSample.objects.count()
    assert made.status_code == 201 and made.json()["reasons"] == ["3-2"]
    assert second.status_code == 409 and second.json()["detail"]
    row = next(r for r in client.get(SAMPLES).json()["results"] if r["id"] == sample.pk)
    assert row["score"]["verdict"] == "excessive" and row["month"] == "2026-03-01"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"verdict": "nonstandard", "reasons": ["2-8"]}, "reasons"),  # another category's item
        ({"verdict": "nonstandard", "reasons": ["1-1", "9-9"]}, "reasons[1]"),
        ({"verdict": "fine"}, "verdict"),
        ({"verdict": "appropriate", "comment": 5}, "comment"),
    ],
)
def test_the_api_refuses_bad_input_at_its_field_path(client, pharmacist, sample, body, path):
    client.force_login(pharmacist)

    response = client.post(f"{SAMPLES}{sample.pk}/score/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [path]
    assert not ReviewScore.objects.exists()


def test_the_api_refuses_a_month_that_is_not_one_at_its_field(client, pharmacist, sample):
    client.force_login(pharmacist)

    response = client.get(SAMPLES, {"month": "2026-13"})

    assert response.status_code == 400 and list(response.json()["errors"]) == ["month"]


def test_the_api_serves_the_checklist_with_its_source(client, pharmacist):
    client.force_login(pharmacist)

    categories = client.get("/api/v1/review/checklist/").json()

    assert [c["verdict"] for c in categories] == ["nonstandard", "inappropriate", "excessive"]
    assert "第二十九条" in categories[1]["source"] and any(i["code"] == "2-8" for i in categories[1]["items"])
