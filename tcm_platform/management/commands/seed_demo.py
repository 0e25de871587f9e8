"""Demo data for one county: institutions, a user for every role, the whole catalogue with demo
prices and stock, each clinician's patients and prescriptions at various stages. Idempotent: a
second run changes nothing that exists."""

import hashlib
import io
import random
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image

from accounts.models import Institution, User
from accounts.services import institution_save, user_set_roles
from audit.services import audit_decide, audit_run
from catalogue.formulas import formula_save_agreed, formula_save_personal
from catalogue.importer import import_catalogue
from catalogue.models import Formula, FormulaKind, Herb, StockBatch
from catalogue.services import stock_receive
from delivery.services import pickup_code_for, run_create, stop_failed
from patients.models import Patient
from patients.services import patient_create
from patients.validators import id_check_char
from pipeline.steps import STEPS
from prescriptions.models import Prescription
from prescriptions.services import (
    finding_key,
    prescription_precheck,
    prescription_record_step,
    prescription_submit,
)
from prescriptions.services.drafting import PrescriptionForm
from prescriptions.services.herb_use import herb_use_refresh
from prescriptions.workflow import Stage

from ..demo_data import (
    AREA_CODE,
    CHILD,
    DEFAULT_BAND,
    DEMO_CASES,
    DEMO_PASSWORD,
    GIVEN,
    INSTITUTIONS,
    OTHER_CLINICIAN_CASES,
    PATIENTS_PER_CLINICIAN,
    PRICE_BANDS,
    SURNAMES,
    USERS,
    WOMAN,
    DemoCase,
)
from ..demo_outreach import seed_remote_consults, seed_sessions


