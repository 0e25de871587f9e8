"""The tables behind `manage.py seed_demo`: one county's institutions, a user for every role (six
clinicians at six institutions, four of them township health centres), demo price bands, patient
names, and the demo prescriptions of each clinician with the point each one reaches."""

from typing import NamedTuple

from accounts.models import InstitutionKind
from accounts.roles import Role
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
    ("clinician3", "郑春林", "T002", [Role.CLINICIAN]),
    ("clinician4", "冯素梅", "T003", [Role.CLINICIAN]),
    ("clinician5", "何志远", "T004", [Role.CLINICIAN]),
    ("villagedoc", "王村医", "V001", [Role.CLINICIAN]),
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
# How many patients each clinician registers (at the clinician's institution).
PATIENTS_PER_CLINICIAN = {
    "clinician": 18,
    "clinician2": 6,
    "expert": 6,
    "clinician3": 4,
    "clinician4": 4,
    "clinician5": 4,
    "villagedoc": 4,
}
# Administrative-division prefix used for the demo ID numbers.
AREA_CODE = "330127"

# Who a demo prescription is for: an index into the demo clinician's adult patients (each comes
# back up to three times), the first woman among them, or a child (王小宝, made once).
WOMAN, CHILD = "woman", "child"


class DemoCase(NamedTuple):
    patient: int | str
    disease: str
    syndrome: str
    items: str  # herb:grams[:instruction]|…
    extra: dict = {}  # sign, pregnancy, urgent, delivery, decoction; failed: a delivery attempt failed
    audit: bool = True  # run the automatic audit now (otherwise the worker does)
    decision: str | None = None  # the pharmacist's: approve or reject
    stage: str | None = None  # walk it through the stations up to here


# Prescriptions at several points of the audit: waiting in the pharmacist's queue (clean and
# flagged), approved, rejected, and just submitted.
AUDIT_CASES = [
    DemoCase(0, "虚劳", "脾胃气虚", "党参:9|白术:9|茯苓:12|炙甘草:6"),
    DemoCase(1, "咳嗽", "痰湿蕴肺", "法半夏:9|陈皮:9|茯苓:12|炙甘草:3|生姜:3"),
    DemoCase(2, "瘿病", "痰气郁结", "海藻:10|昆布:10|浙贝母:9|甘草:6|陈皮:6", {"sign": True}),
    DemoCase(WOMAN, "痛经", "气滞血瘀", "当归:9|川芎:6|桃仁:9|红花:6|香附:9", {"pregnancy": "yes"}),
    DemoCase(CHILD, "咳嗽", "风寒袭肺", "麻黄:6:decoct_first|苦杏仁:6:add_later|甘草:3"),
    DemoCase(3, "感冒", "营卫不和", "桂枝:9|白芍:9|生姜:9|大枣:10|炙甘草:6", decision="approve"),
    DemoCase(4, "胸痹", "寒凝心脉", "附子:9:decoct_first|法半夏:9|瓜蒌:12|薤白:9", {"sign": True}, decision="reject"),
    DemoCase(5, "不寐", "心脾两虚", "酸枣仁:15|茯苓:12|知母:9|川芎:6|甘草:3", audit=False),
]

# Prescriptions waiting at every station of the shared pharmacy and decoction centre.
STATION_CASES = [
    DemoCase(
        6,
        "虚劳",
        "气血两虚",
        "党参:9|白术:9|茯苓:12|炙甘草:6|当归:9|川芎:6|白芍:9|熟地黄:12",
        decision="approve",
        stage=Stage.DISPENSED,
    ),
    DemoCase(
        7,
        "胃脘痛",
        "肝郁气滞",
        "柴胡:6|白芍:12|枳壳:9|香附:9|陈皮:6|炙甘草:6",
        decision="approve",
        stage=Stage.RECHECKED,
    ),
    DemoCase(
        8,
        "感冒",
        "风寒束表",
        "荆芥:9|防风:9|羌活:6|川芎:6|白芷:6|甘草:3",
        {"urgent": True},
        decision="approve",
        stage=Stage.SOAKING,
    ),
    DemoCase(
        9,
        "不寐",
        "心脾两虚",
        "黄芪:15|党参:9|白术:9|茯神:12|酸枣仁:15|远志:6|木香:6|龙眼肉:9",
        decision="approve",
        stage=Stage.DECOCTING,
    ),
    DemoCase(
        10,
        "咳嗽",
        "痰湿蕴肺",
        "法半夏:9|陈皮:9|茯苓:12|炙甘草:3|苦杏仁:9:add_later",
        decision="approve",
        stage=Stage.PACKAGED,
    ),
    DemoCase(
        11,
        "便秘",
        "气虚",
        "黄芪:15|白术:12|当归:9|火麻仁:10|枳壳:9",
        {"decoction": "self"},
        decision="approve",
        stage=Stage.RECHECKED,
    ),
    DemoCase(
        12,
        "头痛",
        "肝阳上亢",
        "天麻:9|钩藤:12:add_later|石决明:18:decoct_first|牛膝:12|杜仲:9",
        decision="approve",
        stage=Stage.SHIPPED,
    ),
    DemoCase(
        13,
        "眩晕",
        "气血两虚",
        "黄芪:15|当归:9|党参:9|白术:9|茯苓:12|炙甘草:6",
        decision="approve",
        stage=Stage.DELIVERED,
    ),
    DemoCase(
        14,
        "湿疹",
        "湿热浸淫",
        "苦参:9|黄柏:9|苍术:9|土茯苓:15|甘草:6",
        {"delivery": "pickup", "decoction": "self"},
        decision="approve",
        stage=Stage.PICKED_UP,
    ),
]

