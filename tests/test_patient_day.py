"""The patient's day (issue 19): a failed delivery attempt shows its new expected time, a rejected
prescription says what happens next and whom to call, a wrong link is the site's Chinese 404 page,
a wrong try at the last 4 digits says how many tries are left, and every time in a message to the
patient is local time."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from delivery.models import Notification
from delivery.services import record_shipped, run_create, stop_failed, trace_pull
from delivery.services.notifications import local_when
from prescriptions.models import Prescription
from prescriptions.services import prescription_record_step, prescription_transition, record_event
from prescriptions.workflow import Stage

from .test_tracking import frozen_clock, page_url, prescription_at, text, zhang  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")


def shipped(clinician, courier) -> Prescription:
    """Packaged, put on the courier's run and set off through the services."""
    prescription = prescription_at(clinician, Stage.PACKAGED)
    run_create(courier=courier, prescriptions=[prescription], area="白塔乡")
    prescription_record_step(
        actor=courier, prescription=prescription, stage=Stage.SHIPPED, data={}, files={}, recorder=record_shipped
    )
    return Prescription.objects.get(pk=prescription.pk)


def expected_on_page(page: str) -> str:
    match = re.search(r'<p class="expected" id="expected">([^<]*)<strong>([^<]*)</strong>', page)
    assert match, "the page shows an expected time"
    return html.unescape(match.group(1) + match.group(2))


# --- A failed delivery attempt ----------------------------------------------------------------------------


def test_after_a_failed_delivery_attempt_the_page_shows_the_new_expected_time_at_once_though_it_was_cached(
    client, clinician, courier, catalogue, django_capture_on_commit_callbacks
):
    prescription = shipped(clinician, courier)
    before = text(client.get(page_url(prescription)))  # now cached
    assert 'id="attempt-failed"' not in before
    retry_at = timezone.localtime(timezone.now() + timedelta(days=1)).replace(hour=10, minute=30, second=0)

    with django_capture_on_commit_callbacks(execute=True):
        stop_failed(actor=courier, prescription=prescription, reason="家中无人", retry_at=retry_at)
    page = text(client.get(page_url(prescription)))

    assert "本次配送未能送达，配送员会再次上门。" in page
    assert expected_on_page(page) == f"新的预计送达：{retry_at:%m-%d} 10:30"


# --- A rejected prescription ------------------------------------------------------------------------------


def test_a_rejected_prescription_says_what_happens_next_and_links_the_prescribing_institution_phone(
    client, clinician, pharmacist, catalogue
):
    clinician.institution.phone = "0571-6000 3001"
    clinician.institution.save()
    prescription = prescription_at(clinician, Stage.AI_AUDITED)
    prescription_transition(prescription=prescription, to=Stage.REJECTED, actor=pharmacist)

    page = text(client.get(page_url(prescription)))

    assert "已退回给开方医师修改" in page and "医师会联系您重新开方" in page
    assert "如有疑问，请致电白塔乡卫生院：" in page
    assert '<a class="call" id="call" href="tel:0571-60003001">0571-6000 3001</a>' in page


# --- A wrong link -----------------------------------------------------------------------------------------


def test_a_wrong_link_is_the_sites_chinese_404_page_not_a_bare_not_found(client, db):
    response = client.get("/t/no-such-token/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    page = text(response)
    assert '<html lang="zh-hans">' in page and 'class="topbar"' in page, "the site's layout, in Chinese"
    assert "<h1>找不到这个页面</h1>" in page and "请重新扫描处方单上的二维码" in page
    assert "Not found" not in page


# --- Tries at the last 4 digits ---------------------------------------------------------------------------


def test_each_wrong_try_at_the_last_4_digits_says_how_many_tries_are_left(
    client,
    clinician,
    catalogue,
    zhang,  # noqa: F811
    frozen_clock,  # noqa: F811
):
    prescription = prescription_at(clinician, Stage.DECOCTING, patient=zhang)

    answers = [text(client.post(page_url(prescription), {"last4": "0000"}, REMOTE_ADDR="10.0.0.9")) for _ in range(5)]

    shown = [re.search(r'<p class="tries" id="tries-left">([^<]*)</p>', page) for page in answers]
    assert [match.group(1) for match in shown if match] == [
        "还可以再试 4 次。",
        "还可以再试 3 次。",
        "还可以再试 2 次。",
        "还可以再试 1 次。",
        "已没有尝试次数，请15分钟后再试或致电医院。",
    ]


# --- Local times in messages ------------------------------------------------------------------------------


def test_the_shipped_message_gives_the_expected_time_in_local_time_not_utc(clinician, catalogue):
    prescription = prescription_at(clinician, Stage.PACKAGED)
    expected = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)  # 14:30 in Asia/Shanghai
    record_event(prescription=prescription, stage=Stage.SHIPPED, data={"expected_at": expected.isoformat()})

    trace_pull()

    message = Notification.objects.get(prescription=prescription, stage=Stage.SHIPPED).message
    assert "14:30" in message and "06:30" not in message


def test_a_time_in_a_message_says_today_tomorrow_or_the_date_in_local_time():
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 on 2 March in Asia/Shanghai

    assert local_when(datetime(2026, 3, 2, 15, 30, tzinfo=UTC), now=now) == "今天23:30"
    assert local_when(datetime(2026, 3, 2, 16, 30, tzinfo=UTC), now=now) == "明天00:30"
    assert local_when(datetime(2026, 3, 4, 1, 0, tzinfo=UTC), now=now) == "3月4日09:00"
