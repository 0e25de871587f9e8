"""A small county history for the dashboards' tests, written through the platform's own services
under a fixed clock, so each figure can be computed by hand from the few lines that build it.

    history = History(people)
    p = history.write(people["clinician"], at=local(2026, 3, 2, 9), herbs=[("党参", 10)], doses=7)
    history.walk(p, {"ai_audited": 1, "approved": 20, "dispensed": 50, ...})  # minutes after submit
    refresh(full=True)

`walk` uses the machine audit (audit_run), the pharmacist's decision (audit_decide) and, for the
stations, the one status writer (prescription_transition) with the persona whose role makes that
step; station records (weights, stock, photos) are left to the tests of the stations."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings

from audit.models import Decision
from audit.services import audit_decide, audit_run
from dashboards.rollups import refresh
from prescriptions.models import Prescription
from prescriptions.services import prescription_submit
from prescriptions.services.drafting import PrescriptionForm, finding_key
from prescriptions.services.trace import prescription_transition
from prescriptions.workflow import Decoction, DeliveryMode, Stage

from .factories import PatientFactory

PASSWORD = "pw-for-tests-1"
PLAIN = [("党参", 10), ("白术", 10)]  # no findings
HIGH = [("甘草", 6), ("甘遂", 1)]  # 十八反: a block finding, signed by the clinician
EIGHTEEN = "incompatibility.eighteen:甘草+甘遂"
# Who makes each station step (the persona key in `people`).
STEP_ACTOR = {
    Stage.DISPENSED: "dispenser",
    Stage.RECHECK_FAILED: "pharmacist",
    Stage.RECHECKED: "pharmacist",
    Stage.SOAKING: "decoctor",
    Stage.DECOCTING: "decoctor",
    Stage.PACKAGED: "decoctor",
    Stage.SHIPPED: "courier",
    Stage.DELIVERED: "courier",
    Stage.PICKED_UP: "dispenser",
}


def local(year, month, day, hour=9, minute=0) -> datetime:
    """A moment in the county's local time."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(settings.TIME_ZONE))


class History:
    def __init__(self, people: dict):
        self.people = people

    def write(
        self,
        clinician,
        *,
        at: datetime,
        herbs=PLAIN,
        doses: int = 7,
        decoction=Decoction.CENTER,
        delivery=DeliveryMode.PICKUP,
        urgent: bool = False,
        disease: str = "胃痛",
        syndrome: str = "",
        icd10: str = "",
        patient=None,
    ) -> Prescription:
        """Submit one prescription at `at` through the submit service."""
        values = {
            "consult": {"tcm_disease": disease, "tcm_syndrome": syndrome, "western_icd10": icd10},
            "items": [{"herb": herb, "grams": str(grams)} for herb, grams in herbs],
            "doses": doses,
            "usage": "每日1剂，水煎分2次温服",
            "decoction": decoction,
            "delivery": delivery,
            "urgent": urgent,
            "delivery_address": "白塔乡白塔村1号" if delivery == DeliveryMode.ADDRESS else "",
        }
        if list(herbs) == HIGH:
            values["double_signature"] = {"password": PASSWORD, "reasons": {EIGHTEEN: "病情需要，已告知患者"}}
        patient = patient or PatientFactory(institution=clinician.institution)
        with time_machine.travel(at, tick=False):
            prescription, created = prescription_submit(
                actor=clinician, patient=patient, form=PrescriptionForm.of(values)
            )
        assert created
        return prescription

    def walk(
        self, prescription: Prescription, minutes: dict, *, pharmacist=None, reject_reason="请修改剂量"
    ) -> Prescription:
        """Move `prescription` through the stages named in `minutes` (stage → minutes after its
        submission), in that order. `approved`/`rejected` are the pharmacist's decision (an
        override reason for each block finding); `ai_audited` is the machine audit."""
        submitted = prescription.created_at
        for stage, after in minutes.items():
            with time_machine.travel(submitted + timedelta(minutes=after), tick=False):
                self._step(prescription, stage, pharmacist or self.people["pharmacist"], reject_reason)
            prescription = Prescription.objects.get(pk=prescription.pk)
            assert prescription.status == stage, (stage, prescription.status)
        return prescription

    def _step(self, prescription, stage, pharmacist, reject_reason):
        if stage == Stage.AI_AUDITED:
            audit_run(prescription_id=prescription.pk)
        elif stage == Stage.APPROVED:
            blocks = [f for f in prescription.audit_run.findings if f["severity"] == "block"]
            overrides = {finding_key(f): "医师已双签，病情需要" for f in blocks}
            audit_decide(
                pharmacist=pharmacist, prescription=prescription, decision=Decision.APPROVE, overrides=overrides
            )
        elif stage == Stage.REJECTED:
            audit_decide(
                pharmacist=pharmacist, prescription=prescription, decision=Decision.REJECT, reasons=[reject_reason]
            )
        else:
            actor = self.people[STEP_ACTOR[stage]] if stage in STEP_ACTOR else prescription.prescriber
            prescription_transition(prescription=Prescription.objects.get(pk=prescription.pk), to=stage, actor=actor)


def refreshed() -> None:
    refresh(full=True)


def page(client, user, name: str, **params):
    """Open dashboard `name` as `user` with the given filters."""
    client.force_login(user)
    return client.get(f"/dashboards/{name}/", params)


def table(response, name: str) -> list[dict]:
    """The rows of the page's table `name`."""
    return next(t for t in response.context["figures"].tables if t.name == name).rows
