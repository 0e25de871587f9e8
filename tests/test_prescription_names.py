"""Names as prescriptions write them (处方应付), the county's bare-name policy, and allergies read
through the same alias table: through the importer, `manage.py audit_check`, the patient API and
page, the submit and the selectors the dispensing reads."""

import csv
import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.test import override_settings

from catalogue.importer import DATA_DIR
from catalogue.importer.loading import basis_problem
from catalogue.models import BareName, Herb, HerbAlias
from catalogue.selectors import herb_resolve, herb_resolve_many
from patients.models import Patient
from prescriptions.models import PrescriptionItem
from rules.services import live_snapshot

from .factories import PatientFactory
from .test_patients import form_data, resident_id
from .test_prescription_api import body, post

pytestmark = pytest.mark.usefixtures("enqueued")


def shipped(name: str) -> list[dict]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def audit_check(tmp_path, capsys, *items, allergies=(), **patient) -> list[dict]:
    draft = {
        "patient": {"sex": "F", "age_years": 40, "pregnant": False, "allergies": list(allergies), **patient},
        "doses": 7,
        "items": [{"herb": herb, "grams": grams, "instruction": instruction} for herb, grams, instruction in items],
    }
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(draft, ensure_ascii=False), encoding="utf-8")
    call_command("audit_check", str(path))
    return json.loads(capsys.readouterr().out)["findings"]


def found(findings, code) -> list[list[str]]:
    return [f["herbs"] for f in findings if f["code"] == code]


# --- The alias and 应付 table ---------------------------------------------------------------------------


def test_the_alias_table_holds_at_least_500_names_of_both_kinds():
    kinds = Counter(row["kind"] for row in shipped("aliases.csv"))

    assert sum(kinds.values()) >= 500
    assert set(kinds) == {"synonym", "dispensing"}
    assert kinds["dispensing"] >= 100


def test_every_alias_and_bare_name_row_names_a_real_source_and_resolves_to_a_catalogue_herb(catalogue):
    for row in shipped("aliases.csv"):
        assert basis_problem(row["basis"]) is None, row
        alias = HerbAlias.objects.get(alias=row["alias"])
        assert (alias.herb.name, alias.kind, alias.basis) == (row["herb"], row["kind"], row["basis"])
        assert herb_resolve(row["alias"], as_dispensed=False).name == row["herb"]
    for row in shipped("bare_names.csv"):
        assert basis_problem(row["basis"]) is None, row
        assert herb_resolve(row["written"], as_dispensed=False) is not None, row
        assert BareName.objects.get(written=row["written"]).herb.name == row["dispensed"]


@pytest.mark.parametrize(
    "basis",
    ["", "toxic.csv notes", "formulas README 别名换算", "处方常用别名", "Yuqian1017/tianji 安全表《中药学》"],
)
def test_a_basis_that_names_a_file_or_no_source_is_refused(basis):
    assert basis_problem(basis) is not None


@pytest.mark.parametrize(
    ("written", "herb"),
    [
        ("制附片", "附子"),
        ("附片", "附子"),
        ("熟附子", "附子"),
        ("炮附子", "炮附片"),
        ("焦白术", "焦白术"),
        ("炒白术", "麸炒白术"),
        ("生白术", "白术"),
        ("炙芪", "炙黄芪"),
        ("焦楂", "焦山楂"),
        ("酒军", "酒大黄"),
        ("醋元胡", "醋延胡索"),
        ("炒杜仲", "盐杜仲"),
        ("浙贝", "浙贝母"),
        ("川贝粉", "川贝母"),
        ("三七粉", "三七"),
        ("杭白芷", "白芷"),
        ("生山楂", "山楂"),
        ("蜜炙甘草", "炙甘草"),
    ],
)
def test_names_written_the_clinical_way_resolve_to_the_herb_dispensed(catalogue, written, herb):
    assert herb_resolve_many([written])[written].name == herb
    assert live_snapshot().resolve(written).name == herb


def test_a_local_processed_form_is_its_own_herb_with_its_parents_dose_not_another_processing(catalogue):
    jiao = Herb.objects.get(name="焦白术")

    assert (jiao.base_herb, jiao.dose_min_g, jiao.dose_max_g) == ("白术", 6, 12)
    assert not jiao.in_pharmacopoeia and jiao.active
    assert herb_resolve("焦白术") != herb_resolve("麸炒白术")


def test_a_real_eighteen_pair_written_as_clinicians_write_it_is_found(catalogue, tmp_path, capsys):
    findings = audit_check(tmp_path, capsys, ("制附片", 9, "先煎"), ("浙贝母", 9, ""))

    assert found(findings, "incompatibility.eighteen") == [["制附片", "浙贝母"]]
    assert not found(findings, "catalog.unknown")


