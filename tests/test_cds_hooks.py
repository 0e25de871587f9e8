"""The CDS Hooks order check (interop.cds): discovery, and a HIS's draft herbal order checked by
the platform's own engine and rule version — one card per finding, with the suggestions that
change the draft (write 先煎, lower a dose to the limit, remove one herb of a 十八反 pair), and
every answer valid against the CDS Hooks 2.0 card schema."""

import copy

import pytest
from django.test import Client
from jsonschema import Draft202012Validator

from catalogue.models import Herb
from rules.engine import ENGINE_VERSION
from rules.models import CustomPairRule
from rules.services import live_snapshot, rule_version_create, rule_version_publish

from .cds_hooks import (
    CARDS,
    DISCOVERY,
    SCHEMA,
    SELECT,
    SI_NI_TANG,
    SI_WU_TANG,
    SIGN,
    allergies,
    call,
    cards_of,
    hook_request,
    order,
    patient,
    pregnancy,
    system,
    token_client,
)

pytestmark = pytest.mark.usefixtures("catalogue")

GANCAO_GANSUI = [order("gancao", "甘草", 6, doses=3), order("gansui", "甘遂", 1, doses=3)]  # within 甘遂's 2-day limit


@pytest.fixture
def his(clinician):
    return token_client(clinician)


def test_discovery_lists_the_order_select_and_order_sign_services_with_their_prefetch_to_anyone(db):
    response = Client().get(DISCOVERY)

    assert response.status_code == 200
    services = {service["id"]: service for service in response.json()["services"]}
    assert {key: service["hook"] for key, service in services.items()} == {
        "tcm-herbal-order-select": "order-select",
        "tcm-herbal-order-sign": "order-sign",
    }
    for service in services.values():
        assert service["title"] and service["description"]
        assert service["prefetch"] == {
            "patient": "Patient/{{context.patientId}}",
            "allergies": "AllergyIntolerance?patient={{context.patientId}}",
            "pregnancy": "Observation?patient={{context.patientId}}&code=http://loinc.org|82810-3",
            "weight": "Observation?patient={{context.patientId}}&code=http://loinc.org|29463-7",
        }


def test_gancao_with_gansui_on_order_sign_is_a_critical_card_offering_to_remove_either_one(his):
    answer = call(his, SIGN, hook_request(GANCAO_GANSUI))

    (card,) = cards_of(answer, "incompatibility.eighteen")
    assert card["indicator"] == "critical"
    assert "甘草" in card["summary"] and "甘遂" in card["summary"] and "十八反" in card["summary"]
    assert "十八反" in card["source"]["label"]
    assert card["source"]["topic"] == {
        "system": system("audit-finding"),
        "code": "incompatibility.eighteen",
        "display": "十八反",
    }
    assert card["selectionBehavior"] == "at-most-one"
    removals = {
        s["label"]: (s["isRecommended"], [(a["type"], a["resourceId"]) for a in s["actions"]])
        for s in card["suggestions"]
    }
    assert len(removals) == 2 and ["甘草" in label or "甘遂" in label for label in removals] == [True, True]
    actions = sorted(action for _recommended, found in removals.values() for action in found)
    assert actions == [("delete", "MedicationRequest/gancao"), ("delete", "MedicationRequest/gansui")]
    recommended = [found for recommended, found in removals.values() if recommended]
    assert recommended == [[("delete", "MedicationRequest/gansui")]], "the toxic herb's removal is recommended"


def test_the_cards_are_the_precheck_findings_of_the_same_draft_one_for_one(his, clinician, client):
    client.force_login(clinician)
    precheck = client.post(
        "/api/v1/prescriptions/precheck/",
        {
            "patient": {"sex": "F", "date_of_birth": "1980-03-15"},
            "items": [{"herb": "甘草", "grams": "6"}, {"herb": "甘遂", "grams": "1"}],
            "doses": 3,
        },
        content_type="application/json",
    ).json()

    answer = call(his, SIGN, hook_request(GANCAO_GANSUI))

    assert [(c["source"]["topic"]["code"], c["summary"]) for c in answer["cards"]] == [
        (f["code"], f["message"]) for f in precheck["findings"]
    ]
    severity = {"block": "critical", "warn": "warning", "info": "info"}
    assert [c["indicator"] for c in answer["cards"]] == [severity[f["severity"]] for f in precheck["findings"]]


