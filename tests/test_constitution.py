"""Constitution identification (issue 22) through its public surfaces: the service, the API, the
patient's invitation page and the clinician's pages, scoped by the patients' own rule."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from constitution import questionnaire
from constitution.models import ConstitutionAssessment, ConstitutionInvite, Mode
from constitution.services import assessment_record, invite_create

from .factories import PatientFactory

pytestmark = pytest.mark.usefixtures("fresh_cache")


def answers(sex="F", **values):
    base = dict.fromkeys(questionnaire.item_ids_for(sex), 1)
    base.update(values)
    return base


@pytest.fixture
def patient(county):
    return PatientFactory(name="王小梅", sex="F", institution=county["T001"])


@pytest.fixture
def man(county):
    return PatientFactory(name="张大山", sex="M", institution=county["T001"])


def api_url(patient, suffix=""):
    return f"/api/v1/patients/{patient.pk}/constitution/{suffix}"


# --- service -----------------------------------------------------------------------------------------------


def test_an_assisted_assessment_is_stored_with_scores_result_sex_version_and_recorder(clinician, man):
    assessment = assessment_record(
        patient=man, answers=answers("M", F1=4, F2=4, F3=4, F4=4, F5=4, F7=4), mode=Mode.ASSISTED, actor=clinician
    )

    assessment.refresh_from_db()
    assert assessment.summary == "是湿热质" and assessment.result["primary"] == ["damp_heat"]
    assert (assessment.sex, assessment.mode, assessment.recorded_by) == ("M", Mode.ASSISTED, clinician)
    assert assessment.questionnaire_version == "ZYYXH/T 157-2009"
    assert len(assessment.answers) == 60 and "F6" not in assessment.answers
    assert {row["code"]: row["score"] for row in assessment.scores}["damp_heat"] == 75.0


def test_an_incomplete_questionnaire_names_every_missing_item_and_saves_nothing(clinician, patient):
    given = answers()
    del given["A1"], given["I7"]

    with pytest.raises(ValidationError) as caught:
        assessment_record(patient=patient, answers=given | {"B2": "9"}, mode=Mode.ASSISTED, actor=clinician)

    assert set(caught.value.message_dict) == {"answers.A1", "answers.I7", "answers.B2"}
    assert not ConstitutionAssessment.objects.exists()


def test_an_outsider_from_another_township_may_not_record_or_invite(outsider, patient):
    with pytest.raises(PermissionDenied):
        assessment_record(patient=patient, answers=answers(), mode=Mode.ASSISTED, actor=outsider)
    with pytest.raises(PermissionDenied):
        invite_create(actor=outsider, patient=patient)
    assert not ConstitutionAssessment.objects.exists() and not ConstitutionInvite.objects.exists()


def test_a_self_service_answer_needs_this_patients_invitation_and_uses_it_once(clinician, patient, man):
    invite = invite_create(actor=clinician, patient=patient)
    with pytest.raises(PermissionDenied):
        assessment_record(patient=man, answers=answers("M"), mode=Mode.SELF, invite=invite)

    first = assessment_record(patient=patient, answers=answers(), mode=Mode.SELF, invite=invite)
    assert first.mode == Mode.SELF and first.recorded_by is None
    with pytest.raises(ValidationError):
        assessment_record(patient=patient, answers=answers(), mode=Mode.SELF, invite=invite)
    assert ConstitutionAssessment.objects.count() == 1


# --- API ---------------------------------------------------------------------------------------------------


def test_the_api_records_an_assessment_and_lists_it_newest_first(api, clinician, patient):
    api.force_login(clinician)
    created = api.post(
        api_url(patient), {"answers": answers(D1=4, D2=4, D3=4, D4=4, D5=4, D6=4, D7=4, D8=4)}, "application/json"
    )

    assert created.status_code == 201, created.content
    assert created.json()["summary"] == "是阴虚质" and created.json()["mode"] == "assisted"
    assert created.json()["result"]["primary"] == ["yin_deficiency"]
    listed = api.get(api_url(patient))
    assert listed.status_code == 200 and [row["id"] for row in listed.json()] == [created.json()["id"]]


def test_the_api_answers_400_with_a_field_path_per_missing_item_and_saves_nothing(api, clinician, patient):
    api.force_login(clinician)
    given = answers()
    del given["C7"]
    response = api.post(api_url(patient), {"answers": given | {"A2": 0}}, "application/json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"answers.C7", "answers.A2"}
    assert api.post(api_url(patient), {}, "application/json").json()["errors"] == {
        "answers": ["请以“题号 → 1..5”的对象提交答案。"]
    }
    assert not ConstitutionAssessment.objects.exists()


def test_the_api_hides_a_patient_of_another_township_from_the_outsider(api, outsider, clinician, patient):
    assessment_record(patient=patient, answers=answers(), mode=Mode.ASSISTED, actor=clinician)
    api.force_login(outsider)

    assert api.get(api_url(patient)).status_code == 404
    assert api.post(api_url(patient), {"answers": answers()}, "application/json").status_code == 404
    assert api.post(api_url(patient, "invite/")).status_code == 404
    assert ConstitutionAssessment.objects.count() == 1


def test_a_pharmacist_may_read_assessments_but_not_record_them(api, pharmacist, patient):
    api.force_login(pharmacist)
    assert api.get(api_url(patient)).status_code == 200
    assert api.post(api_url(patient), {"answers": answers()}, "application/json").status_code == 403


def test_the_questionnaire_api_gives_sixty_items_for_each_sex_with_its_own_damp_heat_item(api, clinician):
    api.force_login(clinician)
    for sex, own, other in (("F", "F6", "F7"), ("M", "F7", "F6")):
        body = api.get("/api/v1/constitution/questionnaire/", {"sex": sex}).json()
        ids = [item["id"] for section in body["sections"] for item in section["items"]]
        assert len(ids) == len(set(ids)) == 60 and own in ids and other not in ids
        assert [option["value"] for option in body["options"]] == [1, 2, 3, 4, 5]
    assert api.get("/api/v1/constitution/questionnaire/", {"sex": "X"}).status_code == 400


def test_the_invite_api_gives_a_24_hour_link_to_the_patients_page(api, clinician, patient):
    api.force_login(clinician)
    response = api.post(api_url(patient, "invite/"))

    assert response.status_code == 201
    invite = ConstitutionInvite.objects.get(token=response.json()["token"])
    assert response.json()["url"].endswith(f"/c/{invite.token}/")
    assert invite.expires_at - invite.created_at == timedelta(hours=24) and invite.created_by == clinician


# --- the patient's page --------------------------------------------------------------------------------------


def test_the_patient_consents_answers_and_sees_their_type_and_advice_without_signing_in(client, clinician, patient):
    token = invite_create(actor=clinician, patient=patient).token
    url = reverse("constitution:invite", args=[token])

    consent = client.get(url)
    assert (
        consent.status_code == 200 and "王**" in consent.content.decode() and "王小梅" not in consent.content.decode()
    )
    assert 'name="agree"' in consent.content.decode()
    form = client.post(url, {"agree": "yes"})
    assert form.status_code == 200 and 'name="F6"' in form.content.decode() and 'name="F7"' not in form.content.decode()
    chosen = answers(H1=5, H2=5, H3=5, H4=5, H5=5, H6=5, H7=5)
    result = client.post(url, {"agree": "yes", "step": "answers", **chosen})

    page = result.content.decode()
    assert result.status_code == 200 and "是气郁质" in page and 'id="advice-qi_stagnation"' in page
    assert ConstitutionAssessment.objects.get().mode == Mode.SELF
    assert client.get(url).status_code == 410  # used once


def test_the_patient_without_consent_is_asked_again_and_sees_no_questions(client, clinician, patient):
    url = reverse("constitution:invite", args=[invite_create(actor=clinician, patient=patient).token])
    page = client.post(url, {"step": "answers", **answers()})
    assert page.status_code == 200 and 'name="A1"' not in page.content.decode()
    assert not ConstitutionAssessment.objects.exists()


def test_an_incomplete_page_says_what_is_missing_keeps_the_answers_and_saves_nothing(client, clinician, patient):
    url = reverse("constitution:invite", args=[invite_create(actor=clinician, patient=patient).token])
    given = answers(B3=4)
    del given["E5"], given["G2"]
    page = client.post(url, {"agree": "yes", "step": "answers", **given})

    text = page.content.decode()
    assert page.status_code == 400 and "有 2 道题未回答，未保存任何内容。" in text
    assert 'id="item-E5"' in text and 'fieldset class="item invalid" id="item-E5"' in text
    assert 'name="B3" value="4" checked' in text
    assert not ConstitutionAssessment.objects.exists()
    assert ConstitutionInvite.objects.get().used_at is None  # the link still works


def test_an_expired_or_unknown_link_is_a_clear_page(client, clinician, patient):
    url = reverse("constitution:invite", args=[invite_create(actor=clinician, patient=patient).token])
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        expired = client.get(url)
        assert client.post(url, {"agree": "yes", "step": "answers", **answers()}).status_code == 410
    assert expired.status_code == 410 and "此链接已过期" in expired.content.decode()
    assert client.get(reverse("constitution:invite", args=["nope"])).status_code == 404
    assert not ConstitutionAssessment.objects.exists()


# --- the clinician's pages ----------------------------------------------------------------------------------------


def test_the_clinician_fills_the_questionnaire_with_the_patient_and_sees_it_in_the_history(client, clinician, man):
    client.force_login(clinician)
    page = client.get(reverse("patients:constitution-assisted", args=[man.pk]))
    assert page.status_code == 200 and 'name="F7"' in page.content.decode()

    saved = client.post(reverse("patients:constitution-assisted", args=[man.pk]), answers("M"))
    assert saved.status_code == 302
    history = client.get(reverse("patients:constitution", args=[man.pk])).content.decode()
    assert "是平和质" in history and 'id="history"' in history
    assert ConstitutionAssessment.objects.get().recorded_by == clinician


def test_the_clinician_shows_a_qr_code_for_the_patients_phone(client, clinician, patient):
    client.force_login(clinician)
    page = client.post(reverse("patients:constitution", args=[patient.pk])).content.decode()
    invite = ConstitutionInvite.objects.get()
    assert 'class="qr"' in page and f"/c/{invite.token}/" in page


def test_the_outsider_cannot_open_or_fill_another_townships_patient(client, outsider, patient):
    client.force_login(outsider)
    assert client.get(reverse("patients:constitution", args=[patient.pk])).status_code == 404
    assert client.post(reverse("patients:constitution-assisted", args=[patient.pk]), answers()).status_code == 404
    assert not ConstitutionAssessment.objects.exists() and not ConstitutionInvite.objects.exists()


def test_the_portrait_shows_the_latest_constitution_with_its_date_and_a_link_to_the_history(client, clinician, patient):
    assessment_record(patient=patient, answers=answers(), mode=Mode.ASSISTED, actor=clinician)
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        latest = assessment_record(
            patient=patient, answers=answers(C1=5, C2=5, C3=5, C6=5, C7=5), mode=Mode.ASSISTED, actor=clinician
        )
    client.force_login(clinician)

    page = client.get(reverse("patients:portrait", args=[patient.pk])).content.decode()
    assert f"{latest.summary}（" in page and latest.taken_at.strftime("%Y-%m-%d") in page
    assert reverse("patients:constitution", args=[patient.pk]) in page
    edit = client.get(reverse("patients:edit", args=[patient.pk])).content.decode()
    assert 'id="constitution-link"' in edit


def test_the_patients_page_is_rate_limited_per_address_like_the_tracking_page(client, clinician, patient, settings):
    settings.TRACK_RATE_PER_MINUTE = 2
    url = reverse("constitution:invite", args=[invite_create(actor=clinician, patient=patient).token])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
