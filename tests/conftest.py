"""Shared fixtures: a small county and one named persona per role, plus an outsider.

County tree (codes): H001 lead hospital
    ├─ C001 central health centre ─ T001 township (clinician) ─ V001 village
    ├─ C002 central health centre ─ T003 township (outsider clinician)
    ├─ P001 shared pharmacy (dispenser, decoctor, pharmacist2)
    └─ D001 delivery station (courier)
"""

import os

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.test import TransactionTestCase

from accounts.models import InstitutionKind
from accounts.roles import Role
from catalogue.importer import import_catalogue
from catalogue.models import Herb
from rules.services import live_rule_version

from .browsers import browser, desktop, page, tablet  # noqa: F401 - Playwright fixtures for the browser tests
from .dashboard_history import History
from .factories import InstitutionFactory, UserFactory
from .session_rows import SessionRows, flush_then_restore

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


@pytest.fixture(autouse=True)
def trace_anchors_of_this_test(settings, tmp_path):
    """Each test anchors the trace into a file of its own (a shared file would hold chains that
    the previous tests' rollbacks removed)."""
    settings.TCM_TRACE_ANCHOR_PATH = tmp_path / "trace-anchors.jsonl"


@pytest.fixture
def county(db):
    K = InstitutionKind
    lead = InstitutionFactory(code="H001", name="县人民医院", kind=K.LEAD_HOSPITAL, parent=None, township="城关镇")
    c1 = InstitutionFactory(code="C001", name="城东中心卫生院", kind=K.CENTRAL_HEALTH_CENTRE, parent=lead)
    c2 = InstitutionFactory(code="C002", name="城西中心卫生院", kind=K.CENTRAL_HEALTH_CENTRE, parent=lead)
    t1 = InstitutionFactory(
        code="T001", name="白塔乡卫生院", kind=K.TOWNSHIP_HEALTH_CENTRE, parent=c1, township="白塔乡"
    )
    t3 = InstitutionFactory(
        code="T003", name="柳溪乡卫生院", kind=K.TOWNSHIP_HEALTH_CENTRE, parent=c2, township="柳溪乡"
    )
    v1 = InstitutionFactory(code="V001", name="白塔村卫生室", kind=K.VILLAGE_CLINIC, parent=t1, township="白塔乡")
    pharmacy = InstitutionFactory(code="P001", name="共享中药房", kind=K.SHARED_PHARMACY, parent=lead)
    station = InstitutionFactory(code="D001", name="配送站", kind=K.DELIVERY_STATION, parent=lead)
    return {"H001": lead, "C001": c1, "C002": c2, "T001": t1, "T003": t3, "V001": v1, "P001": pharmacy, "D001": station}


@pytest.fixture
def clinician(county):
    return UserFactory(username="clinician", name="李医生", institution=county["T001"], roles=[Role.CLINICIAN])


@pytest.fixture
def village_doctor(county):
    """The clinician of the village clinic V001, below T001: asks for remote consults."""
    return UserFactory(username="villagedoc", name="王村医", institution=county["V001"], roles=[Role.CLINICIAN])


@pytest.fixture
def expert(county):
    """A clinician of the county hospital H001: answers the remote consults routed there."""
    return UserFactory(username="expert", name="张专家", institution=county["H001"], roles=[Role.CLINICIAN])


@pytest.fixture
def outsider(county):
    """A clinician of another township: must always be refused the first township's data."""
    return UserFactory(username="outsider", name="外乡医生", institution=county["T003"], roles=[Role.CLINICIAN])


@pytest.fixture
def pharmacist(county):
    return UserFactory(username="pharmacist", institution=county["H001"], roles=[Role.PHARMACIST])


@pytest.fixture
def dispenser(county):
    return UserFactory(username="dispenser", institution=county["P001"], roles=[Role.DISPENSER])


@pytest.fixture
def decoctor(county):
    return UserFactory(username="decoctor", institution=county["P001"], roles=[Role.DECOCTION_OPERATOR])


@pytest.fixture
def courier(county):
    return UserFactory(username="courier", institution=county["D001"], roles=[Role.COURIER])


@pytest.fixture
def county_admin(county):
    return UserFactory(username="countyadmin", institution=county["H001"], roles=[Role.ADMINISTRATOR])


@pytest.fixture
def centre_admin(county):
    """Administrator of central health centre C001: sees only its subtree."""
    return UserFactory(username="centreadmin", institution=county["C001"], roles=[Role.ADMINISTRATOR])


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Import the shipped catalogue once per test database (about 2 s), not per test, and freeze
    it as the live rule version 1, as a new installation's first submit does (each test that
    submitted did that again, 0.1 to 0.3 s). A transactional test ends with the database as it was
    then (tests/session_rows.py)."""
    with django_db_blocker.unblock():
        import_catalogue()
        live_rule_version()
        rows = {DEFAULT_DB_ALIAS: SessionRows(DEFAULT_DB_ALIAS)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush_then_restore(rows))
        yield


@pytest.fixture
def catalogue(db):
    """The whole shipped catalogue, imported through the real importer once per session and
    there for every test (a transactional test's flush puts it back)."""
    return Herb.objects


@pytest.fixture
def api(client):
    """The Django test client; log a persona in with api.force_login(user)."""
    return client


@pytest.fixture(autouse=True)
def _fresh_rule_snapshots():
    """Rule snapshots are cached per version number for the life of a process; test databases
    roll back and reuse numbers, so each test starts with an empty cache."""
    from rules import services

    services._snapshots.clear()
    yield
    services._snapshots.clear()


@pytest.fixture
def actors(clinician, pharmacist, dispenser, decoctor, courier, county_admin):
    """Every persona by name, and the system (None)."""
    return {
        "system": None,
        "clinician": clinician,
        "pharmacist": pharmacist,
        "dispenser": dispenser,
        "decoctor": decoctor,
        "courier": courier,
        "county_admin": county_admin,
    }


@pytest.fixture
def enqueued(monkeypatch):
    """Records what would go to the broker, per kind, instead of sending it. Services send tasks by
    name through core.tasks.enqueue: "audit" holds the prescriptions whose `submitted` move asked
    for the machine audit (and the sweep's re-enqueues), "trace" every (prescription, stage) the
    status writer announced, "thumbnail" and "notification" the photo and outbox ids."""
    calls = {"audit": [], "thumbnail": [], "notification": [], "trace": []}

    def enqueue(name, *args):
        if name == "pipeline.trace_advanced":
            prescription_id, stage = args
            calls["trace"].append((prescription_id, stage))
            if stage == "submitted":
                calls["audit"].append(prescription_id)
        else:
            kind = {"decoction.make_thumbnail": "thumbnail", "delivery.send_notification": "notification"}[name]
            calls[kind].append(*args)

    monkeypatch.setattr("core.tasks.enqueue", enqueue)
    monkeypatch.setattr("audit.tasks.run_pre_audit.delay", calls["audit"].append)  # the sweep
    return calls


@pytest.fixture
def fresh_cache():
    """Rate-limit counters, cached tracking pages and recent stage durations live in the cache:
    the test starts and ends with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def people(clinician, outsider, pharmacist, dispenser, decoctor, courier, county_admin, centre_admin):
    return {
        "clinician": clinician,
        "outsider": outsider,
        "pharmacist": pharmacist,
        "dispenser": dispenser,
        "decoctor": decoctor,
        "courier": courier,
        "county_admin": county_admin,
        "centre_admin": centre_admin,
    }


@pytest.fixture
def history(people, catalogue, enqueued):
    """Writes a small history through the services under a fixed clock (tests/dashboard_history.py)."""
    return History(people)
