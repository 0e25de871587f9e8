"""The machine pre-audit (audit_run, routing, the sweep), the pharmacist's queue, claims and
decisions (API and service, including two pharmacists deciding at the same moment), and the
what-if replay of a draft rule version."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from audit import tasks
from audit.exceptions import AuditConflict
from audit.models import AuditClaim, AuditDecision, AuditRun, Decision
from audit.services import (
    CLAIM_MINUTES,
    audit_batch_approve,
    audit_claim,
    audit_decide,
    audit_run,
    prescription_draft,
)
from catalogue.models import Herb
from prescriptions.models import Prescription, TraceEvent
from prescriptions.services import finding_key, prescription_cancel, prescription_submit
from prescriptions.services.drafting import PrescriptionForm
from prescriptions.workflow import Stage
from rules import engine
from rules.drafts import parse_draft
from rules.models import RuleVersion, RuleVersionStatus
from rules.services import (
    live_rule_version,
    live_snapshot,
    rule_version_create,
    rule_version_publish,
    rule_version_whatif,
)

from .factories import PatientFactory, UserFactory

pytestmark = pytest.mark.usefixtures("enqueued")

PASSWORD = "pw-for-tests-1"
NONE_ITEMS = [("党参", 10), ("白术", 10)]  # no findings
LOW_ITEMS = [("白术", 9), ("麸炒白术", 9)]  # duplicate.herb (one monograph, two forms): a warning
HIGH_ITEMS = [("甘草", 6), ("甘遂", 1)]  # 十八反: block, signed by the clinician
EIGHTEEN = "incompatibility.eighteen:甘草+甘遂"
QUEUE = "/api/v1/audit/queue/"


def submit(clinician, items=NONE_ITEMS, *, doses=None, age_minutes=0) -> Prescription:
    """Submit through the service; `age_minutes` backdates it (test setup only)."""
    high = items == HIGH_ITEMS
    values = {
        "consult": {"tcm_disease": "胃痛"},
        "items": [{"herb": herb, "grams": str(grams)} for herb, grams in items],
        "doses": doses or (3 if high else 7),
        "usage": "每日1剂，水煎分2次温服",
        "delivery_address": "白塔乡白塔村1号",
    }
    if high:
        values["double_signature"] = {"password": PASSWORD, "reasons": {EIGHTEEN: "病情需要，已告知患者"}}
    patient = PatientFactory(institution=clinician.institution)
    prescription, created = prescription_submit(actor=clinician, patient=patient, form=PrescriptionForm.of(values))
    assert created
    if age_minutes:
        Prescription.objects.filter(pk=prescription.pk).update(
            created_at=timezone.now() - timedelta(minutes=age_minutes)
        )
    return prescription


def audited(clinician, items=NONE_ITEMS, **kwargs) -> Prescription:
    prescription = submit(clinician, items, **kwargs)
    assert audit_run(prescription_id=prescription.pk) is not None
    return Prescription.objects.get(pk=prescription.pk)


def fresh(prescription) -> Prescription:
    return Prescription.objects.get(pk=prescription.pk)


def decide_url(prescription) -> str:
    return f"/api/v1/audit/{prescription.pk}/decision/"


def claim_url(prescription) -> str:
    return f"/api/v1/audit/{prescription.pk}/claim/"


@pytest.fixture
def setup(catalogue, clinician, pharmacist):
    """The catalogue, the clinician at T001 and the pharmacist at H001 who audits for it."""
    return clinician


@pytest.fixture
def second_pharmacist(county):
    return UserFactory(username="pharmacist2", name="王药师", institution=county["H001"], roles=[Role.PHARMACIST])


@pytest.fixture
def pharmacist_api(api, pharmacist):
    api.force_login(pharmacist)
    return api


# --- The machine pre-audit ------------------------------------------------------------------------------


def test_auditing_twice_returns_the_same_run_and_records_one_event(setup):
    prescription = submit(setup)

    first = audit_run(prescription_id=prescription.pk)
    second = audit_run(prescription_id=prescription.pk)

    assert first.pk == second.pk
    assert AuditRun.objects.filter(prescription=prescription).count() == 1
    assert TraceEvent.objects.filter(prescription=prescription, stage=Stage.AI_AUDITED).count() == 1
    assert fresh(prescription).status == Stage.AI_AUDITED


def test_the_run_stores_rule_and_engine_versions_findings_and_risk(setup):
    prescription = submit(setup, HIGH_ITEMS)

    run = audit_run(prescription_id=prescription.pk)

    run.refresh_from_db()
    assert (run.rule_version, run.engine_version) == (live_rule_version().number, engine.ENGINE_VERSION)
    assert run.risk_level == "high" and fresh(prescription).risk_level == "high"
    assert {finding_key(f) for f in run.findings if f["severity"] == "block"} == {EIGHTEEN}
    assert all(set(f) == {"code", "severity", "herbs", "message", "source"} for f in run.findings)
    event = TraceEvent.objects.get(prescription=prescription, stage=Stage.AI_AUDITED)
    assert (event.actor, event.actor_name, event.data["risk"]) == (None, "系统", "high")


def test_the_submit_stores_the_findings_and_rule_version_it_checked(setup):
    prescription = fresh(submit(setup, LOW_ITEMS))

    draft, patient = parse_draft(prescription_draft(prescription))
    expected = [f.as_dict() for f in engine.audit(draft, patient, live_snapshot())]
    assert [f["code"] for f in prescription.precheck_findings] == ["duplicate.herb"]
    assert prescription.precheck_findings == expected
    assert prescription.precheck_rule_version == live_rule_version().number
    assert prescription.precheck_duration_ms > 0


def test_the_audit_run_uses_the_findings_stored_at_submit_without_running_the_engine_again(setup, monkeypatch):
    """While the rule version the submit checked is still the live one, the run keeps what the
    clinician was shown and signed for: its findings, its version number, its check time."""
    prescription = fresh(submit(setup, [("细辛", 3), *LOW_ITEMS]))
    submitted_with = live_rule_version().number

    def engine_runs_again(*args):
        raise AssertionError("the audit ran the rule engine again")

    monkeypatch.setattr("rules.engine.audit", engine_runs_again)
    run = audit_run(prescription_id=prescription.pk)

    run.refresh_from_db()
    assert run.rule_version == submitted_with == prescription.precheck_rule_version
    assert run.findings == prescription.precheck_findings
    assert [f["code"] for f in run.findings] == ["duplicate.herb"]
    assert run.risk_level == "low" and fresh(prescription).risk_level == "low"
    assert run.duration_ms == prescription.precheck_duration_ms
    event = TraceEvent.objects.get(prescription=prescription, stage=Stage.AI_AUDITED)
    assert event.data["rule_version"] == submitted_with


def test_a_prescription_submitted_before_the_check_was_stored_is_checked_once_with_the_live_rules(setup):
    prescription = submit(setup, LOW_ITEMS)
    Prescription.objects.filter(pk=prescription.pk).update(
        precheck_findings=[], precheck_rule_version=None, precheck_duration_ms=0
    )

    run = audit_run(prescription_id=prescription.pk)

    assert [f["code"] for f in run.findings] == ["duplicate.herb"]
    assert (run.rule_version, run.risk_level) == (live_rule_version().number, "low")
    assert audit_run(prescription_id=prescription.pk).pk == run.pk


def test_the_submit_and_the_live_warnings_ask_the_rules_app_directly_not_a_hook_registry(setup, monkeypatch):
    import importlib.util

    from prescriptions.services import prescription_precheck

    assert importlib.util.find_spec("prescriptions.hooks") is None  # no registry left to ask
    marker = engine.Finding("custom.pair", "info", ("党参", "白术"), "来自 rules 的检查", "test")
    monkeypatch.setattr("rules.engine.audit", lambda draft, patient, rules: [marker])

    values = {"items": [{"herb": herb, "grams": str(grams)} for herb, grams in NONE_ITEMS], "doses": 7}
    warnings = prescription_precheck(
        actor=setup, patient=PatientFactory(institution=setup.institution), form=PrescriptionForm.of(values)
    )
    prescription = fresh(submit(setup))

    assert warnings["findings"] == [marker.as_dict()]
    assert prescription.precheck_findings == [marker.as_dict()]


@pytest.mark.parametrize(("items", "risk"), [(NONE_ITEMS, "none"), (LOW_ITEMS, "low"), (HIGH_ITEMS, "high")])
def test_the_risk_level_follows_the_most_severe_finding(setup, items, risk):
    prescription = audited(setup, items)

    assert (prescription.risk_level, prescription.audit_run.risk_level) == (risk, risk)


def test_the_prescription_detail_shows_the_audit_once_it_has_run(setup, api):
    prescription = audited(setup, LOW_ITEMS)
    api.force_login(setup)

    audit = api.get(f"/api/v1/prescriptions/{prescription.pk}/").json()["audit"]

    assert (audit["risk_level"], audit["rule_version"]) == ("low", prescription.audit_run.rule_version)
    assert [f["code"] for f in audit["findings"]] == ["duplicate.herb"]


def test_a_cancelled_prescription_is_left_alone_by_the_audit(setup):
    prescription = submit(setup)
    prescription_cancel(actor=setup, prescription=prescription, reason="患者要求")

    assert audit_run(prescription_id=prescription.pk) is None
    assert not AuditRun.objects.filter(prescription=prescription).exists()
    assert fresh(prescription).status == Stage.CANCELLED
    assert not TraceEvent.objects.filter(prescription=prescription, stage=Stage.AI_AUDITED).exists()


def test_a_township_prescription_is_routed_to_the_nearest_institution_with_pharmacists(setup, county):
    assert audited(setup).audit_run.routed_to == county["H001"]


def test_a_pharmacist_at_the_central_health_centre_takes_over_its_townships(setup, county):
    UserFactory(institution=county["C001"], roles=[Role.PHARMACIST])

    assert audited(setup).audit_run.routed_to == county["C001"]


def test_an_inactive_pharmacist_does_not_attract_the_audit(setup, county):
    UserFactory(institution=county["C001"], roles=[Role.PHARMACIST], is_active=False)

    assert audited(setup).audit_run.routed_to == county["H001"]


def test_audited_by_overrides_the_nearest_pharmacists(setup, county):
    UserFactory(institution=county["C001"], roles=[Role.PHARMACIST])
    county["T001"].audited_by = county["P001"]
    county["T001"].save(update_fields=["audited_by"])

    assert audited(setup).audit_run.routed_to == county["P001"]


def test_the_sweep_re_enqueues_only_old_submitted_prescriptions_without_a_run(setup, enqueued):
    waiting = submit(setup, age_minutes=5)
    submit(setup)  # too recent: its own enqueue may still be on the way
    cancelled = submit(setup, age_minutes=5)
    prescription_cancel(actor=setup, prescription=cancelled, reason="患者要求")
    audited(setup, age_minutes=5)
    with_run = audited(setup, age_minutes=5)
    Prescription.objects.filter(pk=with_run.pk).update(status=Stage.SUBMITTED)  # test setup only

    tasks.sweep_unaudited(older_than_seconds=60)

    assert enqueued["audit"] == [waiting.pk]


def test_the_pre_audit_task_runs_the_audit(setup):
    prescription = submit(setup)

    tasks.run_pre_audit(prescription.pk)

    assert fresh(prescription).status == Stage.AI_AUDITED


# --- The queue --------------------------------------------------------------------------------------------


def test_the_queue_lists_high_then_low_then_no_risk_and_the_longest_waiting_first(setup, pharmacist_api):
    none_old = audited(setup, NONE_ITEMS, age_minutes=300)
    low = audited(setup, LOW_ITEMS, age_minutes=10)
    high_new = audited(setup, HIGH_ITEMS, age_minutes=1)
    none_new = audited(setup, NONE_ITEMS, age_minutes=2)
    high_old = audited(setup, HIGH_ITEMS, age_minutes=200)
    submit(setup)  # not audited yet
    cancelled = audited(setup)
    prescription_cancel(actor=setup, prescription=cancelled, reason="患者要求")

    response = pharmacist_api.get(QUEUE)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [p.pk for p in (high_old, high_new, low, none_old, none_new)]
    assert [row["risk_level"] for row in rows] == ["high", "high", "low", "none", "none"]


@pytest.mark.parametrize("code", ["P001", "C002"])
def test_a_pharmacist_of_another_institution_sees_nothing_in_the_queue(setup, api, county, code):
    audited(setup, LOW_ITEMS)
    elsewhere = UserFactory(institution=county[code], roles=[Role.PHARMACIST])
    api.force_login(elsewhere)

    response = api.get(QUEUE)

    assert response.status_code == 200 and response.json()["results"] == []


def test_the_queue_costs_the_same_number_of_queries_for_two_or_five_prescriptions(setup, pharmacist_api, pharmacist):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert pharmacist_api.get(QUEUE).status_code == 200
        return len(captured)

    audited(setup, LOW_ITEMS)
    claimed = audited(setup)
    audit_claim(pharmacist=pharmacist, prescription=claimed)
    two = queries()
    for items in (NONE_ITEMS, LOW_ITEMS, HIGH_ITEMS):
        audit_claim(pharmacist=pharmacist, prescription=audited(setup, items))

    assert queries() == two


def test_people_without_the_final_audit_capability_cannot_open_the_queue(setup, api, clinician, dispenser):
    for user in (clinician, dispenser):
        api.force_login(user)
        assert api.get(QUEUE).status_code == 403


# --- Claims ----------------------------------------------------------------------------------------------


def test_a_second_pharmacist_cannot_claim_while_the_claim_is_fresh_but_can_after_it_expires(
    setup, api, pharmacist, second_pharmacist
):
    prescription = audited(setup)
    api.force_login(pharmacist)
    assert api.post(claim_url(prescription)).status_code == 200
    api.force_login(second_pharmacist)

    assert api.post(claim_url(prescription)).status_code == 409
    assert AuditClaim.objects.get(prescription=prescription).pharmacist == pharmacist

    later = timezone.now() + timedelta(minutes=CLAIM_MINUTES + 1)
    claim = audit_claim(pharmacist=second_pharmacist, prescription=prescription, now=later)
    assert claim.pharmacist == second_pharmacist
    assert AuditClaim.objects.filter(prescription=prescription).count() == 1


def test_a_pharmacist_cannot_decide_what_another_pharmacist_holds(setup, api, pharmacist, second_pharmacist):
    prescription = audited(setup)
    audit_claim(pharmacist=pharmacist, prescription=prescription)
    api.force_login(second_pharmacist)

    response = api.post(decide_url(prescription), {"decision": "approve"}, content_type="application/json")

    assert response.status_code == 409
    assert fresh(prescription).status == Stage.AI_AUDITED


def test_a_pharmacist_of_another_institution_can_neither_claim_nor_decide(setup, api, county):
    prescription = audited(setup)
    api.force_login(UserFactory(institution=county["P001"], roles=[Role.PHARMACIST]))

    assert api.post(claim_url(prescription)).status_code == 404
    assert (
        api.post(decide_url(prescription), {"decision": "approve"}, content_type="application/json").status_code == 404
    )
    assert fresh(prescription).status == Stage.AI_AUDITED
    assert not AuditDecision.objects.exists()


def test_a_pharmacist_cannot_approve_a_prescription_they_wrote(setup, api, county, pharmacist):
    """A doctor who is also the pharmacist at H001 writes a prescription routed to H001: the final
    audit is a second person's check, so they can neither claim nor decide it, through the
    service or the API; the other pharmacist there can."""
    both = UserFactory(
        username="doctor-pharmacist", institution=county["H001"], roles=[Role.CLINICIAN, Role.PHARMACIST]
    )
    prescription = audited(both)
    assert prescription.audit_run.routed_to == county["H001"]

    with pytest.raises(PermissionDenied, match="不能审核自己开具的处方"):
        audit_decide(pharmacist=both, prescription=prescription, decision=Decision.APPROVE)
    with pytest.raises(PermissionDenied):
        audit_claim(pharmacist=both, prescription=prescription)
    api.force_login(both)
    refused = api.post(decide_url(prescription), {"decision": "approve"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "不能审核自己开具的处方。"
    assert api.post(claim_url(prescription)).status_code == 403
    assert audit_batch_approve(pharmacist=both, prescriptions=[prescription]) == []
    assert fresh(prescription).status == Stage.AI_AUDITED
    assert not AuditDecision.objects.exists() and not AuditClaim.objects.exists()

    audit_decide(pharmacist=pharmacist, prescription=prescription, decision=Decision.APPROVE)
    assert fresh(prescription).status == Stage.APPROVED


# --- Decisions -------------------------------------------------------------------------------------------


def decide(client, prescription, **data):
    return client.post(decide_url(prescription), data, content_type="application/json")


def test_rejecting_needs_at_least_one_reason(setup, pharmacist_api):
    prescription = audited(setup)

    response = decide(pharmacist_api, prescription, decision="reject", reasons=[])

    assert response.status_code == 400
    assert response.json()["errors"]["reasons"]
    assert fresh(prescription).status == Stage.AI_AUDITED and not AuditDecision.objects.exists()


def test_rejecting_with_reasons_moves_the_prescription_and_records_the_pharmacist(setup, pharmacist_api, pharmacist):
    prescription = audited(setup)

    response = decide(pharmacist_api, prescription, decision="reject", reasons=["白术剂量偏大"], comment="请修改")

    assert response.status_code == 200, response.content
    assert response.json() == {"id": prescription.pk, "decision": "reject", "status": "rejected"}
    decision = AuditDecision.objects.get(prescription=prescription)
    assert (decision.pharmacist, decision.reasons, decision.comment) == (pharmacist, ["白术剂量偏大"], "请修改")
    event = TraceEvent.objects.get(prescription=prescription, stage=Stage.REJECTED)
    assert (event.actor, event.actor_name, event.data["reasons"]) == (pharmacist, str(pharmacist), ["白术剂量偏大"])


def test_approving_a_prescription_without_findings_moves_it_to_approved(setup, pharmacist_api, pharmacist):
    prescription = audited(setup)

    response = decide(pharmacist_api, prescription, decision="approve")

    assert response.status_code == 200, response.content
    assert fresh(prescription).status == Stage.APPROVED
    event = TraceEvent.objects.get(prescription=prescription, stage=Stage.APPROVED)
    assert (event.actor, event.actor_name) == (pharmacist, str(pharmacist))


def test_approving_despite_a_block_finding_needs_a_reason_for_each_finding(setup, pharmacist_api):
    prescription = audited(setup, HIGH_ITEMS)
    assert prescription.double_signature["findings"]

    refused = decide(pharmacist_api, prescription, decision="approve", overrides={"dose.over_max:甘草": "无关"})
    assert refused.status_code == 400 and refused.json()["errors"]["overrides"]
    assert fresh(prescription).status == Stage.AI_AUDITED

    response = decide(pharmacist_api, prescription, decision="approve", overrides={EIGHTEEN: "医师已双签，病情需要"})

    assert response.status_code == 200, response.content
    assert fresh(prescription).status == Stage.APPROVED
    assert AuditDecision.objects.get(prescription=prescription).overrides == {EIGHTEEN: "医师已双签，病情需要"}


@pytest.mark.parametrize("stored", ["checked at submit", "submitted before the check was stored"])
def test_a_block_finding_the_clinician_did_not_sign_for_cannot_be_approved(setup, pharmacist_api, county_admin, stored):
    """The rules changed between submit and audit: 细辛 3 g was fine, the new version caps it at
    2 g. The run checks again under the live version, and without the prescriber's double
    signature the new block finding can only be rejected."""
    prescription = submit(setup, [("细辛", 3), ("党参", 10)])
    assert prescription.double_signature == {}
    if stored != "checked at submit":
        Prescription.objects.filter(pk=prescription.pk).update(precheck_findings=[], precheck_rule_version=None)
    Herb.objects.filter(name="细辛").update(dose_max_g=Decimal(2))
    rule_version_publish(version=rule_version_create(actor=county_admin, note="细辛 2 g"), actor=county_admin)
    run = audit_run(prescription_id=prescription.pk)
    keys = {finding_key(f) for f in run.findings if f["severity"] == "block"}
    assert keys == {"dose.over_max:细辛"}

    response = decide(pharmacist_api, prescription, decision="approve", overrides=dict.fromkeys(keys, "药师认可"))

    assert response.status_code == 400 and response.json()["errors"]["overrides"]
    assert fresh(prescription).status == Stage.AI_AUDITED and not AuditDecision.objects.exists()


def test_a_second_decision_is_a_conflict(setup, pharmacist_api):
    prescription = audited(setup)
    assert decide(pharmacist_api, prescription, decision="approve").status_code == 200

    response = decide(pharmacist_api, prescription, decision="reject", reasons=["改主意"])

    assert response.status_code == 409
    assert AuditDecision.objects.filter(prescription=prescription).count() == 1
    assert fresh(prescription).status == Stage.APPROVED


def test_a_decision_releases_the_claim(setup, pharmacist):
    prescription = audited(setup)
    audit_claim(pharmacist=pharmacist, prescription=prescription)

    audit_decide(pharmacist=pharmacist, prescription=prescription, decision=Decision.APPROVE)

    assert not AuditClaim.objects.filter(prescription=prescription).exists()


def test_batch_approval_approves_only_prescriptions_without_findings(setup, pharmacist_api, county):
    clean = audited(setup, NONE_ITEMS)
    low = audited(setup, LOW_ITEMS)
    high = audited(setup, HIGH_ITEMS)
    outsider_clinician = UserFactory(institution=county["T003"], roles=[Role.CLINICIAN])
    UserFactory(institution=county["C002"], roles=[Role.PHARMACIST])
    elsewhere = audited(outsider_clinician, NONE_ITEMS)
    assert elsewhere.audit_run.routed_to == county["C002"]

    response = pharmacist_api.post(
        "/api/v1/audit/batch-approve/",
        {"ids": [clean.pk, low.pk, high.pk, elsewhere.pk]},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"approved": [clean.pk]}
    assert [fresh(p).status for p in (clean, low, high, elsewhere)] == [
        Stage.APPROVED,
        Stage.AI_AUDITED,
        Stage.AI_AUDITED,
        Stage.AI_AUDITED,
    ]


@pytest.mark.django_db(transaction=True)
def test_two_pharmacists_deciding_at_the_same_moment_make_exactly_one_decision(
    catalogue, clinician, pharmacist, second_pharmacist
):
    prescription = audited(clinician)
    barrier = threading.Barrier(2)
    outcomes = {}

    def decide_in_thread(user):
        try:
            mine = Prescription.objects.get(pk=prescription.pk)
            barrier.wait(timeout=30)
            outcomes[user.username] = audit_decide(pharmacist=user, prescription=mine, decision=Decision.APPROVE)
        except Exception as exc:  # noqa: BLE001 - the assertion below names whatever happened
            outcomes[user.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=decide_in_thread, args=(user,)) for user in (pharmacist, second_pharmacist)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert sorted(type(outcome).__name__ for outcome in outcomes.values()) == ["AuditConflict", "AuditDecision"], (
        outcomes
    )
    assert AuditDecision.objects.filter(prescription=prescription).count() == 1
    assert TraceEvent.objects.filter(prescription=prescription, stage=Stage.APPROVED).count() == 1
    winner = next(o for o in outcomes.values() if isinstance(o, AuditDecision))
    assert AuditDecision.objects.get(prescription=prescription).pharmacist_id == winner.pharmacist_id
    assert fresh(prescription).status == Stage.APPROVED
    assert isinstance(next(o for o in outcomes.values() if not isinstance(o, AuditDecision)), AuditConflict)


# --- Rule versions -----------------------------------------------------------------------------------------


def interchange(*items, doses=7) -> dict:
    return {
        "patient": {"sex": "F", "age_years": "40", "pregnant": False, "allergies": []},
        "doses": doses,
        "items": [{"herb": herb, "grams": str(grams)} for herb, grams in items],
    }


def test_whatif_of_a_draft_version_counts_findings_added_and_removed_per_code(catalogue, county_admin):
    live = live_rule_version()
    Herb.objects.filter(name="细辛").update(dose_max_g=Decimal(5))  # 4 g is no longer over the maximum
    Herb.objects.filter(name="黄芪").update(dose_max_g=Decimal(20))  # 30 g now is
    draft = rule_version_create(actor=county_admin, note="细辛 5 g, 黄芪 20 g")
    drafts = [
        parse_draft(interchange(*items))
        for items in (
            [("细辛", 4)],
            [("细辛", 4), ("党参", 10)],
            [("细辛", 2)],
            [("黄芪", 30)],
            [("党参", 10), ("白术", 10)],
        )
    ]

    report = rule_version_whatif(version=draft, drafts=drafts)

    assert report["per_code"] == [{"code": "dose.over_max", "added": 1, "removed": 2}]
    assert (report["live"], report["candidate"], report["prescriptions"]) == (live.number, draft.number, 5)
    assert RuleVersion.objects.get(pk=draft.pk).status == RuleVersionStatus.DRAFT
    assert live_rule_version().pk == live.pk


def test_whatif_of_a_draft_that_changes_nothing_reports_no_codes(catalogue, county_admin):
    live_rule_version()
    draft = rule_version_create(actor=county_admin, note="unchanged")

    report = rule_version_whatif(version=draft, drafts=[parse_draft(interchange(("细辛", 4), ("党参", 10)))])

    assert (report["per_code"], report["prescriptions"]) == ([], 1)


def test_the_rule_models_belong_to_the_rules_app_and_the_administrator_group_holds_their_permissions(db):
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from rules.models import AgeBand, CustomPairRule

    moved = {"ruleversion", "ageband", "custompairrule"}
    assert {m._meta.db_table for m in (RuleVersion, AgeBand, CustomPairRule)} == {f"audit_{m}" for m in moved}
    assert not ContentType.objects.filter(app_label="audit", model__in=moved).exists()
    perms = set(
        Group.objects.get(name=Role.ADMINISTRATOR).permissions.values_list("content_type__app_label", "codename")
    )
    assert {
        ("rules", "change_ruleversion"),
        ("rules", "add_ageband"),
        ("rules", "delete_custompairrule"),
    } <= perms