def demo_price(herb: Herb) -> Decimal:
    low, high = PRICE_BANDS.get(herb.category, DEFAULT_BAND)
    fraction = int(hashlib.sha256(herb.name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return Decimal(str(round(low + (high - low) * fraction, 4)))


def demo_photo():
    """A synthetic photo of dispensed herbs for the demo (noise, so it is neither dark nor blurry)."""
    image = Image.effect_noise((640, 480), 64).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return SimpleUploadedFile("herbs.jpg", out.getvalue(), content_type="image/jpeg")


def demo_id_number(born: date, serial: int, male: bool) -> str:
    sex_digit = (serial * 2 + (1 if male else 0)) % 10
    first17 = f"{AREA_CODE}{born:%Y%m%d}{serial % 100:02d}{sex_digit}"
    return first17 + id_check_char(first17)


def case_patients(clinician) -> dict:
    """Who the demo cases are for (see demo_data.DemoCase.patient): the demo clinician's adult
    patients, each up to three times, the first woman among them, and a child (made once)."""
    today = date.today()
    adults = [
        p
        for p in Patient.objects.filter(institution=clinician.institution).order_by("pk")
        if 18 <= p.age_on(today) < 65
    ]
    women = [p for p in adults if p.sex == "F"]
    child = Patient.objects.filter(institution=clinician.institution, name="王小宝").first() or patient_create(
        actor=clinician,
        values={
            "name": "王小宝",
            "sex": "M",
            "date_of_birth": date.today() - timedelta(days=5 * 365 + 40),
            "mobile": "13900001111",
            "township": "白塔乡",
            "address": "浙江省示范县白塔乡东村3号",
        },
    )
    return {**dict(enumerate(adults * 3)), WOMAN: women[0], CHILD: child}


def case_values(case: DemoCase, patient: Patient, clinician) -> dict:
    """The submission for a demo case; a case marked `sign` carries the clinician's double
    signature with a reason for every blocking finding."""
    rows = []
    for entry in case.items.split("|"):
        herb, grams, *instruction = entry.split(":")
        rows.append({"herb": herb, "grams": grams, "instruction": instruction[0] if instruction else ""})
    extra = case.extra
    values = {
        "consult": {
            "tcm_disease": case.disease,
            "tcm_syndrome": case.syndrome,
            "pregnancy": extra.get("pregnancy", "no"),
        },
        "items": rows,
        "doses": 7,
        "usage": "每日1剂，水煎分2次温服",
        "delivery": extra.get("delivery", "address"),
        "delivery_address": patient.address or "浙江省示范县白塔乡",
        "urgent": extra.get("urgent", False),
        "decoction": extra.get("decoction", "center"),
    }
    if extra.get("sign"):
        findings = prescription_precheck(actor=clinician, patient=patient, form=PrescriptionForm.of(values))["findings"]
        reasons = {finding_key(f): "经典方配伍，病情需要，已告知患者" for f in findings if f["severity"] == "block"}
        values["double_signature"] = {"password": DEMO_PASSWORD, "reasons": reasons}
    return values


def decide_case(prescription: Prescription, decision: str, pharmacist) -> None:
    """The pharmacist's final audit of a demo case: approve, or reject the 十八反 one."""
    if decision == "approve":
        audit_decide(pharmacist=pharmacist, prescription=prescription, decision="approve", comment="处方合理")
    elif decision == "reject":
        audit_decide(
            pharmacist=pharmacist,
            prescription=prescription,
            decision="reject",
            reasons=["配伍禁忌，请调整处方"],
            comment="附子与半夏属十八反，请调整",
        )


class Command(BaseCommand):
    help = "Load demo institutions, users, catalogue with prices and stock, and patients (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-summary", action="store_true", help="Do not print the logins (make demo prints them last)."
        )

    def handle(self, *args, **options):
        with transaction.atomic():
            institutions = self.seed_institutions()
            users = self.seed_users(institutions)
        summary = import_catalogue()
        self.stdout.write(f"Catalogue: {summary.herbs_created} herbs created, {summary.aliases} aliases.")
        with transaction.atomic():
            priced = self.seed_prices()
            batches = self.seed_stock(institutions["P001"], users["dispenser"])
            patients = self.seed_patients(institutions, users)
        self.stdout.write(
            f"Demo prices set on {priced} herbs; {batches} stock batches received; {patients} patients added."
        )
        formulas = self.seed_formulas(institutions, users)
        self.stdout.write(f"{formulas} agreed and personal demo formulas.")
        prescriptions = self.seed_prescriptions(users)
        self.stdout.write(
            f"{prescriptions} demo prescriptions submitted by {len(PATIENTS_PER_CLINICIAN)} clinicians "
            "(audit queue, approved, rejected, at the stations, on the way, delivered)."
        )
        sessions = seed_sessions(institutions, users)
        consults = seed_remote_consults(users, demo_photo)
        self.stdout.write(f"{sessions} visiting-expert sessions; {consults} remote consults from 白塔村卫生室.")
        herb_use_refresh()  # the suggestions rank by the county's use at once, not after the first beat
        if not options["no_summary"]:
            call_command("demo_summary", stdout=self.stdout)

    def seed_institutions(self):
        institutions = {}
        for code, name, kind, parent, township, phone in INSTITUTIONS:
            institution = Institution.objects.filter(code=code).first()
            if institution is None:
                institution = institution_save(
                    institution=Institution(
                        code=code,
                        name=name,
                        kind=kind,
                        parent=institutions.get(parent),
                        township=township,
                        phone=phone,
                        address=f"浙江省示范县{township}",
                    )
                )
            institutions[code] = institution
        return institutions

    def seed_users(self, institutions):
        users = {}
        for username, name, code, roles in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(username=username, name=name, institution=institutions[code])
                user.is_superuser = user.is_staff = username == "admin"
                user.set_password(DEMO_PASSWORD)
                user.save()
                user_set_roles(user=user, roles=roles)
            users[username] = user
        return users

    def seed_prices(self):
        herbs = list(Herb.objects.filter(price_per_g__isnull=True))
        for herb in herbs:
            herb.price_per_g = demo_price(herb)
        Herb.objects.bulk_update(herbs, ["price_per_g"])
        return len(herbs)

    def seed_stock(self, pharmacy, dispenser):
        stocked = set(StockBatch.objects.filter(pharmacy=pharmacy).values_list("herb_id", flat=True))
        today = date.today()
        count = 0
        for herb in Herb.objects.filter(active=True).exclude(pk__in=stocked).order_by("pk"):
            rng = random.Random(herb.name)
            for n in (1, 2):
                stock_receive(
                    pharmacy=pharmacy,
                    herb=herb,
                    batch_no=f"{today:%Y}{herb.pk:04d}{n}",
                    expiry_date=today + timedelta(days=180 * n + rng.randint(0, 180)),
                    quantity_g=Decimal(rng.choice([500, 1000, 2000, 5000])),
                    actor=dispenser,
                    note="demo stock",
                )
                count += 1
        return count

    @transaction.atomic
    def seed_formulas(self, institutions, users):
        """A county agreed formula with two versions, and two of the demo clinician's own formulas."""
        count = 0
        if not Formula.objects.filter(kind=FormulaKind.AGREED).exists():
            admin = users["countyadmin"]
            base = [{"herb": "黄芪", "grams": "15"}, {"herb": "白术", "grams": "9"}, {"herb": "防风", "grams": "6"}]
            formula_save_agreed(
                actor=admin,
                institution=institutions["H001"],
                name="玉屏风加味（县协定方）",
                items=base,
                usage="每日1剂，水煎分2次温服",
                indications="表虚自汗，易感风邪",
            )
            formula_save_agreed(
                actor=admin,
                institution=institutions["H001"],
                name="玉屏风加味（县协定方）",
                items=base + [{"herb": "浮小麦", "grams": "15"}],
                usage="每日1剂，水煎分2次温服",
                indications="表虚自汗，易感风邪；v2 加浮小麦敛汗",
            )
            count += 2
        clinician = users["clinician"]
        for name, items in [
            ("李氏感冒方", [("荆芥", "9"), ("防风", "9"), ("羌活", "6"), ("川芎", "6"), ("白芷", "6"), ("甘草", "3")]),
            (
                "李氏胃痛方",
                [("柴胡", "6"), ("白芍", "12"), ("枳壳", "9"), ("香附", "9"), ("陈皮", "6"), ("炙甘草", "6")],
            ),
        ]:
            if not Formula.objects.filter(kind=FormulaKind.PERSONAL, owner=clinician, name=name).exists():
                formula_save_personal(
                    actor=clinician,
                    name=name,
                    usage="每日1剂，水煎分2次温服",
                    items=[{"herb": herb, "grams": grams} for herb, grams in items],
                )
                count += 1
        return count

    @transaction.atomic
    def seed_prescriptions(self, users):
        """Prescriptions at several points of the audit: waiting in the pharmacist's queue (clean
        and flagged), approved, rejected, and just submitted (the worker audits those); approved
        ones waiting at every station (see demo_data.DEMO_CASES); and a few of every other
        clinician's at various stages. A clinician who has prescriptions already gets none."""
        count = 0
        clinician = users["clinician"]
        if not Prescription.objects.filter(prescriber=clinician).exists():
            count += self.submit_cases(clinician, case_patients(clinician), DEMO_CASES, users)
        for username, cases in OTHER_CLINICIAN_CASES.items():
            other = users[username]
            if not Prescription.objects.filter(prescriber=other).exists():
                mine = Patient.objects.filter(institution=other.institution, allergies=None).order_by("pk")
                adults = [p for p in mine if p.age_on(date.today()) >= 18]
                count += self.submit_cases(other, dict(enumerate(adults)), cases, users)
        return count

    def submit_cases(self, clinician, patients, cases, users):
        for case in cases:
            patient = patients[case.patient]
            prescription, _ = prescription_submit(
                actor=clinician, patient=patient, form=PrescriptionForm.of(case_values(case, patient, clinician))
            )
            if case.audit:
                audit_run(prescription_id=prescription.pk)
            if case.decision:
                decide_case(prescription, case.decision, users["pharmacist"])
            if case.stage:
                self.advance(prescription, case.stage, users)
            if case.extra.get("failed"):
                stop_failed(actor=users["courier"], prescription=prescription, reason="家中无人，电话未接，已改约")
        return len(cases)

    def advance(self, prescription, until, users):
        """Walk an approved prescription through the stations up to `until`, as the demo staff."""
        prescription.refresh_from_db()
        items = list(prescription.items.order_by("position"))
        steps = [
            (
                Stage.DISPENSED,
                users["dispenser"],
                {"weights": [{"grams": str(i.grams * prescription.doses)} for i in items]},
                {"photo": demo_photo()},
            ),
            (Stage.RECHECKED, users["pharmacist2"], {}, {}),
        ]
        if prescription.decoction == "center":
            steps += [
                (Stage.SOAKING, users["decoctor"], {"tank": "A3"}, {}),
                (Stage.DECOCTING, users["decoctor"], {"machine": "M2", "ack_reason": "演示数据"}, {}),
                (
                    Stage.PACKAGED,
                    users["decoctor"],
                    {"bags": prescription.doses * 2, "ml_per_bag": 200, "ack_reason": "演示数据"},
                    {},
                ),
            ]
        else:
            steps.append((Stage.PACKAGED, users["decoctor"], {"bags": prescription.doses}, {}))
        if prescription.delivery == "address":
            steps += [
                (Stage.SHIPPED, users["courier"], {}, {}),
                (Stage.DELIVERED, users["courier"], {"receiver_name": "本人"}, {}),
            ]
        else:
            steps.append((Stage.PICKED_UP, users["dispenser"], {"code": pickup_code_for(prescription).code}, {}))
        for stage, actor, data, files in steps:
            if stage == Stage.SHIPPED:
                run_create(courier=actor, prescriptions=[prescription], area=prescription.patient.township or "城关镇")
            prescription_record_step(
                actor=actor, prescription=prescription, stage=stage, data=data, files=files, recorder=STEPS[stage]
            )
            if stage == until:
                break

    def seed_patients(self, institutions, users):
        """Each clinician's patients, at the clinician's institution; a clinician whose institution
        has patients already gets none."""
        allergens = ["白芍", "甘草", "黄芪", "当归", "川芎"]
        added = 0
        for offset, (username, count) in enumerate(PATIENTS_PER_CLINICIAN.items()):
            clinician = users[username]
            if Patient.objects.filter(institution=clinician.institution).exists():
                continue
            rng = random.Random(f"2026-{username}")
            township = clinician.institution.township
            for serial in range(offset * 20, offset * 20 + count):
                male = serial % 2 == 0
                born = date(1945 + rng.randint(0, 60), rng.randint(1, 12), rng.randint(1, 28))
                values = {
                    "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                    "mobile": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                    "id_number": demo_id_number(born, serial, male) if serial % 5 else "",
                    "sex": "M" if male else "F",
                    "date_of_birth": born,
                    "township": township,
                    "address": f"浙江省示范县{township}{rng.choice('东南西北')}村{rng.randint(1, 60)}号",
                    "allergies": [allergens[serial % 5]] if serial % 7 == 0 else [],
                }
                patient_create(actor=clinician, values=values)
                added += 1
        return added
