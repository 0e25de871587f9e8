"""The clinician's day through the pages and services it uses (the browser walk is
tests/test_clinician_day_browser.py): the patient's edit page, the editor's patient choice and
history, the home page's waiting prescriptions, formulas that insert every herb, and a missing
double-signature reason reported at its finding."""

import re
from datetime import date

from .factories import PatientFactory


def test_patient_edit_page_shows_the_stored_date_of_birth_in_the_date_input(client, clinician, county):
    patient = PatientFactory(institution=county["T001"], date_of_birth=date(1980, 5, 17))
    client.force_login(clinician)

    html = client.get(f"/patients/{patient.pk}/").content.decode()

    assert 'type="date"' in html
    assert 'value="1980-05-17"' in html


def test_a_classical_formula_inserts_every_herb_it_has_a_count_of_jujubes_as_the_pharmacopoeia_minimum(
    client, clinician, catalogue
):
    client.force_login(clinician)

    formula = client.get("/api/v1/formulas/", {"q": "桂枝汤"}).json()["results"][0]

    assert formula["name"] == "桂枝汤"
    assert [item["herb"] for item in formula["items"]] == ["桂枝", "白芍", "生姜", "炙甘草", "大枣"]
    jujube = formula["items"][-1]
    assert (jujube["grams"], jujube["written_amount"]) == ("6", "3枚"), "药典2020 大枣 6～15 g: the lower bound"
    assert formula["source"].endswith("请核对：大枣 3枚→6g")
    assert "未列入" not in formula["source"]


def test_no_classical_formula_leaves_out_a_counted_herb_that_has_a_pharmacopoeia_dose():
    from catalogue.importer.loading import load

    formulas = load()["formulas"]
    left_out = [note.partition("未列入（请按需手工添加）：")[2] for note in (f["note"] for f in formulas)]

    assert [entry for entry in left_out if re.search(r"\d+[枚片]", entry)] == []
    assert sum(formula["note"].count("→") for formula in formulas) == 14  # the 大枣 and 生姜 counts
