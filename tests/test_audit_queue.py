"""The pharmacist's queue page: counted and paged (no silent cut at 200), filtered by institution,
clinician, finding and urgency, each decision opening the next prescription of the same queue;
the prescriber's double signature shown in local time."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from accounts.roles import Role
from audit.selectors import audit_queue_for
from audit.services import audit_claim
from core.timefmt import duration_text, local_text
from prescriptions.models import Prescription

from .factories import UserFactory
from .test_final_audit import HIGH_ITEMS, LOW_ITEMS, audited

pytestmark = pytest.mark.usefixtures("enqueued")


def waiting_at_h001(clinician, county, clean: int) -> dict:
    """Prescriptions waiting at H001, in queue order: a high-risk one of 李医生 (十八反,
    double-signed), a low-risk one of 王医生 at C001, then `clean` without findings of 李医生,
    the last of them urgent."""
    wang = UserFactory(username="wang", name="王医生", institution=county["C001"], roles=[Role.CLINICIAN])
    high = audited(clinician, HIGH_ITEMS, age_minutes=50)
    low = audited(wang, LOW_ITEMS, age_minutes=40)
    without = [audited(clinician, age_minutes=30 - i) for i in range(clean)]
    Prescription.objects.filter(pk=without[-1].pk).update(urgent=True)
    return {"high": high, "low": low, "clean": without, "wang": wang}


@pytest.fixture
def waiting(clinician, county, catalogue):
    return waiting_at_h001(clinician, county, clean=3)


def numbers(response) -> list[str]:
    return [p.number for p in response.context["prescriptions"]]


def test_the_queue_counts_every_waiting_prescription_and_pages_past_the_old_cut_at_200(
    client, pharmacist, waiting, monkeypatch
):
    monkeypatch.setattr("audit.views.QUEUE_PAGE_SIZE", 2)
    client.force_login(pharmacist)
    first = client.get("/audit/")
    assert first.context["page"].paginator.count == 5 and len(numbers(first)) == 2
    assert "待审处方：5 张" in first.content.decode()
    assert numbers(client.get("/audit/?page=3")) == [waiting["clean"][-1].number]


def test_the_queue_shows_the_prescriber_of_each_prescription(client, pharmacist, waiting):
    client.force_login(pharmacist)
    html = client.get("/audit/").content.decode()
    assert "王医生" in html and "李医生" in html


def test_the_queue_filters_by_institution_clinician_finding_and_urgency_and_ignores_bad_values(
    client, pharmacist, clinician, county, waiting
):
    client.force_login(pharmacist)
    clean = [p.number for p in waiting["clean"]]
    assert numbers(client.get(f"/audit/?institution={county['C001'].pk}")) == [waiting["low"].number]
    assert numbers(client.get(f"/audit/?prescriber={clinician.pk}")) == [waiting["high"].number, *clean]
    assert numbers(client.get("/audit/?finding=incompatibility.eighteen")) == [waiting["high"].number]
    assert numbers(client.get("/audit/?urgent=1")) == clean[-1:]
    assert numbers(client.get("/audit/?urgent=0&prescriber=" + str(clinician.pk))) == [
        waiting["high"].number,
        *clean[:-1],
    ]
    assert len(numbers(client.get("/audit/?institution=x&finding=nope&urgent=maybe"))) == 5


def test_a_decision_opens_the_next_prescription_of_the_same_filtered_queue_claimed(
    client, pharmacist, clinician, waiting
):
    client.force_login(pharmacist)
    clean = waiting["clean"]
    query = f"?prescriber={clinician.pk}&urgent=0"
    assert client.post(f"/audit/{clean[0].pk}/claim/{query}")["Location"] == f"/audit/{clean[0].pk}/{query}"
    response = client.post(f"/audit/{clean[0].pk}/{query}", {"decision": "approve"})
    assert response["Location"] == f"/audit/{clean[1].pk}/{query}"
    assert Prescription.objects.get(pk=clean[1].pk).claim.pharmacist == pharmacist
    # The last of the filter: back to the top of it (the high-risk one), then the queue.
    response = client.post(f"/audit/{clean[1].pk}/{query}", {"decision": "approve"})
    assert response["Location"] == f"/audit/{waiting['high'].pk}/{query}"


def test_the_next_prescription_skips_one_another_pharmacist_is_auditing(client, pharmacist, county, waiting):
    other = UserFactory(username="pharm2", institution=county["H001"], roles=[Role.PHARMACIST])
    clean = waiting["clean"]
    audit_claim(pharmacist=other, prescription=clean[1])
    client.force_login(pharmacist)
    response = client.post(f"/audit/{clean[0].pk}/", {"decision": "approve"})
    assert response["Location"] == f"/audit/{clean[2].pk}/"


def test_with_nothing_else_waiting_a_decision_returns_to_the_filtered_queue(client, pharmacist, county, waiting):
    client.force_login(pharmacist)
    query = f"?institution={county['C001'].pk}"
    response = client.post(f"/audit/{waiting['low'].pk}/{query}", {"decision": "approve"})
    assert response["Location"] == f"/audit/{query}"
    assert list(audit_queue_for(pharmacist, institution=county["C001"].pk)) == []


def test_the_double_signature_time_is_shown_in_local_time_not_the_utc_of_the_json(client, pharmacist, waiting):
    signed_at = waiting["high"].double_signature["signed_at"]
    assert signed_at.endswith("+00:00")  # stored as UTC ISO text
    client.force_login(pharmacist)
    html = client.get(f"/audit/{waiting['high'].pk}/").content.decode()
    local = timezone.localtime(timezone.datetime.fromisoformat(signed_at)).strftime("%Y-%m-%d %H:%M")
    assert local in html and signed_at[:16] not in html


def test_a_moment_from_json_reads_in_shanghai_time_and_a_duration_reads_rounded_in_chinese():
    assert local_text("2024-03-01T02:30:00+00:00") == "2024-03-01 10:30"
    assert local_text("") == "" and local_text("not a time") == ""
    with translation.override("zh-hans"):
        assert duration_text(2 * 3600 + 5 * 60 + 12.7) == "2小时5分"
        assert duration_text(240 * 60) == "4小时" and duration_text(59.6) == "1分钟"
        assert duration_text(timedelta(days=1, hours=3, minutes=20)) == "1天3小时"
