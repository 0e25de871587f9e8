"""Demo data for one county: institutions, a user for every role, the whole catalogue with demo
prices and stock, and 30 patients. Idempotent: a second run changes nothing that exists."""

import hashlib
import io
import random
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from PIL import Image

from accounts.models import Institution, InstitutionKind, User
from accounts.roles import Role
from accounts.services import institution_save, user_set_roles
from audit.services import audit_decide, audit_run
from catalogue.formulas import formula_save_agreed, formula_save_personal
from catalogue.importer import import_catalogue
from catalogue.models import Formula, FormulaKind, Herb, StockBatch
from catalogue.services import stock_receive
from delivery.services import pickup_code_for, run_create
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
from prescriptions.workflow import Stage

DEMO_PASSWORD = "tcm-demo-2026"

K = InstitutionKind
INSTITUTIONS = [
    # code, name, kind, parent code, township, phone
    ("H001", "示范县人民医院（医共体牵头医院）", K.LEAD_HOSPITAL, None, "城关镇", "0571-6000 1000"),
    ("C001", "城东中心卫生院", K.CENTRAL_HEALTH_CENTRE, "H001", "城东镇", "0571-6000 2001"),
    ("C002", "城西中心卫生院", K.CENTRAL_HEALTH_CENTRE, "H001", "城西镇", "0571-6000 2002"),
    ("T001", "白塔乡卫生院", K.TOWNSHIP_HEALTH_CENTRE, "C001", "白塔乡", "0571-6000 3001"),
    ("T002", "青石乡卫生院", K.TOWNSHIP_HEALTH_CENTRE, "C001", "青石乡", "0571-6000 3002"),
    ("T003", "柳溪乡卫生院", K.TOWNSHIP_HEALTH_CENTRE, "C002", "柳溪乡", "0571-6000 3003"),
    ("T004", "桃源乡卫生院", K.TOWNSHIP_HEALTH_CENTRE, "C002", "桃源乡", "0571-6000 3004"),
    ("V001", "白塔村卫生室", K.VILLAGE_CLINIC, "T001", "白塔乡", "0571-6000 4001"),
    ("V002", "柳溪村卫生室", K.VILLAGE_CLINIC, "T003", "柳溪乡", "0571-6000 4002"),
    ("P001", "示范县共享中药房（代煎中心）", K.SHARED_PHARMACY, "H001", "城关镇", "0571-6000 5000"),
    ("D001", "示范县中药配送站", K.DELIVERY_STATION, "H001", "城关镇", "0571-6000 6000"),
]

USERS = [
    # username, name, institution code, roles
    ("admin", "系统管理员", "H001", []),
    ("countyadmin", "周卫健", "H001", [Role.ADMINISTRATOR]),
    ("centreadmin", "钱院长", "C001", [Role.ADMINISTRATOR]),
    ("clinician", "李明华", "T001", [Role.CLINICIAN]),
    ("clinician2", "王建国", "C002", [Role.CLINICIAN]),
    ("expert", "陈国医", "H001", [Role.CLINICIAN]),
    ("pharmacist", "张药师", "H001", [Role.PHARMACIST]),
    ("pharmacist2", "刘复核", "P001", [Role.PHARMACIST]),
    ("dispenser", "赵调剂", "P001", [Role.DISPENSER]),
    ("decoctor", "孙煎药", "P001", [Role.DECOCTION_OPERATOR]),
    ("courier", "吴配送", "D001", [Role.COURIER]),
]

# Demo prices (yuan per gram) by category: synthetic, for the demo only.
PRICE_BANDS = {
    "补虚药": (0.08, 0.60),
    "开窍药": (2.00, 30.00),
    "平肝息风药": (0.10, 2.00),
    "活血化瘀药": (0.06, 0.80),
    "安神药": (0.05, 0.50),
    "止血药": (0.05, 1.20),
}
DEFAULT_BAND = (0.03, 0.25)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "秀英",
    "建华",
    "桂兰",
    "志强",
    "玉梅",
    "国庆",
    "丽娟",
    "海燕",
    "文斌",
    "春花",
    "德明",
    "小红",
    "永福",
    "淑珍",
    "卫东",
]
# Administrative-division prefix used for the demo ID numbers.
AREA_CODE = "330127"


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


