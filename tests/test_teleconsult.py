"""Remote consults: a village doctor asks, an expert of a hospital above the clinic claims (one
claim wins), may ask back, and prescribes for the village clinic; each step an event of the
consult; an expert sees only what is routed to them or their hospital."""

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from PIL import Image

from accounts.roles import Role
from core.models import AppendOnlyError
from prescriptions.models import Prescription
from teleconsult.models import ConsultEvent, RemoteConsult, RemoteConsultPhoto

from .dashboard_history import page, table
from .factories import PatientFactory, UserFactory
from .test_trust import tamper

SHANGHAI = ZoneInfo("Asia/Shanghai")

PRESCRIPTION = {
    "consult": {"tcm_disease": "咳嗽", "tcm_syndrome": "风寒束表"},
    "doses": 3,
    "usage": "每日1剂，水煎分2次温服",
    "delivery": "pickup",
    "items": [{"herb": "桂枝", "grams": 9}, {"herb": "白芍", "grams": 9}],
}


def jpeg(color=(200, 80, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, format="JPEG")
    return out.getvalue()


def photo(name="tongue.jpg", data=None):
    return SimpleUploadedFile(name, jpeg() if data is None else data, content_type="image/jpeg")


@pytest.fixture
def expert2(county):
    return UserFactory(username="expert2", name="赵专家", institution=county["H001"], roles=[Role.CLINICIAN])


@pytest.fixture
def patient(county):
    return PatientFactory(institution=county["V001"], name="陈阿婆", address="白塔村3组")


@pytest.fixture
def ask(client, village_doctor, patient, settings, tmp_path):
    """POST a request as the village doctor; returns the response."""
    settings.MEDIA_ROOT = tmp_path

    def post(**fields):
        client.force_login(village_doctor)
        body = {"patient": patient.pk, "chief_complaint": "咳嗽三天，痰白", "pulse": "浮紧", **fields}
        return client.post("/api/v1/remote-consults/", body)

    return post


def as_user(client, user):
    client.force_login(user)
    return client


def test_a_request_goes_to_the_lead_hospital_by_default_with_its_photos_and_first_event(ask, county):
    response = ask(tongue_photo=photo(), face_photo=photo("face.png"), temperature_c="37.6", heart_rate="88")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "open"
    assert body["routed_institution"]["code"] == "H001" and body["routed_expert"] is None
    assert body["institution"]["code"] == "V001"
    assert sorted(p["kind"] for p in body["photos"]) == ["face", "tongue"]
    assert [(e["seq"], e["step"]) for e in body["events"]] == [(1, "requested")]
    stored = RemoteConsultPhoto.objects.first().image.read()
    assert Image.open(io.BytesIO(stored)).format == "JPEG"


def test_a_photo_that_is_not_an_image_is_an_error_at_its_field_and_nothing_is_saved(ask):
    response = ask(tongue_photo=photo(), face_photo=photo("face.jpg", b"%PDF-1.4 not a photo"))

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"face_photo"}
    assert RemoteConsult.objects.count() == 0 and RemoteConsultPhoto.objects.count() == 0


def test_an_incomplete_request_reports_every_field_at_once_and_saves_nothing(ask):
    response = ask(chief_complaint=" ", temperature_c="75.0", systolic_mmhg="80", diastolic_mmhg="95")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"chief_complaint", "temperature_c", "diastolic_mmhg"}
    assert RemoteConsult.objects.count() == 0


def test_a_named_expert_must_answer_at_a_hospital_above_the_clinic(ask, outsider, expert):
    refused = ask(routed_expert=outsider.pk)
    named = ask(routed_expert=expert.pk)

    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"routed_expert"}
    assert named.status_code == 201
    assert named.json()["routed_expert"]["id"] == expert.pk


def test_a_hospital_not_above_the_clinic_cannot_be_asked(ask, county):
    response = ask(routed_institution=county["C002"].pk)

    assert response.status_code == 400 and set(response.json()["errors"]) == {"routed_institution"}


