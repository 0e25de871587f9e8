"""The demo's outreach to the townships: the county hospital's expert sits at two township health
centres on the coming weekdays (巡回坐诊), and the village doctor of 白塔村 has three remote consults
with that expert: one waiting, one with a question back, one answered with a prescription."""

from datetime import date, time, timedelta

from outreach.models import ClinicSession
from outreach.services import session_save
from patients.models import Patient
from prescriptions.services.drafting import PrescriptionForm
from teleconsult.models import RemoteConsult
from teleconsult.services import (
    remote_consult_ask,
    remote_consult_claim,
    remote_consult_prescribe,
    remote_consult_request,
)

# (township code, ISO weekday, starts, ends): the expert's weekly rounds.
ROUNDS = [("T001", 2, time(8, 30), time(11, 30)), ("T003", 4, time(13, 30), time(16, 30))]
WEEKS = 3


def seed_sessions(institutions, users) -> int:
    """The expert's sessions of the next WEEKS weeks, booked by the county administrator; none if
    the expert has sessions already."""
    expert = users["expert"]
    if ClinicSession.objects.filter(expert=expert).exists():
        return 0
    today, made = date.today(), 0
    for code, weekday, starts_at, ends_at in ROUNDS:
        first = today + timedelta(days=(weekday - today.isoweekday()) % 7 or 7)
        for week in range(WEEKS):
            session_save(
                actor=users["countyadmin"],
                expert=expert,
                institution=institutions[code],
                date=first + timedelta(weeks=week),
                starts_at=starts_at,
                ends_at=ends_at,
                note="请携带既往病历及检查结果",
            )
            made += 1
    return made


CONSULTS = [
    {
        "chief_complaint": "反复胃脘胀痛2月，饭后加重",
        "history": "嗳气，纳差，大便溏。",
        "pulse": "弦细",
        "tongue": "舌淡红，苔薄白",
    },
    {"chief_complaint": "失眠多梦1月", "history": "心悸，健忘，面色少华。", "pulse": "细弱", "heart_rate": 82},
    {"chief_complaint": "咳嗽5天，痰白清稀", "history": "恶寒，鼻塞流清涕。", "pulse": "浮紧", "temperature_c": 37.6},
]
ANSWER = {
    "consult": {"tcm_disease": "咳嗽", "tcm_syndrome": "风寒束表", "pregnancy": "no"},
    "items": [
        {"herb": "荆芥", "grams": "9"},
        {"herb": "防风", "grams": "9"},
        {"herb": "苦杏仁", "grams": "9", "instruction": "add_later"},
        {"herb": "桔梗", "grams": "6"},
        {"herb": "甘草", "grams": "3"},
    ],
    "doses": 5,
    "usage": "每日1剂，水煎分2次温服",
    "delivery": "pickup",
    "decoction": "center",
}


def seed_remote_consults(users, photo) -> int:
    """The village doctor's three consults (see the module's docstring); none if the village
    doctor has asked before. `photo()` makes the tongue photo each carries."""
    doctor, expert = users["villagedoc"], users["expert"]
    if RemoteConsult.objects.filter(requested_by=doctor).exists():
        return 0
    patients = list(Patient.objects.filter(institution=doctor.institution).order_by("pk")[: len(CONSULTS)])
    made = []
    for patient, values in zip(patients, CONSULTS, strict=False):
        consult, _ = remote_consult_request(
            actor=doctor, patient_id=patient.pk, values=values, photos={"tongue_photo": photo()}
        )
        made.append(consult)
    if len(made) == len(CONSULTS):
        asked, answered = made[1], made[2]
        remote_consult_claim(actor=expert, consult=asked)
        remote_consult_ask(actor=expert, consult=asked, question="请补拍舌下络脉，并说明夜间醒几次。")
        remote_consult_claim(actor=expert, consult=answered)
        remote_consult_prescribe(actor=expert, consult=answered, form=PrescriptionForm.of(ANSWER))
    return len(made)