class Command(BaseCommand):
    help = "Load demo institutions, users, catalogue with prices and stock, and patients (idempotent)."

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
        self.stdout.write(f"{prescriptions} demo prescriptions submitted (audit queue, approved, rejected, waiting).")
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins (password for all: %s):" % DEMO_PASSWORD))
        shown = Prescription.objects.filter(status=Stage.SHIPPED).exclude(tracking_token=None).first()
        if shown:
            self.stdout.write(f"Patient tracking page (on its way): {settings.SITE_URL}/t/{shown.tracking_token}/")
        for username, name, code, roles in USERS:
            label = "、".join(str(Role(role).label) for role in roles) or "superuser"
            self.stdout.write(f"  {username:<12} {name}  {institutions[code].name}  [{label}]")

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
        and flagged), approved, rejected, and just submitted (the worker audits those)."""
        if Prescription.objects.exists():
            return 0
        clinician, pharmacist = users["clinician"], users["pharmacist"]
        today = date.today()
        patients = [
            p
            for p in Patient.objects.filter(institution=clinician.institution).order_by("pk")
            if 18 <= p.age_on(today) < 65
        ]
        women = [p for p in patients if p.sex == "F"]
        patients = patients * 3  # some patients come back with another prescription
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
        signed = {"password": DEMO_PASSWORD}
        cases = [
            # (patient, disease, syndrome, items, extra, audit?, decision)
            (patients[0], "虚劳", "脾胃气虚", "党参:9|白术:9|茯苓:12|炙甘草:6", {}, True, None),
            (patients[1], "咳嗽", "痰湿蕴肺", "法半夏:9|陈皮:9|茯苓:12|炙甘草:3|生姜:3", {}, True, None),
            (patients[2], "瘿病", "痰气郁结", "海藻:10|昆布:10|浙贝母:9|甘草:6|陈皮:6", {"sign": True}, True, None),
            (women[0], "痛经", "气滞血瘀", "当归:9|川芎:6|桃仁:9|红花:6|香附:9", {"pregnancy": "yes"}, True, None),
            (child, "咳嗽", "风寒袭肺", "麻黄:6:decoct_first|苦杏仁:6:add_later|甘草:3", {}, True, None),
            (patients[3], "感冒", "营卫不和", "桂枝:9|白芍:9|生姜:9|大枣:10|炙甘草:6", {}, True, "approve"),
            (
                patients[4],
                "胸痹",
                "寒凝心脉",
                "附子:9:decoct_first|法半夏:9|瓜蒌:12|薤白:9",
                {"sign": True},
                True,
                "reject",
            ),
            (patients[5], "不寐", "心脾两虚", "酸枣仁:15|茯苓:12|知母:9|川芎:6|甘草:3", {}, False, None),
        ]
        # Prescriptions waiting at every station of the shared pharmacy and decoction centre.
        station_cases = [
            (
                patients[6],
                "虚劳",
                "气血两虚",
                "党参:9|白术:9|茯苓:12|炙甘草:6|当归:9|川芎:6|白芍:9|熟地黄:12",
                {},
                True,
                "approve",
                Stage.DISPENSED,
            ),
            (
                patients[7],
                "胃脘痛",
                "肝郁气滞",
                "柴胡:6|白芍:12|枳壳:9|香附:9|陈皮:6|炙甘草:6",
                {},
                True,
                "approve",
                Stage.RECHECKED,
            ),
            (
                patients[8],
                "感冒",
                "风寒束表",
                "荆芥:9|防风:9|羌活:6|川芎:6|白芷:6|甘草:3",
                {"urgent": True},
                True,
                "approve",
                Stage.SOAKING,
            ),
            (
                patients[9],
                "不寐",
                "心脾两虚",
                "黄芪:15|党参:9|白术:9|茯神:12|酸枣仁:15|远志:6|木香:6|龙眼肉:9",
                {},
                True,
                "approve",
                Stage.DECOCTING,
            ),
            (
                patients[10],
                "咳嗽",
                "痰湿蕴肺",
                "法半夏:9|陈皮:9|茯苓:12|炙甘草:3|苦杏仁:9:add_later",
                {},
                True,
                "approve",
                Stage.PACKAGED,
            ),
            (
                patients[11],
                "便秘",
                "气虚",
                "黄芪:15|白术:12|当归:9|火麻仁:10|枳壳:9",
                {"decoction": "self"},
                True,
                "approve",
                Stage.RECHECKED,
            ),
            (
                patients[12],
                "头痛",
                "肝阳上亢",
                "天麻:9|钩藤:12:add_later|石决明:18:decoct_first|牛膝:12|杜仲:9",
                {},
                True,
                "approve",
                Stage.SHIPPED,
            ),
            (
                patients[13],
                "眩晕",
                "气血两虚",
                "黄芪:15|当归:9|党参:9|白术:9|茯苓:12|炙甘草:6",
                {},
                True,
                "approve",
                Stage.DELIVERED,
            ),
            (
                patients[14],
                "湿疹",
                "湿热浸淫",
                "苦参:9|黄柏:9|苍术:9|土茯苓:15|甘草:6",
                {"delivery": "pickup", "decoction": "self"},
                True,
                "approve",
                Stage.PICKED_UP,
            ),
        ]
        cases = [case + (None,) for case in cases] + station_cases
        for patient, disease, syndrome, items, extra, audit, decision, stage in cases:
            rows = []
            for entry in items.split("|"):
                herb, grams, *instruction = entry.split(":")
                rows.append({"herb": herb, "grams": grams, "instruction": instruction[0] if instruction else ""})
            values = {
                "consult": {
                    "tcm_disease": disease,
                    "tcm_syndrome": syndrome,
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
                findings = prescription_precheck(actor=clinician, patient=patient, values=values)["findings"]
                reasons = {
                    finding_key(f): "经典方配伍，病情需要，已告知患者" for f in findings if f["severity"] == "block"
                }
                values["double_signature"] = {**signed, "reasons": reasons}
            prescription, _ = prescription_submit(actor=clinician, patient=patient, values=values)
            if audit:
                audit_run(prescription_id=prescription.pk)
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
            if stage:
                self.advance(prescription, stage, users)
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
        if Patient.objects.exists():
            return 0
        rng = random.Random(2026)
        clinicians = [users["clinician"], users["clinician2"], users["expert"]]
        allergens = ["白芍", "甘草", "黄芪", "当归", "川芎"]
        for serial in range(30):
            male = serial % 2 == 0
            born = date(1945 + rng.randint(0, 60), rng.randint(1, 12), rng.randint(1, 28))
            # Most demo patients belong to the demo clinician's township.
            clinician = clinicians[0] if serial < 18 else clinicians[1 + serial % 2]
            township = clinician.institution.township
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
        return 30
