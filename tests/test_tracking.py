"""The patient's tracking page and its JSON: the QR code that leads to it, what a stranger with the
link may see (masked) and what the last 4 digits of the mobile unlock, the same 404 for every bad
token, caching and its invalidation by a new stage, per-IP limits, and the notification outbox
pulled from the trace for each stage the patient is told about."""

import html
import io
import json
import re
import secrets
import types
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
import zxingcpp
from celery.exceptions import Retry
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from PIL import Image

from delivery.models import Notification
from delivery.services import notification_send, trace_pull
from delivery.tasks import send_notification
from patients.models import Patient
from prescriptions.models import Prescription
from prescriptions.services import prescription_submit, prescription_transition, record_event
from prescriptions.services.drafting import PrescriptionForm
from prescriptions.workflow import Decoction, DeliveryMode, Stage

from .factories import PatientFactory

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

# What the patient reads on the page: the Chinese label of each stage.
ZH = {
    Stage.SUBMITTED: "已提交",
    Stage.AI_AUDITED: "智能审方",
    Stage.APPROVED: "药师审核通过",
    Stage.REJECTED: "审核驳回",
    Stage.DISPENSED: "已调剂",
    Stage.RECHECKED: "已复核",
    Stage.SOAKING: "浸泡",
    Stage.DECOCTING: "煎煮",
    Stage.PACKAGED: "已包装",
    Stage.SHIPPED: "已发货",
    Stage.DELIVERED: "已送达",
    Stage.PICKED_UP: "已自取",
}
# The stages a centre-decocted prescription passes before it leaves the pharmacy, after `submitted`.
CENTRE_PATH = [
    Stage.AI_AUDITED,
    Stage.APPROVED,
    Stage.DISPENSED,
    Stage.RECHECKED,
    Stage.SOAKING,
    Stage.DECOCTING,
    Stage.PACKAGED,
]
# 10 g is the most common dose there is; 党参 and 白术 give no audit findings.
HERBS = [("党参", "10"), ("白术", "12")]
USAGE = "每日1剂，水煎分2次温服"
DIAGNOSIS = "胃痛"
ADDRESS = "白塔乡白塔村8组12号"
ANNOUNCED = {Stage.APPROVED, Stage.REJECTED, Stage.DECOCTING, Stage.SHIPPED, Stage.DELIVERED}


# --- Setup --------------------------------------------------------------------------------------------------


@pytest.fixture
def frozen_clock(monkeypatch):
    """Rate limits count per clock window; one fixed moment keeps a test's requests in one window."""
    moment = timezone.now()
    monkeypatch.setattr("delivery.services.tracking.timezone", types.SimpleNamespace(now=lambda: moment))
    return moment


def prescription_at(
    clinician, stage, *, delivery=DeliveryMode.ADDRESS, patient=None, herbs=HERBS, decoction=Decoction.CENTER
) -> Prescription:
    """Submitted through the service, then put at `stage` (test setup only) with a trace event for
    every stage it skipped, so the timeline has times."""
    patient = patient or PatientFactory(institution=clinician.institution, township="白塔乡")
    prescription, created = prescription_submit(
        actor=clinician,
        patient=patient,
        form=PrescriptionForm.of(
            {
                "consult": {"tcm_disease": DIAGNOSIS},
                "items": [{"herb": herb, "grams": grams} for herb, grams in herbs],
                "doses": 7,
                "usage": USAGE,
                "decoction": decoction,
                "delivery": delivery,
                "delivery_address": ADDRESS if delivery == DeliveryMode.ADDRESS else "",
            }
        ),
    )
    assert created
    path = [s for s in CENTRE_PATH if decoction == Decoction.CENTER or s not in (Stage.SOAKING, Stage.DECOCTING)]
    skipped = [] if stage == Stage.SUBMITTED else path[: path.index(stage) + 1]
    for skipped_stage in skipped:
        record_event(prescription=prescription, stage=skipped_stage, actor=None)
    Prescription.objects.filter(pk=prescription.pk).update(status=stage)
    return Prescription.objects.get(pk=prescription.pk)


def page_url(prescription) -> str:
    return f"/t/{prescription.tracking_token}/"


def api_url(prescription) -> str:
    return f"/api/v1/track/{prescription.tracking_token}/"


