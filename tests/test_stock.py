"""Stock at the shared pharmacy: receiving, consuming earliest expiry first, and who may see it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import InstitutionKind
from catalogue.models import MovementKind, StockBatch, StockMovement
from catalogue.selectors import stock_available_g
from catalogue.services import OutOfStock, stock_consume, stock_receive

from .factories import InstitutionFactory

URL = "/api/v1/stock/"


def days(n):
    return timezone.localdate() + timedelta(days=n)


@pytest.fixture
def gancao(catalogue):
    return catalogue.get(name="甘草")


@pytest.fixture
def pharmacy(county):
    return county["P001"]


@pytest.fixture
def receive(pharmacy, gancao, dispenser):
    def receive(batch_no, grams, expiry, *, herb=None, at=None, actor=None):
        return stock_receive(
            pharmacy=at or pharmacy,
            herb=herb or gancao,
            batch_no=batch_no,
            expiry_date=expiry,
            quantity_g=Decimal(grams),
            actor=actor or dispenser,
        )

    return receive


def quantities():
    return dict(StockBatch.objects.values_list("batch_no", "quantity_g"))


def test_receiving_creates_the_batch_and_a_receipt_movement(receive, pharmacy, gancao, dispenser):
    batch = receive("GC-1", "500", days(365))

    assert (batch.pharmacy, batch.herb, batch.quantity_g, batch.expiry_date) == (
        pharmacy,
        gancao,
        Decimal("500"),
        days(365),
    )
    movement = StockMovement.objects.get(batch=batch)
    assert (movement.kind, movement.delta_g, movement.balance_g, movement.actor) == (
        MovementKind.RECEIVE,
        Decimal("500"),
        Decimal("500"),
        dispenser,
    )


def test_receiving_more_of_a_batch_adds_to_it_with_a_running_balance(receive):
    receive("GC-1", "500", days(365))
    batch = receive("GC-1", "250.5", days(365))

    assert batch.quantity_g == Decimal("750.50")
    assert StockBatch.objects.count() == 1
    assert list(StockMovement.objects.order_by("pk").values_list("balance_g", flat=True)) == [
        Decimal("500"),
        Decimal("750.50"),
    ]


def test_receiving_a_known_batch_with_another_expiry_date_is_refused(receive):
    receive("GC-1", "500", days(365))

    with pytest.raises(ValidationError) as excinfo:
        receive("GC-1", "100", days(300))

    assert "expiry_date" in excinfo.value.message_dict
    assert quantities() == {"GC-1": Decimal("500")}


@pytest.mark.parametrize("grams", ["0", "-5"])
def test_receiving_nothing_or_a_negative_quantity_is_refused(receive, grams):
    with pytest.raises(ValidationError) as excinfo:
        receive("GC-1", grams, days(365))

    assert "quantity_g" in excinfo.value.message_dict
    assert not StockBatch.objects.exists()


def test_consuming_takes_the_earliest_expiry_first_across_batches(receive, pharmacy, gancao, dispenser):
    receive("LATE", "300", days(200))
    receive("EARLY", "100", days(30))
    receive("MIDDLE", "100", days(90))

    movements = stock_consume(
        pharmacy=pharmacy, herb=gancao, quantity_g=Decimal("150"), reference="RX-1", actor=dispenser
    )

    assert [(m.batch.batch_no, m.delta_g, m.balance_g) for m in movements] == [
        ("EARLY", Decimal("-100"), Decimal("0")),
        ("MIDDLE", Decimal("-50"), Decimal("50")),
    ]
    assert all(m.kind == MovementKind.DISPENSE and m.reference == "RX-1" for m in movements)
    assert quantities() == {"EARLY": Decimal("0"), "MIDDLE": Decimal("50"), "LATE": Decimal("300")}
    assert StockMovement.objects.filter(kind=MovementKind.DISPENSE).count() == 2


def test_consuming_skips_expired_batches(receive, pharmacy, gancao, dispenser):
    receive("EXPIRED", "500", days(-1))
    receive("GOOD", "100", days(60))

    movements = stock_consume(
        pharmacy=pharmacy, herb=gancao, quantity_g=Decimal("80"), reference="RX-2", actor=dispenser
    )

    assert [m.batch.batch_no for m in movements] == ["GOOD"]
    assert quantities() == {"EXPIRED": Decimal("500"), "GOOD": Decimal("20")}
    assert stock_available_g(pharmacy_id=pharmacy.pk, herb_id=gancao.pk) == Decimal("20")


def test_short_stock_raises_out_of_stock_and_changes_nothing(receive, pharmacy, gancao, dispenser):
    receive("EXPIRED", "500", days(-1))
    receive("A", "60", days(30))
    receive("B", "30", days(60))
    movements_before = StockMovement.objects.count()

    with pytest.raises(OutOfStock):
        stock_consume(pharmacy=pharmacy, herb=gancao, quantity_g=Decimal("100"), reference="RX-3", actor=dispenser)

    assert quantities() == {"EXPIRED": Decimal("500"), "A": Decimal("60"), "B": Decimal("30")}
    assert StockMovement.objects.count() == movements_before


def test_stock_of_one_herb_is_not_taken_for_another(receive, pharmacy, catalogue, dispenser):
    receive("GC-1", "500", days(60))

    with pytest.raises(OutOfStock):
        stock_consume(
            pharmacy=pharmacy,
            herb=catalogue.get(name="炙甘草"),
            quantity_g=Decimal("10"),
            reference="",
            actor=dispenser,
        )


def test_only_a_shared_pharmacy_holds_stock(receive, county, county_admin):
    with pytest.raises(ValidationError) as excinfo:
        receive("GC-1", "500", days(60), at=county["T001"], actor=county_admin)

    assert "pharmacy" in excinfo.value.message_dict
    assert not StockBatch.objects.exists()


def test_clinician_cannot_receive_stock(receive, clinician):
    with pytest.raises(PermissionDenied):
        receive("GC-1", "500", days(60), actor=clinician)

    assert not StockBatch.objects.exists()


def test_clinician_cannot_consume_stock(receive, pharmacy, gancao, clinician):
    receive("GC-1", "500", days(60))

    with pytest.raises(PermissionDenied):
        stock_consume(pharmacy=pharmacy, herb=gancao, quantity_g=Decimal("10"), reference="", actor=clinician)

    assert quantities() == {"GC-1": Decimal("500")}


@pytest.fixture
def second_pharmacy(county):
    return InstitutionFactory(
        code="P002", name="第二中药房", kind=InstitutionKind.SHARED_PHARMACY, parent=county["H001"]
    )


def test_dispenser_cannot_receive_stock_at_another_pharmacy(receive, second_pharmacy):
    with pytest.raises(ValidationError) as excinfo:
        receive("GC-1", "500", days(60), at=second_pharmacy)

    assert "pharmacy" in excinfo.value.message_dict
    assert not StockBatch.objects.exists()


# --- GET /api/v1/stock/ -----------------------------------------------------------------------------


@pytest.fixture
def two_pharmacies_stock(receive, catalogue, second_pharmacy, county_admin):
    receive("P1-GC", "100", days(60))
    receive("P1-ZGC", "100", days(60), herb=catalogue.get(name="炙甘草"))
    receive("P1-BS", "100", days(60), herb=catalogue.get(name="白芍"))
    receive("P2-GC", "100", days(60), at=second_pharmacy, actor=county_admin)


def batch_numbers(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return {row["batch_no"] for row in response.json()["results"]}


def test_stock_list_shows_a_dispenser_only_the_own_pharmacys_batches(api, dispenser, two_pharmacies_stock):
    api.force_login(dispenser)

    assert batch_numbers(api) == {"P1-GC", "P1-ZGC", "P1-BS"}


def test_stock_list_shows_the_county_admin_every_pharmacy(api, county_admin, two_pharmacies_stock):
    api.force_login(county_admin)

    assert batch_numbers(api) == {"P1-GC", "P1-ZGC", "P1-BS", "P2-GC"}


def test_stock_list_filters_by_herb(api, county_admin, two_pharmacies_stock, gancao):
    api.force_login(county_admin)

    assert batch_numbers(api, herb=gancao.pk) == {"P1-GC", "P2-GC"}


def test_a_herb_or_pharmacy_beyond_64_bits_is_a_400_at_its_field(api, county_admin, two_pharmacies_stock):
    api.force_login(county_admin)

    for field in ("herb", "pharmacy"):
        response = api.get(URL, {field: str(2**64 + 1)})
        assert response.status_code == 400
        assert response.json()["errors"].keys() == {field}


@pytest.mark.parametrize("q", ["", "gc", "甘草", "zgc", "bs", "nothing"])
def test_the_stock_api_and_page_find_the_same_batches_for_the_same_search(api, county_admin, two_pharmacies_stock, q):
    api.force_login(county_admin)

    page = api.get("/catalogue/stock/", {"q": q})

    assert page.status_code == 200
    assert {batch.batch_no for batch in page.context["page"]} == batch_numbers(api, q=q)


def test_stock_list_is_paginated(api, dispenser, two_pharmacies_stock):
    api.force_login(dispenser)

    first = api.get(URL, {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert second["next"] is None
    assert len(second["results"]) == 1


def test_clinician_is_refused_the_stock_list(api, clinician, two_pharmacies_stock):
    api.force_login(clinician)

    response = api.get(URL)

    assert response.status_code == 403
    assert "detail" in response.json()


def test_stock_list_queries_do_not_grow_with_the_number_of_batches(api, dispenser, receive):
    api.force_login(dispenser)

    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert api.get(URL).status_code == 200
        return len(captured)

    receive("B-1", "10", days(60))
    few = queries_for_list()
    for n in range(2, 8):
        receive(f"B-{n}", "10", days(60))

    assert queries_for_list() == few