@pytest.mark.parametrize("formula", [SI_WU_TANG, SI_NI_TANG], ids=["si-wu-tang", "si-ni-tang"])
def test_a_classical_formula_at_textbook_doses_gets_no_card_as_the_precheck_finds_nothing(
    his, clinician, client, formula
):
    client.force_login(clinician)
    items = [{"herb": herb, "grams": str(grams), "instruction": method or ""} for _rid, herb, grams, method in formula]
    precheck = client.post(
        "/api/v1/prescriptions/precheck/",
        {"patient": {"sex": "F", "date_of_birth": "1980-03-15"}, "items": items, "doses": 7},
        content_type="application/json",
    )
    orders = [order(rid, herb, grams, method=method) for rid, herb, grams, method in formula]

    assert precheck.status_code == 200 and precheck.json()["findings"] == []
    assert call(his, SIGN, hook_request(orders)) == {"cards": []}


def test_fuzi_without_decoct_first_gets_a_suggestion_that_writes_it_and_the_changed_order_passes(his):
    fuzi = order("fuzi", "附子", 9)
    answer = call(his, SIGN, hook_request([fuzi]))

    (card,) = cards_of(answer, "decoction.instruction_missing")
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert suggestion["isRecommended"] is True and card["selectionBehavior"] == "at-most-one"
    assert action["type"] == "update" and action["resource"]["id"] == "fuzi"
    (written,) = action["resource"]["dosageInstruction"][0]["additionalInstruction"]
    assert written["coding"] == [{"system": system("special-decoction"), "code": "decoct_first", "display": "先煎"}]

    again = call(his, SIGN, hook_request([action["resource"]]))
    assert cards_of(again, "decoction.instruction_missing") == []


def test_a_wrong_decoction_method_is_replaced_by_the_right_one_in_the_suggestion(his):
    answer = call(his, SIGN, hook_request([order("fuzi", "附子", 9, method="add_later")]))

    (card,) = cards_of(answer, "decoction.instruction_wrong")
    (action,) = card["suggestions"][0]["actions"]
    codes = [c["coding"][0]["code"] for c in action["resource"]["dosageInstruction"][0]["additionalInstruction"]]
    assert codes == ["decoct_first"]


def test_a_dose_over_the_limit_gets_a_suggestion_lowering_it_to_the_limit_and_the_lowered_order_passes(his):
    limit = live_snapshot().resolve("白术").dose_max
    answer = call(his, SIGN, hook_request([order("baizhu", "白术", int(limit) + 5)]))

    (card,) = cards_of(answer, "dose.over_max")
    assert card["indicator"] == "critical"
    (action,) = card["suggestions"][0]["actions"]
    quantity = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (action["type"], quantity["value"], quantity["unit"]) == ("update", limit, "g")

    again = call(his, SIGN, hook_request([action["resource"]]))
    assert cards_of(again, "dose.over_max") == []


def test_a_pregnancy_in_the_prefetch_brings_the_pregnancy_card_that_not_pregnant_does_not(his):
    orders = [order("gansui", "甘遂", 1, doses=2)]

    pregnant = call(
        his, SIGN, hook_request(orders, prefetch={"patient": patient(), "pregnancy": pregnancy("LA15173-0")})
    )
    not_pregnant = call(
        his, SIGN, hook_request(orders, prefetch={"patient": patient(), "pregnancy": pregnancy("LA26683-5")})
    )

    (card,) = cards_of(pregnant, "pregnancy.forbidden")
    assert card["indicator"] in ("critical", "warning") and "孕妇" in card["summary"]
    assert cards_of(not_pregnant, "pregnancy.forbidden") == []


def test_a_herb_allergy_in_the_prefetch_is_a_critical_card_and_a_food_allergy_is_passed_over(his):
    orders = [order("baizhu", "白术", 9), order("fuling", "茯苓", 12)]
    prefetch = {"patient": patient(), "allergies": allergies("白术")}

    allergic = call(his, SIGN, hook_request(orders, prefetch=prefetch))
    food = call(
        his,
        SIGN,
        hook_request(orders, prefetch={"patient": patient(), "allergies": allergies("白术", category="food")}),
    )

    assert [
        (c["indicator"], c["extension"]["cn.tcm-platform.audit"]["herbs"]) for c in cards_of(allergic, "allergy")
    ] == [("critical", ["白术"])]
    assert food == {"cards": []}


def test_every_card_states_the_live_rule_version_and_the_engine_version(his):
    answer = call(his, SIGN, hook_request(GANCAO_GANSUI, prefetch={}))
    version = live_snapshot().version

    assert answer["cards"]
    for card in answer["cards"]:
        assert card["extension"]["cn.tcm-platform.audit"]["ruleVersion"] == version
        assert card["extension"]["cn.tcm-platform.audit"]["engineVersion"] == ENGINE_VERSION
        assert str(version) in card["detail"].splitlines()[-1] and ENGINE_VERSION in card["detail"].splitlines()[-1]