def timeline(page: str) -> dict[str, set[str]]:
    """Label -> the classes of its timeline entry (`done`, `current`)."""
    entries = re.findall(r'<li class="([^"]*)"[^>]*>\s*<span class="label">([^<]*)</span>', page)
    assert entries, "the page has a timeline"
    return {html.unescape(label): set(classes.split()) for classes, label in entries}


def current(page: str) -> str:
    match = re.search(r'<h1 id="current"[^>]*>([^<]*)</h1>', page)
    assert match, "the page shows the current stage"
    return html.unescape(match.group(1)).strip()


def text(response) -> str:
    return response.content.decode()


def json_text(response) -> str:
    """The JSON as a person would read it (JsonResponse escapes Chinese as \\uXXXX)."""
    return json.dumps(response.json(), ensure_ascii=False)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


# --- QR code ------------------------------------------------------------------------------------------------


def test_the_qr_code_decodes_to_the_tracking_url_and_leads_to_the_timeline_of_the_stages_done_so_far(
    client, clinician, catalogue, settings
):
    prescription = prescription_at(clinician, Stage.PACKAGED)

    response = client.get(f"/t/{prescription.tracking_token}/qr.png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    barcodes = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.content)))
    assert [barcode.format for barcode in barcodes] == [zxingcpp.BarcodeFormat.QRCode]
    decoded = barcodes[0].text
    assert decoded == f"{settings.SITE_URL}/t/{prescription.tracking_token}/"

    page = client.get(urlsplit(decoded).path)

    assert page.status_code == 200
    shown = timeline(text(page))
    assert list(shown) == [ZH[s] for s in [Stage.SUBMITTED, *CENTRE_PATH, Stage.SHIPPED, Stage.DELIVERED]]
    for stage in [Stage.SUBMITTED, *CENTRE_PATH]:
        assert "done" in shown[ZH[stage]], f"{stage} is done"
    for stage in (Stage.SHIPPED, Stage.DELIVERED):
        assert "done" not in shown[ZH[stage]], f"{stage} is not done yet"
    assert [label for label, classes in shown.items() if "current" in classes] == [ZH[Stage.PACKAGED]]
    assert current(text(page)) == ZH[Stage.PACKAGED]


def test_the_qr_code_is_also_served_as_svg(client, clinician, catalogue):
    prescription = prescription_at(clinician, Stage.APPROVED)

    response = client.get(f"/t/{prescription.tracking_token}/qr.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert ET.fromstring(response.content).tag == "{http://www.w3.org/2000/svg}svg"


# --- Masked by default ---------------------------------------------------------------------------------------


@pytest.fixture
def zhang(county):
    return PatientFactory(
        institution=county["T001"],
        name="张小三",
        mobile="13912345678",
        id_number="110101198005170034",
        address=ADDRESS,
        township="白塔乡",
    )


def assert_nothing_private(shown: str, patient) -> None:
    assert patient.masked_name == "张*三"
    assert "张*三" in shown
    for private in (patient.name, patient.mobile, patient.id_number, patient.address, DIAGNOSIS, "党参", "白术"):
        assert private not in shown, f"{private} must not be shown without the last 4 digits"


def test_the_page_shows_the_masked_name_and_never_the_name_mobile_id_address_diagnosis_or_herbs(
    client, clinician, catalogue, zhang
):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)

    response = client.get(page_url(prescription))

    assert response.status_code == 200
    assert_nothing_private(text(response), zhang)
    assert USAGE not in text(response)


def test_the_json_shows_the_masked_name_and_never_the_name_mobile_id_address_diagnosis_or_herbs(
    client, clinician, catalogue, zhang
):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)

    response = client.get(api_url(prescription))

    assert response.status_code == 200
    assert response.json()["patient"] == "张*三"
    assert "herbs" not in response.json() and "usage" not in response.json()
    assert_nothing_private(json_text(response), zhang)


def test_the_tracking_page_and_json_ask_search_engines_not_to_index_them(client, clinician, catalogue):
    prescription = prescription_at(clinician, Stage.DECOCTING)

    page = client.get(page_url(prescription))
    data = client.get(api_url(prescription))

    assert "noindex" in page["X-Robots-Tag"]
    assert "noindex" in data["X-Robots-Tag"]
    assert re.search(r'<meta name="robots" content="noindex[^"]*">', text(page))


def test_the_tracking_page_links_to_and_loads_nothing_outside_the_site(client, clinician, catalogue, settings):
    prescription = prescription_at(clinician, Stage.DECOCTING)

    page = text(client.get(page_url(prescription)))

    outside = [url for url in re.findall(r"https?://[^\s\"'<>)]+", page) if not url.startswith(settings.SITE_URL)]
    assert outside == []


# --- The last 4 digits of the mobile -----------------------------------------------------------------------


def test_wrong_digits_on_the_page_are_refused_with_no_herbs(client, clinician, catalogue, zhang):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)

    response = client.post(page_url(prescription), {"last4": "0000"})

    assert response.status_code == 403
    assert_nothing_private(text(response), zhang)
    assert html.escape(zh("Those are not the last 4 digits of the patient's mobile.")) in text(response)