def test_the_same_idempotency_key_returns_the_first_request(ask):
    first = ask(idempotency_key="visit-1")
    again = ask(idempotency_key="visit-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and RemoteConsult.objects.count() == 1


def test_an_expert_sees_only_consults_routed_to_them_or_their_hospital(
    ask, client, expert, expert2, village_doctor, outsider, clinician, county
):
    to_hospital = ask().json()["id"]
    to_expert2 = ask(routed_expert=expert2.pk).json()["id"]
    central = UserFactory(institution=county["C001"], roles=[Role.CLINICIAN])

    def seen(user):
        return {c["id"] for c in as_user(client, user).get("/api/v1/remote-consults/").json()["results"]}

    assert seen(village_doctor) == {to_hospital, to_expert2}
    assert seen(expert2) == {to_hospital, to_expert2}
    assert seen(expert) == {to_hospital}
    assert seen(central) == seen(outsider) == seen(clinician) == set()
    assert as_user(client, expert).get(f"/api/v1/remote-consults/{to_expert2}/").status_code == 404
    assert as_user(client, expert).post(f"/api/v1/remote-consults/{to_expert2}/claim/").status_code == 404


def test_a_second_claim_is_refused_naming_the_expert_who_holds_it(ask, client, expert, expert2):
    pk = ask().json()["id"]

    first = as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")
    second = as_user(client, expert2).post(f"/api/v1/remote-consults/{pk}/claim/")

    assert first.status_code == 200 and first.json()["claimed_by"]["id"] == expert.pk
    assert second.status_code == 409 and "张专家" in second.json()["detail"]
    assert list(ConsultEvent.objects.filter(consult_id=pk).values_list("step", flat=True)) == ["requested", "claimed"]


def test_the_expert_asks_and_the_village_doctor_answers_with_a_photo(ask, client, expert, village_doctor):
    pk = ask().json()["id"]
    as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")

    asked = client.post(f"/api/v1/remote-consults/{pk}/question/", {"question": "请补拍舌下络脉"}, "application/json")
    answered = as_user(client, village_doctor).post(
        f"/api/v1/remote-consults/{pk}/answer/", {"answer": "已补拍", "tongue_photo": photo()}
    )

    assert asked.status_code == 200 and asked.json()["status"] == "asking"
    assert answered.status_code == 200 and answered.json()["status"] == "claimed"
    assert [e["step"] for e in answered.json()["events"]] == ["requested", "claimed", "asked", "answered"]
    assert answered.json()["events"][2]["text"] == "请补拍舌下络脉"
    assert len(answered.json()["photos"]) == 1


def test_only_the_expert_holding_the_consult_asks_or_prescribes(ask, client, expert, expert2):
    pk = ask().json()["id"]
    as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")

    asked = as_user(client, expert2).post(
        f"/api/v1/remote-consults/{pk}/question/", {"question": "?"}, "application/json"
    )
    prescribed = client.post(f"/api/v1/remote-consults/{pk}/prescription/", PRESCRIPTION, "application/json")

    assert asked.status_code == 403 and prescribed.status_code == 403
    assert Prescription.objects.count() == 0


@pytest.fixture
def claimed(ask, client, expert, catalogue, enqueued):
    pk = ask(tongue="舌淡苔薄白", weight_kg="52.5", temperature_c="37.8").json()["id"]
    as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")
    return pk


def test_the_expert_prescribes_for_the_village_clinic_and_the_consult_closes(claimed, client, expert, county):
    response = client.post(
        f"/api/v1/remote-consults/{claimed}/prescription/",
        {**PRESCRIPTION, "idempotency_key": "rx-1"},
        "application/json",
    )

    assert response.status_code == 201, response.json()
    prescription = Prescription.objects.select_related("consult").get(pk=response.json()["id"])
    assert prescription.institution == county["V001"] and prescription.prescriber == expert
    assert prescription.number.startswith("V001-")
    assert prescription.consult.mode == "remote" and prescription.consult.institution == county["V001"]
    assert (prescription.consult.pulse, prescription.consult.tongue) == ("浮紧", "舌淡苔薄白")
    assert prescription.consult.chief_complaint == "咳嗽三天，痰白" and str(prescription.consult.weight_kg) == "52.5"
    consult = RemoteConsult.objects.get(pk=claimed)
    assert consult.status == "prescribed" and consult.prescription == prescription
    last = consult.events.last()
    assert (last.step, last.data["number"]) == ("prescribed", prescription.number)


def test_a_retried_prescription_returns_the_first_and_another_is_refused(claimed, client):
    url = f"/api/v1/remote-consults/{claimed}/prescription/"
    first = client.post(url, {**PRESCRIPTION, "idempotency_key": "rx-1"}, "application/json")
    again = client.post(url, {**PRESCRIPTION, "idempotency_key": "rx-1"}, "application/json")
    another = client.post(url, {**PRESCRIPTION, "idempotency_key": "rx-2"}, "application/json")

    assert (first.status_code, again.status_code, another.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"] and Prescription.objects.count() == 1
    assert RemoteConsult.objects.get(pk=claimed).events.filter(step="prescribed").count() == 1


def test_a_refused_prescription_leaves_the_consult_with_the_expert_and_writes_nothing(claimed, client):
    bad = {**PRESCRIPTION, "items": [{"herb": "桂枝", "grams": -3}]}

    response = client.post(f"/api/v1/remote-consults/{claimed}/prescription/", bad, "application/json")

    assert response.status_code == 400 and "items[0].grams" in response.json()["errors"]
    consult = RemoteConsult.objects.get(pk=claimed)
    assert consult.status == "claimed" and consult.event_count == 2 and Prescription.objects.count() == 0


def test_the_village_doctor_sees_the_prescription_and_prints_its_receipt_with_the_qr(claimed, client, village_doctor):
    pk = client.post(f"/api/v1/remote-consults/{claimed}/prescription/", PRESCRIPTION, "application/json").json()["id"]
    prescription = Prescription.objects.get(pk=pk)

    as_user(client, village_doctor)
    consult = client.get(f"/api/v1/remote-consults/{claimed}/").json()
    page = client.get(f"/remote-consults/{claimed}/").content.decode()
    receipt = client.get(f"/prescriptions/{pk}/receipt/").content.decode()

    assert consult["prescription"]["tracking_url"] == prescription.tracking_url
    assert client.get(f"/api/v1/prescriptions/{pk}/").status_code == 200
    assert f"/prescriptions/{pk}/receipt/" in page and f"/patients/{prescription.patient_id}/portrait/" in page
    assert prescription.tracking_url in receipt and "<svg" in receipt


def test_a_withdrawn_consult_can_no_longer_be_claimed(ask, client, village_doctor, expert):
    pk = ask().json()["id"]
    withdrawn = client.post(f"/api/v1/remote-consults/{pk}/withdraw/", {"reason": "已转县医院"}, "application/json")
    claim = as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")

    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert claim.status_code == 409


def test_advice_without_a_prescription_closes_the_consult(ask, client, expert):
    pk = ask().json()["id"]
    as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")

    empty = client.post(f"/api/v1/remote-consults/{pk}/advice/", {"advice": ""}, "application/json")
    advised = client.post(f"/api/v1/remote-consults/{pk}/advice/", {"advice": "建议到县医院拍胸片"}, "application/json")

    assert empty.status_code == 400
    assert advised.status_code == 200 and advised.json()["status"] == "advised"
    assert advised.json()["advice"] == "建议到县医院拍胸片"


def test_a_released_consult_goes_back_to_the_queue_for_another_expert(ask, client, expert, expert2):
    pk = ask().json()["id"]
    as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")
    released = client.post(f"/api/v1/remote-consults/{pk}/release/")
    claimed = as_user(client, expert2).post(f"/api/v1/remote-consults/{pk}/claim/")

    assert released.json()["status"] == "open" and released.json()["claimed_by"] is None
    assert claimed.status_code == 200 and claimed.json()["claimed_by"]["id"] == expert2.pk


def test_consult_events_are_append_only(ask):
    pk = ask().json()["id"]
    event = ConsultEvent.objects.get(consult_id=pk)

    with pytest.raises(AppendOnlyError):
        ConsultEvent.objects.filter(pk=event.pk).update(text="changed")
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        event.save()


def test_the_request_page_shows_a_bad_photo_at_its_field_and_keeps_nothing(
    client, village_doctor, patient, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    as_user(client, village_doctor)
    body = {"chief_complaint": "头晕", "pregnancy": "unknown", "routed_expert": ""}

    refused = client.post(
        f"/remote-consults/new/?patient={patient.pk}", {**body, "tongue_photo": photo("t.jpg", b"GIF89a nonsense")}
    )
    sent = client.post(f"/remote-consults/new/?patient={patient.pk}", {**body, "tongue_photo": photo()})

    assert refused.status_code == 400
    assert refused.context["form"].errors.keys() == {"tongue_photo"}
    assert sent.status_code == 302 and RemoteConsult.objects.count() == 1


def test_the_claimed_consults_editor_posts_to_the_consult_with_its_findings(claimed, client, expert2):
    page = client.get(f"/remote-consults/{claimed}/prescribe/")
    other = as_user(client, expert2).get(f"/remote-consults/{claimed}/prescribe/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-submit-url="/api/v1/remote-consults/{claimed}/prescription/"' in html
    assert 'value="浮紧"' in html and "咳嗽三天，痰白" in html
    assert other.status_code == 302


def test_the_supervision_report_counts_each_clinics_consults_by_outcome_and_the_wait_for_an_expert(
    client, village_doctor, expert, patient, county, county_admin, centre_admin, outsider
):
    """By hand, on 8 March 2027 at V001: four requests — one advised (claimed after 10 minutes),
    one withdrawn, two open, one of them claimed after 30 minutes: the median wait of the two
    claimed is 20 minutes. T003 asked once, unclaimed; C001's administrator, above V001 and not
    T003, sees V001's row only."""
    from teleconsult.services import (
        remote_consult_advise,
        remote_consult_claim,
        remote_consult_request,
        remote_consult_withdraw,
    )

    def at(hour, minute):
        return time_machine.travel(datetime(2027, 3, 8, hour, minute, tzinfo=SHANGHAI), tick=False)

    def ask(actor, whom, hour):
        with at(hour, 0):
            return remote_consult_request(actor=actor, patient_id=whom.pk, values={"chief_complaint": "头痛"})[0]

    advised, withdrawn, waiting, held = (ask(village_doctor, patient, hour) for hour in (8, 9, 10, 11))
    with at(8, 10):
        remote_consult_claim(actor=expert, consult=advised)
    with at(8, 20):
        remote_consult_advise(actor=expert, consult=advised, advice="多饮水，观察")
    remote_consult_withdraw(actor=village_doctor, consult=withdrawn, reason="已去县医院")
    with at(11, 30):
        remote_consult_claim(actor=expert, consult=held)
    ask(outsider, PatientFactory(institution=county["T003"]), 9)

    with time_machine.travel(datetime(2027, 4, 2, 9, 0, tzinfo=SHANGHAI), tick=False):
        county_rows = table(page(client, county_admin, "supervision", month="2027-03"), "remote_consults")
        centre_rows = table(page(client, centre_admin, "supervision", month="2027-03"), "remote_consults")

    assert county_rows == [
        {
            "clinic": "白塔村卫生室",
            "requested": 4,
            "prescribed": 0,
            "advised": 1,
            "withdrawn": 1,
            "open": 2,
            "minutes_to_claim": 20,
        },
        {
            "clinic": "柳溪乡卫生院",
            "requested": 1,
            "prescribed": 0,
            "advised": 0,
            "withdrawn": 0,
            "open": 1,
            "minutes_to_claim": None,
        },
    ]
    assert [row["clinic"] for row in centre_rows] == ["白塔村卫生室"]


def test_a_clinician_of_the_lead_hospital_has_no_one_above_to_ask(client, expert, county):
    patient = PatientFactory(institution=county["H001"])

    response = as_user(client, expert).post(
        "/api/v1/remote-consults/", {"patient": patient.pk, "chief_complaint": "咳"}
    )

    assert response.status_code == 400 and set(response.json()["errors"]) == {"non_field_errors"}
    assert as_user(client, expert).get("/remote-consults/new/").status_code == 403
    assert RemoteConsult.objects.count() == 0


def test_the_request_form_for_a_patient_the_doctor_cannot_see_is_a_404(client, village_doctor, county):
    elsewhere = PatientFactory(institution=county["T003"])

    response = as_user(client, village_doctor).get(f"/remote-consults/new/?patient={elsewhere.pk}")

    assert response.status_code == 404 and elsewhere.name not in response.content.decode()
    assert client.get("/remote-consults/new/?patient=abc").status_code == 404


def test_the_home_page_shows_each_party_the_consults_waiting_for_their_step(
    ask, client, village_doctor, expert, expert2, clinician
):
    waiting = ask(chief_complaint="等待接诊").json()["id"]
    asking = ask(chief_complaint="等待回复").json()["id"]
    named = ask(chief_complaint="点名会诊", routed_expert=expert2.pk).json()["id"]
    as_user(client, expert).post(f"/api/v1/remote-consults/{asking}/claim/")
    client.post(f"/api/v1/remote-consults/{asking}/question/", {"question": "舌苔？"}, "application/json")

    def home(user):
        page = as_user(client, user).get("/")
        return (
            {c.pk for c in page.context["consults_waiting"]} if page.context["consults_waiting"] is not None else None
        )

    assert home(expert) == {waiting, asking}  # claim the first; the second is theirs, asked
    assert home(expert2) == {waiting, named}
    assert home(village_doctor) == {asking}  # the question waits for the clinic's reply
    assert home(clinician) == set()


@pytest.mark.parametrize(
    ("damage", "found"),
    [
        ("edit", "event 3 (asked) was edited"),
        ("delete", "event 2 does not follow the one before it"),
        ("cut", "it records 3 events and has 2"),
    ],
)
def test_verify_consults_names_a_consult_whose_steps_were_changed_behind_the_applications_back(
    ask, client, expert, damage, found, capsys
):
    pk = ask().json()["id"]
    as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")
    client.post(f"/api/v1/remote-consults/{pk}/question/", {"question": "舌苔？"}, "application/json")
    call_command("verify_consults")
    assert "1 remote consults checked, 0 problem(s)." in capsys.readouterr().out

    first, _second, third = ConsultEvent.objects.filter(consult_id=pk).order_by("seq")
    if damage == "edit":
        tamper("UPDATE teleconsult_consultevent SET text = %s WHERE id = %s", ["没问题", third.pk])
    elif damage == "delete":
        tamper("DELETE FROM teleconsult_consultevent WHERE id = %s", [first.pk])
    else:
        tamper("DELETE FROM teleconsult_consultevent WHERE id = %s", [third.pk])
    with pytest.raises(SystemExit) as exit_code:
        call_command("verify_consults")

    assert exit_code.value.code == 1
    assert f"remote consult {pk}: {found}" in capsys.readouterr().out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger exists on PostgreSQL only")
def test_on_postgresql_the_application_cannot_update_or_delete_consult_events_in_sql(ask):
    event = ConsultEvent.objects.get(consult_id=ask().json()["id"])

    for sql in (
        "UPDATE teleconsult_consultevent SET text = 'x' WHERE id = %s",
        "DELETE FROM teleconsult_consultevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])


def test_a_status_changed_behind_the_applications_back_is_found_by_verify_consults(ask, client, expert, capsys):
    pk = ask().json()["id"]
    as_user(client, expert).post(f"/api/v1/remote-consults/{pk}/claim/")

    tamper("UPDATE teleconsult_remoteconsult SET status = %s WHERE id = %s", ["prescribed", pk])
    with pytest.raises(SystemExit):
        call_command("verify_consults")

    assert f"remote consult {pk}: its status or chain end was changed without the trace key" in capsys.readouterr().out


def test_a_clinician_asks_only_for_a_patient_of_their_own_institution(client, clinician, county):
    """A township doctor sees the village clinic's patients too, but the consult and its
    prescription belong to the patient's clinic: the village doctor asks."""
    villager = PatientFactory(institution=county["V001"])

    response = as_user(client, clinician).post(
        "/api/v1/remote-consults/", {"patient": villager.pk, "chief_complaint": "咳"}
    )

    assert response.status_code == 400 and set(response.json()["errors"]) == {"patient"}
    assert client.get(f"/remote-consults/new/?patient={villager.pk}").status_code == 404


def test_after_a_revision_the_consult_shows_the_new_version_and_its_receipt(
    claimed, client, expert, village_doctor, pharmacist
):
    from audit.services import audit_decide, audit_run

    first = client.post(f"/api/v1/remote-consults/{claimed}/prescription/", PRESCRIPTION, "application/json").json()
    audit_run(prescription_id=first["id"])
    audit_decide(
        pharmacist=pharmacist,
        prescription=Prescription.objects.get(pk=first["id"]),
        decision="reject",
        reasons=["剂量"],
    )
    second = client.post(f"/api/v1/prescriptions/{first['id']}/revise/", PRESCRIPTION, "application/json").json()

    shown = as_user(client, village_doctor).get(f"/api/v1/remote-consults/{claimed}/").json()["prescription"]
    page = client.get(f"/remote-consults/{claimed}/").content.decode()

    assert Prescription.objects.get(pk=second["id"]).institution.code == "V001"  # the revision stays the clinic's
    assert shown["id"] == second["id"] and shown["tracking_url"] == second["tracking_url"]
    assert f"/prescriptions/{second['id']}/receipt/" in page


def test_photos_already_written_are_removed_when_the_request_fails_afterwards(ask, monkeypatch, settings):
    def broken(*args, **kwargs):
        raise RuntimeError("the trace key is missing")

    monkeypatch.setattr("teleconsult.services._append", broken)

    with pytest.raises(RuntimeError):
        ask(tongue_photo=photo(), face_photo=photo("face.jpg"))

    assert RemoteConsult.objects.count() == 0
    assert [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()] == []
