"""A bag label says how to take what is in the bag: a centre decoction is ready to take, so its
label says how to warm it and how many bags a day, never 水煎; herbs decocted at home keep the
prescription's usage."""

import pytest

from decoction.labels import bag_usage, bags_a_day
from prescriptions.workflow import Decoction, Stage

from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")


@pytest.mark.parametrize(
    ("doses", "bags", "usage", "per_day"),
    [
        (7, 14, "每日1剂，水煎分2次温服", 2),  # two bags a dose, one dose a day
        (3, 3, "每日1剂", 1),
        (4, 8, "日二剂，分服", 4),  # two doses a day
        (5, 10, "温服", 2),  # no doses a day written: one
        (3, 7, "每日1剂", 2),  # 2.3 bags a dose: rounded
    ],
)
def test_bags_a_day_are_the_bags_of_one_dose_times_the_doses_a_day(doses, bags, usage, per_day):
    assert bags_a_day(doses=doses, bags=bags, usage=usage) == per_day


def test_a_centre_decocted_bags_label_says_how_to_warm_and_take_it_and_not_to_decoct_it(
    client, decoctor, clinician, catalogue
):
    prescription = prescription_at(clinician, Stage.PACKAGED)  # 7 doses, 每日1剂，水煎分2次温服
    assert "水煎" in prescription.usage

    client.force_login(decoctor)
    page = client.get(f"/stations/labels/{prescription.pk}/").content.decode()
    receipt = client.get(f"/stations/labels/{prescription.pk}/?receipt=1").content.decode()

    assert "水煎" not in page and "水煎" not in receipt
    assert page.count("隔水加热或温水烫热后服用，每日2次，每次1袋") == 14, "one line on each of the 14 bags"
    assert "隔水加热或温水烫热后服用，每日2次，每次1袋" in receipt


def test_herbs_to_decoct_at_home_keep_the_prescriptions_usage_on_their_label(clinician, catalogue):
    prescription = prescription_at(clinician, Stage.PACKAGED, decoction=Decoction.SELF)

    assert bag_usage(prescription, bags=7) == "每日1剂，水煎分2次温服"