def test_the_right_digits_on_the_page_show_the_herbs_with_their_grams_and_the_usage(
    client, clinician, catalogue, zhang
):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)

    response = client.post(page_url(prescription), {"last4": "5678"})

    assert response.status_code == 200
    page = text(response)
    assert USAGE in page
    assert "党参 10g" in page and "白术 12g" in page
    assert zhang.mobile not in page and zhang.id_number not in page, "the full view is the prescription, not the file"


def test_wrong_digits_in_json_are_a_403_with_no_herbs(client, clinician, catalogue, zhang):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)

    response = client.post(api_url(prescription), {"last4": "0000"}, content_type="application/json")

    assert response.status_code == 403
    assert "last4" in response.json()["errors"]
    assert "党参" not in json_text(response)


def test_the_right_digits_in_json_give_the_herbs_with_their_grams_and_the_usage(client, clinician, catalogue, zhang):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)

    response = client.post(api_url(prescription), {"last4": "5678"}, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["usage"] == USAGE
    assert response.json()["herbs"] == [{"name": "党参", "grams": "10"}, {"name": "白术", "grams": "12"}]


def test_the_sixth_try_on_the_page_is_refused_even_with_the_right_digits(
    client, clinician, catalogue, zhang, frozen_clock
):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)
    for _ in range(5):
        assert client.post(page_url(prescription), {"last4": "0000"}, REMOTE_ADDR="10.0.0.7").status_code == 403

    response = client.post(page_url(prescription), {"last4": "5678"}, REMOTE_ADDR="10.0.0.7")

    assert response.status_code == 403
    assert html.escape(zh("Too many tries. Please wait 15 minutes or call the clinic.")) in text(response)
    assert "党参" not in text(response) and USAGE not in text(response)


def test_the_sixth_try_in_json_is_a_429_even_with_the_right_digits_while_another_ip_may_still_try(
    client, clinician, catalogue, zhang, frozen_clock
):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)
    for _ in range(5):
        wrong = client.post(
            api_url(prescription), {"last4": "0000"}, content_type="application/json", REMOTE_ADDR="10.0.0.7"
        )
        assert wrong.status_code == 403

    refused = client.post(
        api_url(prescription), {"last4": "5678"}, content_type="application/json", REMOTE_ADDR="10.0.0.7"
    )
    elsewhere = client.post(
        api_url(prescription), {"last4": "5678"}, content_type="application/json", REMOTE_ADDR="10.0.0.8"
    )

    assert refused.status_code == 429
    assert "herbs" not in refused.json()
    assert elsewhere.status_code == 200 and elsewhere.json()["herbs"]


# --- Bad tokens ---------------------------------------------------------------------------------------------


