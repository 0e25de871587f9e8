"""What a bag label says about taking the medicine. A centre-decocted bag holds a decoction that
is ready to take, so its label says how to warm it and how many bags a day, never 水煎 (the
prescription's usage is written for herbs decocted at home)."""

import re
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from prescriptions.workflow import Decoction

DOSES_PER_DAY = re.compile(r"(?:每日|日|一日)\s*([0-9一二两三])\s*剂")
CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3}


def doses_per_day(usage: str) -> int:
    """The doses (剂) a day the usage names (每日1剂, 日二剂, …); 1 when it names none."""
    match = DOSES_PER_DAY.search(usage or "")
    if not match:
        return 1
    value = match.group(1)
    return CHINESE_DIGITS.get(value) or int(value) or 1


def bags_a_day(*, doses: int, bags: int, usage: str) -> int:
    """Bags taken a day: the bags of one dose times the doses a day, at least 1."""
    per_dose = Decimal(bags) / Decimal(max(doses, 1))
    return max(1, int((per_dose * doses_per_day(usage)).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def bag_usage(prescription, *, bags: int) -> str:
    """How to take what is in the bag: for a centre decoction how to warm it and how many bags a
    day, one bag each time; for herbs to decoct at home the prescription's own usage."""
    if prescription.decoction != Decoction.CENTER:
        return prescription.usage
    times = bags_a_day(doses=prescription.doses, bags=bags, usage=prescription.usage)
    return _("Warm in a water bath or in hot water before taking; %(times)d times a day, 1 bag each time.") % {
        "times": times
    }