DEMO_CASES = AUDIT_CASES + STATION_CASES

# The other clinicians' prescriptions, a few each at various stages, so that every clinician's
# list, the dashboards per institution and the pharmacist's queue show more than one prescriber.
# Patient indices count that clinician's own adult patients.
OTHER_CLINICIAN_CASES = {
    "clinician2": [
        DemoCase(0, "咳嗽", "风热犯肺", "桑叶:9|菊花:9|苦杏仁:9|连翘:9|薄荷:3:add_later|甘草:3"),
        DemoCase(1, "胃脘痛", "脾胃虚寒", "党参:9|白术:9|干姜:6|炙甘草:6", decision="approve", stage=Stage.DECOCTING),
        DemoCase(
            2, "眩晕", "痰湿中阻", "法半夏:9|白术:9|天麻:9|茯苓:12|陈皮:6", decision="approve", stage=Stage.DELIVERED
        ),
    ],
    "expert": [
        DemoCase(0, "心悸", "气阴两虚", "党参:9|麦冬:9|五味子:6|炙甘草:6"),
        DemoCase(
            1,
            "痹证",
            "风寒湿痹",
            "独活:9|桑寄生:12|秦艽:9|防风:9|川芎:6|当归:9",
            decision="approve",
            stage=Stage.PACKAGED,
        ),
        DemoCase(2, "失眠", "心肾不交", "黄连:3|肉桂:3|酸枣仁:15|茯神:12", decision="reject"),
    ],
    "clinician3": [
        DemoCase(
            0, "感冒", "风寒束表", "荆芥:9|防风:9|紫苏叶:9|生姜:3|甘草:3", decision="approve", stage=Stage.DISPENSED
        ),
        DemoCase(
            1,
            "腹泻",
            "脾虚湿盛",
            "党参:9|白术:12|茯苓:12|山药:15|薏苡仁:15",
            decision="approve",
            stage=Stage.SHIPPED,
            extra={"failed": True},
        ),
        DemoCase(2, "咳嗽", "肺阴亏虚", "北沙参:9|麦冬:9|玉竹:9|桑叶:6|甘草:3"),
    ],
    "clinician4": [
        DemoCase(
            0, "头痛", "风寒", "川芎:9|白芷:6|羌活:6|防风:6|细辛:3|甘草:3", decision="approve", stage=Stage.SHIPPED
        ),
        DemoCase(1, "月经不调", "血虚", "当归:9|白芍:9|熟地黄:12|川芎:6", decision="approve", stage=Stage.RECHECKED),
        DemoCase(2, "便秘", "肠燥津亏", "火麻仁:15|苦杏仁:9|白芍:9|枳实:6|厚朴:6", decision="reject"),
    ],
    "clinician5": [
        DemoCase(
            0,
            "胁痛",
            "肝郁气滞",
            "柴胡:6|白芍:9|枳壳:9|香附:9|川芎:6|炙甘草:3",
            decision="approve",
            stage=Stage.SOAKING,
        ),
        DemoCase(
            1, "虚劳", "气血两虚", "黄芪:15|当归:6|党参:9|白术:9|炙甘草:6", decision="approve", stage=Stage.DELIVERED
        ),
        DemoCase(2, "湿疹", "湿热", "苦参:9|黄柏:9|地肤子:9|白鲜皮:9", {"delivery": "pickup", "decoction": "self"}),
    ],
}