def test_a_correct_script_using_common_processed_names_is_not_blocked(catalogue, tmp_path, capsys):
    findings = audit_check(
        tmp_path,
        capsys,
        ("炙芪", 15, ""),
        ("焦白术", 10, ""),
        ("云苓", 12, ""),
        ("醋元胡", 9, ""),
        ("炒枳壳", 9, ""),
        ("炙甘草", 6, ""),
    )

    assert not [f for f in findings if f["severity"] == "block"], findings


# --- The bare-name policy ----------------------------------------------------------------------------------


def test_the_bare_name_policy_decides_what_bare_chuanwu_means_in_the_engine_and_the_dispensing(
    api, clinician, county, catalogue
):
    api.force_login(clinician)
    patient = PatientFactory(institution=county["T001"])
    items = [{"herb": "川乌", "grams": "2", "instruction": "先煎"}, {"herb": "白术", "grams": "10"}]

    response = post(api, body(patient, items=items))

    assert response.status_code == 201, response.content
    line = PrescriptionItem.objects.get(prescription_id=response.json()["id"], written_name="川乌")
    assert line.herb.name == "制川乌"  # 写川乌付制川乌: dispensed processed
    assert live_snapshot().resolve("川乌").name == "制川乌"  # and audited as what is dispensed
    assert live_snapshot().resolve("生川乌").name == "川乌"  # written raw stays raw
    assert live_snapshot().resolve("半夏").name == "法半夏"

    with override_settings(TCM_BARE_NAME_POLICY="literal"):
        assert herb_resolve_many(["川乌", "半夏"]) == {
            "川乌": Herb.objects.get(name="川乌"),
            "半夏": Herb.objects.get(name="半夏"),
        }
        assert live_snapshot().resolve("川乌").name == "川乌"
        assert live_snapshot().resolve("半夏").name == "半夏"


def test_findings_still_name_a_bare_name_exactly_as_written(catalogue, tmp_path, capsys):
    findings = audit_check(tmp_path, capsys, ("半夏", 9, ""), ("制附片", 9, "先煎"))

    assert found(findings, "incompatibility.eighteen") == [["制附片", "半夏"]]


# --- Allergies -----------------------------------------------------------------------------------------------


def test_an_unrecognised_allergy_is_shown_back_and_nothing_is_saved(clinician_api, client, clinician):
    response = clinician_api.post(
        "/api/v1/patients/",
        {"name": "王小明", "mobile": "13912345678", "id_number": resident_id(), "allergies": ["元胡", "桃花粉"]},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "桃花粉" in " ".join(response.json()["errors"]["allergies"])
    assert "元胡" not in " ".join(response.json()["errors"]["allergies"])
    client.force_login(clinician)
    page = client.post("/patients/new/", form_data(id_number=resident_id("19921129", "042"), allergies="元胡、桃花粉"))
    assert page.status_code == 200
    assert "桃花粉" in " ".join(page.context["form"].errors["allergies"])
    assert not Patient.objects.exists()


def test_an_allergy_written_by_an_alias_is_found_on_the_herb_it_names(catalogue, tmp_path, capsys):
    findings = audit_check(tmp_path, capsys, ("醋延胡索", 9, ""), ("白术", 10, ""), allergies=["元胡"])

    assert found(findings, "allergy") == [["醋延胡索"]]


def test_an_allergen_is_never_matched_by_substring(catalogue, tmp_path, capsys):
    herbs = [("党参", 10, ""), ("丹参", 10, ""), ("苦参", 6, ""), ("甘草", 6, "")]

    ginseng = audit_check(tmp_path, capsys, *herbs, allergies=["人参"])
    fragment = audit_check(tmp_path, capsys, *herbs, allergies=["参", "甘"])

    assert not found(ginseng, "allergy")
    assert not found(fragment, "allergy")
    assert found(fragment, "allergy.unrecognised") == [["参"], ["甘"]]


def test_an_unrecognised_allergy_in_the_interchange_form_is_a_warning_naming_it(catalogue, tmp_path, capsys):
    findings = audit_check(tmp_path, capsys, ("白术", 10, ""), allergies=["青霉素", "甘草"])

    unrecognised = [f for f in findings if f["code"] == "allergy.unrecognised"]
    assert [(f["severity"], f["herbs"]) for f in unrecognised] == [("warn", ["青霉素"])]
    assert "青霉素" in unrecognised[0]["message"] and unrecognised[0]["source"] == "患者过敏史"


@pytest.fixture
def clinician_api(api, clinician, catalogue):
    api.force_login(clinician)
    return api