def test_a_wrong_a_revoked_and_a_random_token_of_the_right_length_get_the_same_404(client, clinician, catalogue):
    prescription = prescription_at(clinician, Stage.DECOCTING)
    revoked = prescription.tracking_token
    Prescription.objects.filter(pk=prescription.pk).update(tracking_token=None)
    random_token = secrets.token_urlsafe(24)
    assert len(random_token) == len(revoked)
    tokens = ["nope", revoked, random_token, "x" * 65]

    pages = [client.get(f"/t/{token}/") for token in tokens]
    posts = [client.post(f"/t/{token}/", {"last4": "5678"}) for token in tokens]
    codes = [client.get(f"/t/{token}/qr.png") for token in tokens]
    data = [client.get(f"/api/v1/track/{token}/") for token in tokens]
    data_posts = [
        client.post(f"/api/v1/track/{token}/", {"last4": "5678"}, content_type="application/json") for token in tokens
    ]

    responses = pages + posts + codes
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert len({r.content for r in responses}) == 1, "nothing tells a revoked token from one that never existed"
    assert [r.status_code for r in data + data_posts] == [404] * len(data + data_posts)
    assert len({r.content for r in data + data_posts}) == 1


# --- Caching -----------------------------------------------------------------------------------------------


def test_the_masked_page_is_cached_and_a_new_stage_shows_on_the_next_request(
    client, clinician, decoctor, catalogue, django_capture_on_commit_callbacks
):
    prescription = prescription_at(clinician, Stage.DECOCTING)
    first_page, first_data = client.get(page_url(prescription)), client.get(api_url(prescription))
    assert current(text(first_page)) == ZH[Stage.DECOCTING]
    assert first_data.json()["status"] == Stage.DECOCTING
    # Changed behind the services' back: a cached page does not see it.
    Patient.objects.filter(pk=prescription.patient_id).update(township="柳溪乡")
    cached = text(client.get(page_url(prescription)))
    assert "白塔乡" in cached and "柳溪乡" not in cached
    assert client.get(api_url(prescription)).json()["township"] == "白塔乡"

    with django_capture_on_commit_callbacks(execute=True):
        prescription_transition(prescription=prescription, to=Stage.PACKAGED, actor=decoctor)
    with django_capture_on_commit_callbacks(execute=True):
        trace_pull()

    page = text(client.get(page_url(prescription)))
    assert current(page) == ZH[Stage.PACKAGED]
    assert "done" in timeline(page)[ZH[Stage.PACKAGED]]
    assert "柳溪乡" in page
    data = client.get(api_url(prescription)).json()
    assert data["status"] == Stage.PACKAGED and data["township"] == "柳溪乡"


# --- Per-IP rate limit -------------------------------------------------------------------------------------


def test_the_fourth_request_in_a_minute_from_one_address_is_refused_and_another_address_is_served(
    client, clinician, catalogue, settings, frozen_clock
):
    settings.TRACK_RATE_PER_MINUTE = 3
    prescription = prescription_at(clinician, Stage.DECOCTING)

    first_three = [client.get(page_url(prescription), REMOTE_ADDR="10.0.0.1") for _ in range(3)]
    fourth = client.get(page_url(prescription), REMOTE_ADDR="10.0.0.1")
    fourth_json = client.get(api_url(prescription), REMOTE_ADDR="10.0.0.1")
    other = client.get(page_url(prescription), REMOTE_ADDR="10.0.0.2")

    assert [r.status_code for r in first_three] == [200, 200, 200]
    assert fourth.status_code == 429 and fourth_json.status_code == 429
    assert other.status_code == 200


# --- Notifications -----------------------------------------------------------------------------------------


def notifications(prescription, stage=None):
    found = Notification.objects.filter(prescription=prescription)
    return found.filter(stage=stage) if stage else found


def test_each_announced_stage_writes_exactly_one_notification_and_the_others_none(
    clinician, pharmacist, dispenser, decoctor, courier, catalogue
):
    prescription = prescription_at(clinician, Stage.AI_AUDITED)
    walk = [
        (Stage.APPROVED, pharmacist),
        (Stage.DISPENSED, dispenser),
        (Stage.RECHECKED, pharmacist),
        (Stage.SOAKING, decoctor),
        (Stage.DECOCTING, decoctor),
        (Stage.PACKAGED, decoctor),
        (Stage.SHIPPED, courier),
        (Stage.DELIVERED, courier),
    ]

    for stage, actor in walk:
        prescription_transition(prescription=prescription, to=stage, actor=actor)
        trace_pull()
        assert notifications(prescription, stage).count() == (1 if stage in ANNOUNCED else 0), stage

    assert sorted(notifications(prescription).values_list("stage", flat=True)) == sorted(ANNOUNCED - {Stage.REJECTED})
    approved = notifications(prescription, Stage.APPROVED).get()
    assert "白塔乡卫生院" in approved.message and approved.status == "pending"


