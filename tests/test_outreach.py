"""The visiting-expert schedule (巡回坐诊, outreach): the overlap rule and who may edit, the consult
link pulled from the prescriptions, through the services; the API and the public page are in
tests/test_outreach_api.py."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.roles import Role
from outreach.models import ClinicSession, SessionConsult
from outreach.services import session_cancel, session_save
from outreach.tasks import link_consults
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm

from .dashboard_history import page, table
from .factories import PatientFactory, UserFactory

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2027, 3, 8)  # a Monday, in the future of every test but the ones that travel to it


@pytest.fixture
def expert(county):
    return UserFactory(username="expert", name="陈国医", institution=county["H001"], roles=[Role.CLINICIAN])


def book(actor, expert, place, starts="08:30", ends="11:30", day=DAY, **kwargs):
    return session_save(
        actor=actor,
        expert=expert,
        institution=place,
        date=day,
        starts_at=time.fromisoformat(starts),
        ends_at=time.fromisoformat(ends),
        **kwargs,
    )


def test_an_expert_booked_at_an_overlapping_time_elsewhere_is_refused_naming_the_other_session_and_nothing_is_saved(
    county_admin, expert, county
):
    book(county_admin, expert, county["T001"])

    with pytest.raises(ValidationError) as refused:
        book(county_admin, expert, county["T003"], starts="10:00", ends="12:00", note="下午")

    message = refused.value.message_dict["starts_at"][0]
    assert "白塔乡卫生院" in message and "08:30" in message and "11:30" in message and "2027-03-08" in message
    assert ClinicSession.objects.count() == 1


def test_a_change_that_makes_two_sessions_overlap_is_refused_and_leaves_the_session_as_it_was(
    county_admin, expert, county
):
    book(county_admin, expert, county["T001"])
    afternoon = book(county_admin, expert, county["T003"], starts="13:30", ends="16:30")

    with pytest.raises(ValidationError):
        book(county_admin, expert, county["T003"], starts="11:00", ends="16:30", session=afternoon)

    afternoon.refresh_from_db()
    assert afternoon.starts_at == time(13, 30)


def test_sessions_that_only_touch_and_sessions_of_other_days_or_experts_are_allowed(county_admin, expert, county):
    other = UserFactory(institution=county["H001"], roles=[Role.CLINICIAN])
    book(county_admin, expert, county["T001"], starts="08:30", ends="11:30")

    book(county_admin, expert, county["T003"], starts="11:30", ends="14:00")
    book(county_admin, expert, county["T003"], day=DAY + timedelta(days=1))
    book(county_admin, other, county["T001"])

    assert ClinicSession.objects.count() == 4


def test_a_cancelled_session_no_longer_blocks_the_experts_time(county_admin, expert, county):
    first = book(county_admin, expert, county["T001"])
    session_cancel(actor=county_admin, session=first)

    book(county_admin, expert, county["T003"])

    assert ClinicSession.objects.filter(cancelled_at__isnull=True).count() == 1
    with pytest.raises(ValidationError):
        book(county_admin, expert, county["T001"], session=first, note="恢复")


def test_a_session_must_end_after_it_starts_and_not_be_made_in_the_past(county_admin, expert, county):
    with pytest.raises(ValidationError) as backwards:
        book(county_admin, expert, county["T001"], starts="11:00", ends="09:00")
    with pytest.raises(ValidationError) as past:
        book(county_admin, expert, county["T001"], day=date(2020, 1, 6))

    assert set(backwards.value.message_dict) == {"ends_at"}
    assert set(past.value.message_dict) == {"date"}
    assert not ClinicSession.objects.exists()


def test_only_a_clinician_sits_as_the_expert_and_only_at_a_health_centre(county_admin, pharmacist, expert, county):
    with pytest.raises(ValidationError) as not_clinician:
        book(county_admin, pharmacist, county["T001"])
    with pytest.raises(ValidationError) as not_centre:
        book(county_admin, expert, county["P001"])

    assert set(not_clinician.value.message_dict) == {"expert"}
    assert set(not_centre.value.message_dict) == {"institution"}


def test_an_administrator_outside_the_centres_subtree_or_a_clinician_cannot_edit_its_schedule(
    centre_admin, clinician, county_admin, expert, county
):
    book(centre_admin, expert, county["T001"])  # C001 is above T001
    with pytest.raises(PermissionDenied):
        book(centre_admin, expert, county["T003"], starts="13:00", ends="15:00")  # T003 is under C002
    with pytest.raises(PermissionDenied):
        book(clinician, expert, county["T001"], starts="13:00", ends="15:00")
    at_t003 = book(county_admin, expert, county["T003"], starts="13:00", ends="15:00")
    with pytest.raises(PermissionDenied):
        session_cancel(actor=centre_admin, session=at_t003)
    with pytest.raises(PermissionDenied):
        book(centre_admin, expert, county["T001"], session=at_t003)  # moving it into its subtree

    assert ClinicSession.objects.filter(cancelled_at__isnull=True).count() == 2


# --- The consult link ------------------------------------------------------------------------------------------


def submit_at(expert, patient_place, at: datetime, patient=None):
    with time_machine.travel(at, tick=False):
        prescription, _created = prescription_submit(
            actor=expert,
            patient=patient or PatientFactory(institution=patient_place),
            form=PrescriptionForm.of(
                {
                    "consult": {"tcm_disease": "胃痛"},
                    "items": [{"herb": "党参", "grams": "10"}, {"herb": "白术", "grams": "10"}],
                    "doses": 7,
                    "usage": "每日1剂，水煎分2次温服",
                    "delivery_address": "白塔乡白塔村1号",
                }
            ),
        )
    return prescription


def test_a_prescription_the_expert_submits_during_the_session_for_the_centres_patient_is_linked_once(
    county_admin, expert, county, catalogue
):
    session = book(county_admin, expert, county["T001"])
    during = submit_at(expert, county["V001"], datetime.combine(DAY, time(9, 15), SHANGHAI))
    after = submit_at(expert, county["T001"], datetime.combine(DAY, time(12, 5), SHANGHAI))
    elsewhere = submit_at(expert, county["T003"], datetime.combine(DAY, time(10, 0), SHANGHAI))

    with time_machine.travel(datetime.combine(DAY, time(18, 0), SHANGHAI), tick=False):
        link_consults()
        link_consults()

    assert list(SessionConsult.objects.values_list("session_id", "prescription_id")) == [(session.pk, during.pk)]
    assert after.pk != during.pk != elsewhere.pk


def test_a_cancelled_session_links_nothing(county_admin, expert, county, catalogue):
    session = book(county_admin, expert, county["T001"])
    session_cancel(actor=county_admin, session=session)
    submit_at(expert, county["T001"], datetime.combine(DAY, time(9, 15), SHANGHAI))

    with time_machine.travel(datetime.combine(DAY, time(18, 0), SHANGHAI), tick=False):
        link_consults()

    assert not SessionConsult.objects.exists()


def test_the_supervision_report_counts_the_months_sessions_with_their_patients_and_prescriptions_in_scope(
    client, county_admin, centre_admin, expert, county, catalogue
):
    """By hand: at T001 on 8 March, 3 prescriptions for 2 patients; at T003 on 9 March, 1 for 1;
    a cancelled session on 10 March is not held. C001's administrator sees only T001's session."""
    at_t001 = book(county_admin, expert, county["T001"])
    book(county_admin, expert, county["T003"], day=DAY + timedelta(days=1), starts="14:00", ends="17:00")
    dropped = book(county_admin, expert, county["T001"], day=DAY + timedelta(days=2))
    session_cancel(actor=county_admin, session=dropped)
    twice = PatientFactory(institution=county["T001"])
    for minute, patient in ((0, twice), (20, twice), (40, None)):
        submit_at(expert, county["T001"], datetime.combine(DAY, time(9, minute), SHANGHAI), patient=patient)
    submit_at(expert, county["T003"], datetime.combine(DAY + timedelta(days=1), time(15, 0), SHANGHAI))
    with time_machine.travel(datetime.combine(DAY + timedelta(days=1), time(18, 0), SHANGHAI), tick=False):
        link_consults()

    with time_machine.travel(datetime(2027, 4, 2, 9, 0, tzinfo=SHANGHAI), tick=False):
        county_rows = table(page(client, county_admin, "supervision", month="2027-03"), "sessions")
        centre_rows = table(page(client, centre_admin, "supervision", month="2027-03"), "sessions")

    counted = [(r["date"], r["time"], r["centre"], r["expert"], r["patients"], r["prescriptions"]) for r in county_rows]
    assert counted == [
        (DAY, "08:30-11:30", "白塔乡卫生院", "陈国医", 2, 3),
        (DAY + timedelta(days=1), "14:00-17:00", "柳溪乡卫生院", "陈国医", 1, 1),
    ]
    assert [r["centre"] for r in centre_rows] == ["白塔乡卫生院"]
    assert SessionConsult.objects.filter(session=at_t001).count() == 3


# --- The admin site ---------------------------------------------------------------------------------------------


def admin_add(client, user, expert, place, starts, ends):
    client.force_login(user)
    return client.post(
        "/admin/outreach/clinicsession/add/",
        {
            "expert": expert.pk,
            "institution": place.pk,
            "date": DAY.isoformat(),
            "starts_at": starts,
            "ends_at": ends,
            "note": "",
        },
    )


def test_the_admin_saves_through_the_service_and_shows_the_overlap_on_the_form_with_nothing_saved(
    client, county_admin, expert, county
):
    added = admin_add(client, county_admin, expert, county["T001"], "08:30", "11:30")
    clash = admin_add(client, county_admin, expert, county["T003"], "10:00", "12:00")

    assert added.status_code == 302
    assert clash.status_code == 200
    assert "白塔乡卫生院" in str(clash.context["adminform"].form.errors["starts_at"])
    assert ClinicSession.objects.count() == 1

    session = ClinicSession.objects.get()
    client.post("/admin/outreach/clinicsession/", {"action": "cancel_sessions", "_selected_action": [session.pk]})
    session.refresh_from_db()
    assert session.cancelled_at is not None and session.cancelled_by == county_admin
    edited = client.post(
        f"/admin/outreach/clinicsession/{session.pk}/change/",
        {"expert": expert.pk, "institution": county["T001"].pk, "date": DAY, "starts_at": "08:30", "ends_at": "11:30"},
    )
    assert edited.status_code == 200 and edited.context["adminform"].form.non_field_errors()


def test_a_centre_administrator_sees_and_adds_sessions_only_in_its_subtree_in_the_admin(
    client, county_admin, centre_admin, expert, county
):
    at_t003 = book(county_admin, expert, county["T003"])
    book(county_admin, expert, county["T001"], starts="13:00", ends="15:00")

    outside = admin_add(client, centre_admin, expert, county["T003"], "16:00", "17:00")
    listed = client.get("/admin/outreach/clinicsession/")

    assert outside.status_code == 200 and "institution" in outside.context["adminform"].form.errors
    assert [s.institution.code for s in listed.context["cl"].result_list] == ["T001"]
    assert client.get(f"/admin/outreach/clinicsession/{at_t003.pk}/change/").status_code in (302, 404)
    assert ClinicSession.objects.count() == 2


def test_a_session_with_recorded_consults_keeps_its_expert_place_and_times_and_only_its_note_changes(
    county_admin, expert, county, catalogue
):
    session = book(county_admin, expert, county["T001"])
    submit_at(expert, county["T001"], datetime.combine(DAY, time(9, 0), SHANGHAI))
    with time_machine.travel(datetime.combine(DAY, time(12, 0), SHANGHAI), tick=False):
        link_consults()
        with pytest.raises(ValidationError) as moved:
            book(county_admin, expert, county["T001"], starts="09:30", session=session)
        book(county_admin, expert, county["T001"], session=session, note="已完成")

    session.refresh_from_db()
    assert set(moved.value.message_dict) == {"non_field_errors"}
    assert (session.starts_at, session.note) == (time(8, 30), "已完成")


def test_the_staff_schedule_page_lists_the_subtrees_coming_sessions_and_only_managers_get_the_edit_links(
    client, county_admin, clinician, outsider, expert, county
):
    soon = timezone.localdate() + timedelta(days=3)
    book(county_admin, expert, county["T001"], day=soon)
    book(county_admin, expert, county["T003"], day=soon + timedelta(days=1))
    book(county_admin, expert, county["T003"], day=soon + timedelta(weeks=9), starts="13:30", ends="16:30")

    def shown(user):
        client.force_login(user)
        response = client.get("/outreach/")
        return response, response.content.decode()

    _response, admin_page = shown(county_admin)
    response, clinician_page = shown(clinician)
    _response, outsider_page = shown(outsider)

    assert response.status_code == 200
    assert "白塔乡卫生院" in admin_page and "柳溪乡卫生院" in admin_page and 'id="add-session"' in admin_page
    assert "白塔乡卫生院" in clinician_page and "柳溪乡卫生院" not in clinician_page
    assert 'href="/outreach/T001/"' in clinician_page and 'id="add-session"' not in clinician_page
    assert "柳溪乡卫生院" in outsider_page and "白塔乡卫生院" not in outsider_page
    assert outsider_page.count("<td>柳溪乡卫生院</td>") == 1, "nine weeks ahead is past the page's eight"
