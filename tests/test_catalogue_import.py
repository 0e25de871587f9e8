"""The shipped catalogue files import completely, resolve every rule name, re-import in place,
and a malformed file is reported by file and line with nothing written."""

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalogue.importer import DATA_DIR, ImportErrorReport, import_catalogue
from catalogue.models import (
    Herb,
    HerbAlias,
    IncompatibilityRule,
    PregnancyCaution,
    Toxicity,
    ToxicListEntry,
)
from catalogue.selectors import herb_resolve

HERBS = "reference/herbs/herbs.csv"
ALIASES = "aliases.csv"
INCOMPATIBILITIES = "reference/herbs/incompatibilities.csv"
TOXIC = "reference/herbs/toxic.csv"


def shipped_rows(relative: str) -> list[dict]:
    with (DATA_DIR / relative).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def split(names: str) -> list[str]:
    return [name for name in names.split("|") if name]


def counts() -> dict:
    return {
        "herbs": Herb.objects.count(),
        "aliases": HerbAlias.objects.count(),
        "rules": IncompatibilityRule.objects.count(),
        "toxic": ToxicListEntry.objects.count(),
        "pregnancy": PregnancyCaution.objects.count(),
    }


def empty_the_catalogue():
    ToxicListEntry.objects.all().delete()
    IncompatibilityRule.objects.all().delete()
    PregnancyCaution.objects.all().delete()
    HerbAlias.objects.all().delete()
    Herb.objects.all().delete()
    assert sum(counts().values()) == 0


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A private copy of catalogue/data to corrupt."""
    return Path(shutil.copytree(DATA_DIR, tmp_path / "data"))


def edit_row(folder: Path, relative: str, key: str, **changes) -> int:
    """Change columns of the row whose first column is `key`; return that row's line number."""
    path = folder / relative
    text = path.read_text(encoding="utf-8")
    line = next(n for n, physical in enumerate(text.splitlines(), start=1) if physical.startswith(f"{key},"))
    rows = list(csv.reader(text.splitlines(keepends=True)))
    header = rows[0]
    for row in rows[1:]:
        if row and row[0] == key:
            for column, value in changes.items():
                row[header.index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return line


# --- The shipped data ------------------------------------------------------------------------------


def test_shipped_files_import_every_herb_rule_toxic_entry_and_pregnancy_caution_into_an_empty_catalogue(db):
    empty_the_catalogue()

    summary = import_catalogue()

    herb_rows = len(shipped_rows(HERBS)) + len(shipped_rows("supplementary_herbs.csv"))
    assert herb_rows >= 680
    assert summary.herbs_created == herb_rows
    assert counts() == {
        "herbs": herb_rows,
        "aliases": len(shipped_rows(ALIASES)),
        "rules": 19,
        "toxic": 28,
        "pregnancy": 134,
    }


def test_every_name_in_every_incompatibility_group_resolves_to_a_catalogue_herb(catalogue):
    names = {name for row in shipped_rows(INCOMPATIBILITIES) for name in split(row["group_a"]) + split(row["group_b"])}

    unresolved = sorted(name for name in names if herb_resolve(name) is None)

    assert unresolved == []
    assert {"藜芦", "川乌", "甘草", "海藻", "水银", "砒霜"} <= names


def test_incompatibility_rule_groups_hold_the_resolved_herbs(catalogue):
    rule = IncompatibilityRule.objects.get(names_a="藜芦")

    assert set(rule.group_a.values_list("name", flat=True)) == {"藜芦"}
    assert {"人参", "细辛", "白芍", "赤芍"} <= set(rule.group_b.values_list("name", flat=True))
    assert rule.get_kind_display() == "十八反"


def test_every_toxic_list_name_resolves_to_a_herb_including_aliases(catalogue):
    listed = [row["name"] for row in shipped_rows(TOXIC)]

    assert len(listed) == 28
    assert sorted(name for name in listed if herb_resolve(name) is None) == []
    entries = dict(ToxicListEntry.objects.values_list("name", "herb__name"))
    assert entries["生川乌"] == "川乌"
    assert entries["红升丹"] == "红粉"
    assert entries["砒石"] == "砒石"


def test_toxic_herbs_carry_their_toxicity_level(catalogue):
    assert Herb.objects.get(name="川乌").toxicity == Toxicity.HIGH
    assert Herb.objects.get(name="甘草").toxicity == Toxicity.NONE


@pytest.mark.parametrize(
    ("alias", "herb"),
    [("元胡", "延胡索"), ("丹皮", "牡丹皮"), ("生川乌", "川乌"), ("红升丹", "红粉")],
)
def test_common_prescription_aliases_resolve_to_the_catalogue_herb(catalogue, alias, herb):
    assert HerbAlias.objects.get(alias=alias).herb.name == herb
    assert herb_resolve(alias).name == herb


def test_inactive_supplementary_herbs_are_imported_but_not_in_the_pharmacopoeia(catalogue):
    lilu = Herb.objects.get(name="藜芦")

    assert not lilu.active
    assert not lilu.in_pharmacopoeia
    assert Herb.objects.get(name="甘草").in_pharmacopoeia


# --- Re-importing ----------------------------------------------------------------------------------


def test_reimport_is_idempotent_and_keeps_prices_and_active_flags_set_by_an_administrator(catalogue):
    Herb.objects.filter(name="甘草").update(price_per_g=Decimal("0.1200"), active=False)
    Herb.objects.filter(name="藜芦").update(active=True)  # shipped inactive, enabled by the pharmacy
    before = counts()

    summary = import_catalogue()

    assert counts() == before
    assert (summary.herbs_created, summary.herbs_updated, summary.herbs_unverified) == (0, 0, 0)
    gancao = Herb.objects.get(name="甘草")
    assert gancao.price_per_g == Decimal("0.1200")
    assert not gancao.active
    assert Herb.objects.get(name="藜芦").active


def test_reimport_withdraws_an_herb_the_data_gives_a_withdrawal_reason_even_if_an_administrator_activated_it(
    catalogue,
):
    Herb.objects.filter(name="穿山甲").update(active=True)
    Herb.objects.filter(name="甘草").update(active=False)  # an ordinary choice of the administrator's

    import_catalogue()

    assert Herb.objects.get(name="穿山甲").active is False
    assert Herb.objects.get(name="甘草").active is False


def test_reimport_that_changes_a_reference_value_clears_the_pharmacists_verification(catalogue, data_copy, pharmacist):
    Herb.objects.filter(name__in=["甘草", "炙甘草"]).update(verified_by_pharmacist=True, verified_by=pharmacist)
    edit_row(data_copy, HERBS, "甘草", dose_max_g="12")

    summary = import_catalogue(data_copy)

    gancao = Herb.objects.get(name="甘草")
    assert gancao.dose_max_g == Decimal("12")
    assert not gancao.verified_by_pharmacist
    assert gancao.verified_by is None
    assert Herb.objects.get(name="炙甘草").verified_by_pharmacist  # unchanged herb keeps it
    assert (summary.herbs_updated, summary.herbs_unverified) == (1, 1)


# --- A malformed file ------------------------------------------------------------------------------

MALFORMED = [
    pytest.param(HERBS, "甘草", {"dose_min_g": "abc"}, "dose_min_g 'abc' is not a number", id="dose-not-a-number"),
    pytest.param(HERBS, "甘草", {"dose_min_g": "20"}, "dose_min_g 20 is above dose_max_g 10", id="dose-min-above-max"),
    pytest.param(HERBS, "甘草", {"toxicity": "剧毒"}, "toxicity '剧毒' is not one of", id="unknown-toxicity"),
    pytest.param(HERBS, "甘草", {"initials": "gg"}, "initials 'gg' do not match pinyin 'gan cao'", id="wrong-initials"),
    pytest.param(
        ALIASES, "元胡", {"herb": "无此药"}, "'无此药', which is not in the catalogue", id="alias-target-missing"
    ),
    pytest.param(TOXIC, "砒石", {"name": "砒石x"}, "'砒石x' is not in the catalogue", id="unknown-toxic-name"),
]


@pytest.mark.parametrize(("relative", "key", "changes", "reason"), MALFORMED)
def test_malformed_row_is_reported_by_file_line_and_reason_and_nothing_is_imported(
    catalogue, data_copy, relative, key, changes, reason
):
    line = edit_row(data_copy, relative, key, **changes)
    edit_row(data_copy, HERBS, "炙甘草", notes="a valid change that must not be written")
    before = counts()

    with pytest.raises(ImportErrorReport) as excinfo:
        import_catalogue(data_copy)

    assert f"{relative}:{line}: " in str(excinfo.value)
    assert reason in str(excinfo.value)
    assert counts() == before
    assert Herb.objects.get(name="炙甘草").notes != "a valid change that must not be written"
    assert Herb.objects.get(name="甘草").dose_min_g == Decimal("2")


def test_incompatibility_naming_an_unknown_herb_is_reported_and_nothing_is_imported(catalogue, data_copy):
    first = shipped_rows(INCOMPATIBILITIES)[0]
    path = data_copy / INCOMPATIBILITIES
    path.write_text(
        path.read_text(encoding="utf-8").replace(first["group_b"], first["group_b"] + "|无名草", 1), encoding="utf-8"
    )
    before = counts()

    with pytest.raises(ImportErrorReport) as excinfo:
        import_catalogue(data_copy)

    assert f"{INCOMPATIBILITIES}:2: group_b names 无名草, not in the catalogue or aliases" in str(excinfo.value)
    assert counts() == before


def test_wrong_header_is_reported_on_line_one_and_nothing_is_imported(catalogue, data_copy):
    path = data_copy / HERBS
    path.write_text(path.read_text(encoding="utf-8").replace("dose_min_g,", "dose_min,", 1), encoding="utf-8")
    before = counts()

    with pytest.raises(ImportErrorReport) as excinfo:
        import_catalogue(data_copy)

    assert f"{HERBS}:1: expected columns" in str(excinfo.value)
    assert counts() == before


def test_malformed_file_leaves_an_empty_catalogue_empty(db, data_copy):
    empty_the_catalogue()
    line = edit_row(data_copy, HERBS, "麻黄", dose_max_g="-3")

    with pytest.raises(ImportErrorReport) as excinfo:
        import_catalogue(data_copy)

    assert f"{HERBS}:{line}: dose_max_g '-3' must be a positive number" in str(excinfo.value)
    assert sum(counts().values()) == 0


def test_every_bad_row_is_listed_not_only_the_first(catalogue, data_copy):
    first = edit_row(data_copy, HERBS, "甘草", dose_min_g="abc")
    second = edit_row(data_copy, HERBS, "麻黄", confidence="certain")

    with pytest.raises(ImportErrorReport) as excinfo:
        import_catalogue(data_copy)

    assert any(error.startswith(f"{HERBS}:{first}: ") for error in excinfo.value.errors)
    assert any(error.startswith(f"{HERBS}:{second}: confidence 'certain'") for error in excinfo.value.errors)


def test_import_command_fails_with_file_and_line_and_imports_nothing(catalogue, data_copy):
    line = edit_row(data_copy, HERBS, "甘草", dose_min_g="abc")
    before = counts()

    with pytest.raises(CommandError) as excinfo:
        call_command("import_catalogue", "--dir", str(data_copy))

    assert f"{HERBS}:{line}: dose_min_g 'abc' is not a number" in str(excinfo.value)
    assert counts() == before


def test_import_command_reports_the_counts_of_a_successful_import(catalogue, capsys):
    call_command("import_catalogue")

    output = capsys.readouterr().out
    assert "19 incompatibility rules" in output
    assert "28 toxic-list entries" in output
    assert "134 pregnancy cautions" in output