def test_a_rejection_writes_exactly_one_notification(clinician, pharmacist, catalogue):
    prescription = prescription_at(clinician, Stage.AI_AUDITED)

    prescription_transition(prescription=prescription, to=Stage.REJECTED, actor=pharmacist)
    trace_pull()

    assert list(notifications(prescription).values_list("stage", flat=True)) == [Stage.REJECTED]


def test_the_notification_is_written_in_the_transaction_of_the_pull_and_rolls_back_with_the_stage(
    clinician, pharmacist, catalogue
):
    prescription = prescription_at(clinician, Stage.AI_AUDITED)

    with pytest.raises(RuntimeError), transaction.atomic():
        prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)
        trace_pull()
        assert notifications(prescription, Stage.APPROVED).count() == 1
        raise RuntimeError("the stage change fails later in its transaction")
    trace_pull()

    assert not notifications(prescription).exists()
    assert Prescription.objects.get(pk=prescription.pk).status == Stage.AI_AUDITED


def test_the_notification_is_enqueued_only_after_the_commit(
    clinician, pharmacist, catalogue, enqueued, django_capture_on_commit_callbacks
):
    prescription = prescription_at(clinician, Stage.AI_AUDITED)

    prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)
    with django_capture_on_commit_callbacks() as callbacks:
        trace_pull()
    assert enqueued["notification"] == []
    for callback in callbacks:
        callback()

    assert enqueued["notification"] == [notifications(prescription, Stage.APPROVED).get().pk]


class FakeGateway:
    def __init__(self, error=None):
        self.sent, self.error = [], error

    def send(self, *, phone, message, reference):
        if self.error:
            raise self.error
        self.sent.append((phone, message, reference))


@pytest.fixture
def announced(clinician, pharmacist, catalogue, zhang):
    prescription = prescription_at(clinician, Stage.AI_AUDITED, patient=zhang)
    prescription_transition(prescription=prescription, to=Stage.APPROVED, actor=pharmacist)
    trace_pull()
    return notifications(prescription, Stage.APPROVED).get()


def test_a_notification_is_sent_once_and_a_second_send_does_not_call_the_gateway_again(announced):
    gateway = FakeGateway()

    first = notification_send(notification_id=announced.pk, backend=gateway)
    second = notification_send(notification_id=announced.pk, backend=gateway)

    prescription = announced.prescription
    assert gateway.sent == [("13912345678", announced.message, f"{prescription.number}:approved")]
    assert first.status == second.status == "sent"
    assert first.sent_at is not None and first.attempts == 1


def test_a_gateway_error_leaves_the_notification_pending_with_the_error_and_a_later_send_succeeds(announced):
    with pytest.raises(ConnectionError):
        notification_send(notification_id=announced.pk, backend=FakeGateway(ConnectionError("gateway down")))

    announced.refresh_from_db()
    assert (announced.status, announced.last_error, announced.attempts) == ("pending", "gateway down", 1)
    assert announced.sent_at is None

    gateway = FakeGateway()
    sent = notification_send(notification_id=announced.pk, backend=gateway)
    assert len(gateway.sent) == 1
    assert (sent.status, sent.last_error, sent.attempts) == ("sent", "", 2)


def test_the_send_task_retries_with_a_growing_wait_when_the_gateway_fails(announced, monkeypatch):
    monkeypatch.setattr("delivery.tasks.backend", lambda: FakeGateway(ConnectionError("gateway down")))
    # Called straight, outside a worker, Celery re-raises the task's own error instead of
    # retrying; an eager request context is what a worker's third try looks like, without a broker.
    send_notification.push_request(id="test-send", args=[announced.pk], retries=2, called_directly=False, is_eager=True)
    try:
        with pytest.raises(Retry) as retry:
            send_notification.run(announced.pk)
    finally:
        send_notification.pop_request()

    assert isinstance(retry.value.exc, ConnectionError)
    assert retry.value.when == 120, "30 s doubled per earlier try"
    announced.refresh_from_db()
    assert announced.status == "pending" and announced.last_error == "gateway down"
