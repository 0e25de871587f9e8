"""The patient portrait (/patients/<id>/portrait/, issue 18): one patient's visits, diagnoses,
herbs and grams per month, audit findings, allergies and deliveries, figured from a small history
written through the services, shown only to those who may see the patient, in a constant number of
queries however long the history."""

import html
import json
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from audit.services import audit_run
from catalogue.models import Herb
from delivery.services import record_delivered, record_shipped, run_create, stop_failed
from pipeline.portrait import patient_portrait
from prescriptions.services import prescription_record_step, prescription_submit, prescription_transition
from prescriptions.services.drafting import PrescriptionForm
from prescriptions.workflow import DeliveryMode, Stage

from .factories import PatientFactory
from .test_workflow import CENTRE_PATH

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

DISPENSING = CENTRE_PATH[1:7]  # approved … packaged, each by its persona


def local(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


class History:
    """Writes prescriptions through the services with the clock set to the moment given (trace
    events are append-only, so the time is set while they are written)."""

    def __init__(self, monkeypatch, actors):
        self.monkeypatch, self.actors = monkeypatch, actors

    @contextmanager
    def at(self, moment):
        with self.monkeypatch.context() as clock:
            clock.setattr(timezone, "now", lambda: moment)
            yield

    def submit(self, moment, patient, consult, herbs, *, doses=7, delivery=DeliveryMode.ADDRESS, previous=None):
        with self.at(moment):
            prescription, created = prescription_submit(
                actor=self.actors["clinician"],
                patient=patient,
                previous=previous,
                form=PrescriptionForm.of(
                    {
                        "consult": consult,
                        "items": [{"herb": herb, "grams": grams} for herb, grams in herbs],
                        "doses": doses,
                        "usage": "每日1剂，水煎分2次温服",
                        "decoction": "center",
                        "delivery": delivery,
                        "delivery_address": "白塔乡白塔村8组12号" if delivery == DeliveryMode.ADDRESS else "",
                    }
                ),
            )
            assert created
            audit_run(prescription_id=prescription.pk)  # the machine audit: its findings, `ai_audited`
        prescription.refresh_from_db()
        return prescription

    def move(self, moment, prescription, path):
        with self.at(moment):
            for stage, who in path:
                prescription_transition(prescription=prescription, to=stage, actor=self.actors[who])
        return prescription

    def deliver_at_second_attempt(self, moment, prescription, reason):
        courier = self.actors["courier"]
        with self.at(moment):
            run_create(courier=courier, prescriptions=[prescription], area="白塔乡")
            step = {"actor": courier, "prescription": prescription, "files": {}}
            prescription_record_step(stage=Stage.SHIPPED, data={}, recorder=record_shipped, **step)
            stop_failed(actor=courier, prescription=prescription, reason=reason)
        with self.at(moment + timedelta(days=1)):
            prescription_record_step(
                stage=Stage.DELIVERED, data={"receiver_name": "本人"}, recorder=record_delivered, **step
            )


@pytest.fixture
def history(monkeypatch, actors, county, catalogue):
    """王芳 of T001, allergic to 黄芪 (and penicillin), over three months of 2024:
    - 01-10 胃痛（脾胃虚寒）K29.7: 党参 10 g, 白术 12 g × 7 doses, delivered at the second attempt;
    - 01-20 胃痛（脾胃虚寒）: 党参 15 g, 茯苓 10 g × 10 doses (a finding: over 7 days), picked up;
    - 03-05 失眠（心脾两虚）: 酸枣仁 15 g, 党参 10 g × 7, rejected, then revised the next day into
      酸枣仁 12 g, 党参 10 g × 7, approved.
    Beside her, 李强 of the same township, 咳嗽 with 陈皮 in January, whom her portrait never shows."""
    write = History(monkeypatch, actors)
    wang = PatientFactory(institution=county["T001"], name="王芳", allergy_notes="青霉素")
    wang.allergies.add(Herb.objects.get(name="黄芪"))
    stomach = {"tcm_disease": "胃痛", "tcm_syndrome": "脾胃虚寒"}

    gastritis = {**stomach, "western_icd10": "K29.7"}
    first = write.submit(local(2024, 1, 10, 9), wang, gastritis, [("党参", "10"), ("白术", "12")])
    write.move(local(2024, 1, 10, 10), first, DISPENSING)
    write.deliver_at_second_attempt(local(2024, 1, 10, 14), first, "家中无人")

    second = write.submit(
        local(2024, 1, 20, 9), wang, stomach, [("党参", "15"), ("茯苓", "10")], doses=10, delivery=DeliveryMode.PICKUP
    )
    write.move(local(2024, 1, 20, 10), second, [*DISPENSING, (Stage.PICKED_UP, "clinician")])

    sleep = {"tcm_disease": "失眠", "tcm_syndrome": "心脾两虚"}
    rejected = write.submit(local(2024, 3, 5, 9), wang, sleep, [("酸枣仁", "15"), ("党参", "10")])
    write.move(local(2024, 3, 5, 10), rejected, [(Stage.REJECTED, "pharmacist")])
    revised = write.submit(local(2024, 3, 6, 9), wang, sleep, [("酸枣仁", "12"), ("党参", "10")], previous=rejected)
    write.move(local(2024, 3, 6, 10), revised, DISPENSING[:1])

    li = PatientFactory(institution=county["T001"], name="李强")
    write.submit(local(2024, 1, 15, 9), li, {"tcm_disease": "咳嗽", "tcm_syndrome": "风寒束肺"}, [("陈皮", "9")])
    return {"patient": wang, "other": li, "first": first, "second": second, "rejected": rejected, "revised": revised}


def page(client, user, patient):
    client.force_login(user)
    return client.get(f"/patients/{patient.pk}/portrait/")


def text(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


def section(response, name: str) -> str:
    """The words of one section of the page, e.g. "herbs"."""
    match = re.search(rf'<section class="card" id="{name}".*?</section>', response.content.decode(), re.S)
    assert match, f"the page has a {name} section"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def chart(response, name: str) -> dict:
    match = re.search(rf'<script id="chart-{name}" type="application/json">(.*?)</script>', response.content.decode())
    assert match, f"the page hands over the {name} chart"
    return json.loads(match.group(1))


# --- The figures ------------------------------------------------------------------------------------------


def test_the_portrait_counts_each_visit_once_a_revision_being_the_same_visit_written_again(history, clinician):
    portrait = patient_portrait(clinician, history["patient"].pk)

    assert [(v.created_at.date().isoformat(), v.tcm_disease) for v in portrait.visits] == [
        ("2024-03-06", "失眠"),
        ("2024-01-20", "胃痛"),
        ("2024-01-10", "胃痛"),
    ]
    assert [visit.institution.code for visit in portrait.visits] == ["T001"] * 3
    assert {visit.clinician for visit in portrait.visits} == {clinician}


def test_the_diagnoses_give_each_disease_and_syndrome_with_the_icd10_recorded_and_its_first_and_last_visit(
    history, clinician
):
    portrait = patient_portrait(clinician, history["patient"].pk)

    assert [
        (d["tcm_disease"], d["tcm_syndrome"], d["icd10"], f"{d['first']}", f"{d['last']}", d["visits"])
        for d in portrait.diagnoses
    ] == [
        ("失眠", "心脾两虚", [], "2024-03-06", "2024-03-06", 1),
        ("胃痛", "脾胃虚寒", ["K29.7"], "2024-01-10", "2024-01-20", 2),
    ]


def test_the_herbs_per_month_count_prescriptions_and_grams_per_dose_times_doses_of_the_live_versions_only(
    history, clinician
):
    portrait = patient_portrait(clinician, history["patient"].pk)

    figures = {
        f"{row['month']:%Y-%m}": [(h["name"], h["prescriptions"], h["grams"]) for h in row["herbs"]]
        for row in portrait.herb_months
    }
    # January: 党参 10 g × 7 + 15 g × 10; March: the revision only (酸枣仁 12 g, not the rejected 15 g);
    # the most named first, then the most grams.
    assert figures == {
        "2024-03": [("酸枣仁", 1, Decimal("84")), ("党参", 1, Decimal("70"))],
        "2024-01": [("党参", 2, Decimal("220")), ("茯苓", 1, Decimal("100")), ("白术", 1, Decimal("84"))],
    }


def test_the_findings_deliveries_and_allergies_come_from_the_audit_the_trace_and_the_patient(history, clinician):
    portrait = patient_portrait(clinician, history["patient"].pk)

    assert [(f["prescription"].pk, f["title"], f["severity"], f"{f['at']:%Y-%m-%d}") for f in portrait.findings] == [
        (history["second"].pk, "超7日用量", "info", "2024-01-20")
    ]
    assert [(f["title"], f["prescriptions"], f"{f['at']:%Y-%m-%d}") for f in portrait.finding_codes] == [
        ("超7日用量", 1, "2024-01-20")
    ]
    deliveries = {d["prescription"].pk: d for d in portrait.deliveries}
    first, second = deliveries[history["first"].pk], deliveries[history["second"].pk]
    assert first["failed"] == ["家中无人"]
    assert f"{timezone.localtime(first['delivered_at']):%Y-%m-%d}" == "2024-01-11"
    assert (second["failed"], second["delivered_at"], second["picked_up_at"] is not None) == ([], None, True)
    statuses = [deliveries[history[k].pk]["prescription"].status for k in ("rejected", "revised")]
    assert statuses == [Stage.REJECTED, Stage.APPROVED]
    assert portrait.allergies == ["黄芪"]


# --- The page ---------------------------------------------------------------------------------------------


def test_the_page_shows_the_figures_in_chinese_tables_and_hands_the_same_figures_to_the_charts(
    client, history, clinician
):
    response = page(client, clinician, history["patient"])

    assert response.status_code == 200
    assert "患者画像：王芳" in text(response)
    assert "黄芪" in section(response, "summary") and "青霉素" in section(response, "summary")
    assert re.search(r'id="visit-count">3<', response.content.decode())
    assert "2024-01 党参 2 220 茯苓 1 100 白术 1 84" in section(response, "herbs")
    assert "K29.7" in section(response, "diagnoses")
    assert "超7日用量 提示" in section(response, "findings")
    assert "家中无人" in section(response, "deliveries") and "已自取" in section(response, "deliveries")
    herbs = chart(response, "herbs")
    assert herbs["xAxis"]["data"] == ["2024-01", "2024-02", "2024-03"]
    assert {s["name"]: s["data"] for s in herbs["series"]}["党参"] == [220.0, 0.0, 70.0]
    assert chart(response, "visits")["series"][0]["data"] == [2, 0, 1]
    assert 'data-chart="chart-diagnoses"' in response.content.decode()


def test_another_patients_name_diagnosis_and_herbs_are_absent(client, history, clinician):
    response = page(client, clinician, history["patient"])

    body = response.content.decode()
    assert all(word not in body for word in ("李强", "咳嗽", "风寒束肺", "陈皮"))


def test_the_page_is_in_english_for_a_reader_who_chose_english(client, history, clinician):
    client.force_login(clinician)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(f"/patients/{history['patient'].pk}/portrait/")

    assert "Patient portrait" in text(response) and "Herbs and grams over time" in text(response)


def test_the_patient_page_and_the_prescription_page_link_to_the_portrait(client, history, clinician):
    patient = history["patient"]
    client.force_login(clinician)
    link = f'href="/patients/{patient.pk}/portrait/"'

    assert link in client.get(f"/patients/{patient.pk}/").content.decode()
    assert link in client.get(f"/prescriptions/{history['first'].pk}/").content.decode()
    assert link in client.get("/patients/").content.decode()


def test_the_number_of_queries_stays_the_same_however_long_the_history(
    client, history, clinician, monkeypatch, actors, django_assert_max_num_queries
):
    """The signed-in user (session, user, roles, the institution tree, the top bar's institution) and
    the portrait's seven reads: the patient, the allergies, the prescriptions with their milestones and
    audit runs, their herb lines, their delivery stops, the consults, the latest constitution assessment."""
    patient = history["patient"]
    client.force_login(clinician)
    with django_assert_max_num_queries(12):
        assert client.get(f"/patients/{patient.pk}/portrait/").status_code == 200

    write = History(monkeypatch, actors)
    for day in range(1, 9):
        p = write.submit(local(2024, 4, day, 9), patient, {"tcm_disease": "胃痛"}, [("党参", "10"), ("白术", "12")])
        write.move(local(2024, 4, day, 10), p, DISPENSING)
    with django_assert_max_num_queries(12):
        response = client.get(f"/patients/{patient.pk}/portrait/")
    assert re.search(r'id="visit-count">11<', response.content.decode())


# --- Who may open it --------------------------------------------------------------------------------------


def test_those_who_may_see_the_patient_open_the_portrait_and_everyone_else_is_refused(
    client, history, clinician, outsider, pharmacist, dispenser, courier, county_admin, centre_admin
):
    """view_patients within the patient's subtree: T001's clinician, the pharmacist and the county
    administrator at H001, the administrator of C001 above T001. T003's clinician (another
    subtree) gets a 404, as for a patient that does not exist; the dispenser and the courier
    (no view_patients) a 403."""
    want = {
        clinician: 200,
        pharmacist: 200,
        county_admin: 200,
        centre_admin: 200,
        outsider: 404,
        dispenser: 403,
        courier: 403,
    }

    got = {user: page(client, user, history["patient"]).status_code for user in want}

    assert got == want
    client.logout()
    assert client.get(f"/patients/{history['patient'].pk}/portrait/").status_code == 302


def test_a_centre_administrator_is_refused_a_patient_outside_its_subtree_whose_own_clinician_sees_it_empty(
    client, county, outsider, centre_admin, county_admin
):
    t003 = PatientFactory(institution=county["T003"], name="赵敏")

    assert page(client, centre_admin, t003).status_code == 404
    assert "赵敏" not in page(client, centre_admin, t003).content.decode()
    own = page(client, outsider, t003)
    assert own.status_code == 200
    assert "暂无就诊记录。" in text(own) and "暂无处方。" in text(own) and 'class="chart"' not in own.content.decode()
    assert page(client, county_admin, t003).status_code == 200