def test_a_herb_coded_by_its_catalogue_id_is_checked_as_its_name_is(his):
    ids = dict(Herb.objects.filter(name__in=["甘草", "甘遂"]).values_list("name", "pk"))
    coded = [
        order("gancao", "", 6, doses=3, herb_id=ids["甘草"]),
        order("gansui", "", 1, doses=3, herb_id=ids["甘遂"]),
    ]
    for resource in coded:
        del resource["medicationCodeableConcept"]["text"]

    assert [c["summary"] for c in call(his, SIGN, hook_request(coded))["cards"]] == [
        c["summary"] for c in call(his, SIGN, hook_request(GANCAO_GANSUI))["cards"]
    ]


def test_order_select_checks_a_draft_without_doses_yet_for_everything_but_the_doses_and_says_so(his):
    orders = [order("gancao", "甘草", None, doses=None), order("gansui", "甘遂", None, doses=None)]

    answer = call(his, SELECT, hook_request(orders, hook="order-select"))

    assert cards_of(answer, "incompatibility.eighteen")
    codes = {c["source"].get("topic", {}).get("code") for c in answer["cards"]}
    assert not codes & {"dose.over_max", "dose.under_min", "toxic.days_limit"}
    notices = [c for c in answer["cards"] if "topic" not in c["source"]]
    assert [c["indicator"] for c in notices] == ["info", "info"]
    assert "甘草、甘遂" in notices[0]["summary"]


def test_an_unknown_herb_name_is_the_engines_not_in_the_catalogue_card_and_other_orders_are_listed_unchecked(his):
    aspirin = order("aspirin", "阿司匹林肠溶片", 100)
    aspirin["medicationCodeableConcept"]["coding"] = [
        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "243670"}
    ]
    lab = {"resourceType": "ServiceRequest", "id": "lab-1", "status": "draft", "intent": "order"}
    orders = [order("gancao", "甘草", 6), order("typo", "甘艹", 6), aspirin, lab]

    answer = call(his, SIGN, hook_request(orders))

    (unknown,) = cards_of(answer, "catalog.unknown")
    assert unknown["indicator"] == "critical" and "甘艹" in unknown["summary"] and "甘草" in unknown["summary"]
    (notice,) = [c for c in answer["cards"] if "topic" not in c["source"]]
    assert notice["indicator"] == "info"
    assert "阿司匹林肠溶片" in notice["summary"] and "ServiceRequest/lab-1" in notice["summary"]


def test_a_newly_published_rule_version_is_the_one_the_cards_state_and_a_long_message_is_cut_in_the_summary(his):
    long_message = "当归与川芎同用" + "请注意配伍比例与煎煮时间，" * 12  # 163 characters: under the field's 200
    CustomPairRule.objects.create(
        herb_a=Herb.objects.get(name="当归"), herb_b=Herb.objects.get(name="川芎"), message=long_message, source="本院"
    )
    published = rule_version_publish(version=rule_version_create(note="a county pair"))
    orders = [order("danggui", "当归", 9), order("chuanxiong", "川芎", 6)]

    (card,) = call(his, SIGN, hook_request(orders))["cards"]

    assert published.number == live_snapshot().version > 1
    assert card["extension"]["cn.tcm-platform.audit"]["ruleVersion"] == published.number
    assert (card["indicator"], card["source"]["label"]) == ("warning", "本院")
    assert len(card["summary"]) == 139 and card["summary"].endswith("…")
    assert card["detail"].startswith(long_message)


def test_the_card_schema_every_answer_is_checked_against_refuses_what_the_specification_forbids(his):
    """The check in every test above can fail: a real answer, spoiled as the specification forbids."""
    Draft202012Validator.check_schema(SCHEMA)
    answer = call(his, SIGN, hook_request(GANCAO_GANSUI))
    spoil = {
        "no selectionBehavior with suggestions": lambda card: card.pop("selectionBehavior"),
        "a 140-character summary": lambda card: card.update(summary="十" * 140),
        "an indicator outside the three": lambda card: card.update(indicator="hard-stop"),
        "no source label": lambda card: card["source"].pop("label"),
        "two recommended of at most one": lambda card: [s.update(isRecommended=True) for s in card["suggestions"]],
        "a delete without its resource id": lambda card: card["suggestions"][0]["actions"][0].pop("resourceId"),
        "a card uuid that is no uuid": lambda card: card.update(uuid="card-1"),
    }
    for name, change in spoil.items():
        spoiled = copy.deepcopy(answer)
        change(cards_of(spoiled, "incompatibility.eighteen")[0])
        assert list(CARDS.iter_errors(spoiled)), name
