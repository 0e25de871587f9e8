"""Every "may I?" is derived from one table, accounts.roles.CAPABILITIES: the workflow's moves,
the station steps, the delivery checks, the pages, the capability-guarded API views and the role
groups' admin permissions. Each test here reads its expectation from that table (a persona may
do X exactly when it holds one of the capabilities X names; a superuser holds every capability
but the pipeline's clinical work, accounts.roles.ROLE_BOUND, which needs a role, and never the
workflow's SYSTEM marker) and compares it with what the surface does, for every
persona of tests/conftest.py plus a superuser. Two literal tables pin what the role table must
keep giving: the roles of each move and the role groups' permissions as they were before the
table was the only source."""

from functools import partial

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from rest_framework.request import Request

from accounts.models import InstitutionKind
from accounts.navigation import PAGES
from accounts.permissions import CapabilityPermission
from accounts.roles import CAPABILITIES, CAPABILITY_MODEL_PERMISSIONS, COUNTY_LEVEL, ROLE_BOUND, Role
from audit.models import AuditDecision, Decision
from audit.services import audit_claim, audit_decide
from decoction.permissions import ensure_station_staff
from decoction.selectors import STATIONS
from delivery.permissions import can_deliver, can_hand_over
from prescriptions.exceptions import InvalidTransition
from prescriptions.models import Prescription
from prescriptions.permissions import can_make_move
from prescriptions.selectors import STATION_CAPABILITIES
from prescriptions.services import prescription_transition
from prescriptions.workflow import SYSTEM, TRANSITIONS, Decoction, DeliveryMode, Stage
from tcm_platform import urls as platform_urls

from .factories import UserFactory
from .test_final_audit import audited, submit
from .test_tracking import prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

S, R = Stage, Role
PERSONAS = (
    "clinician",
    "outsider",
    "pharmacist",
    "dispenser",
    "decoctor",
    "courier",
    "county_admin",
    "centre_admin",
    "superuser",
)
MOVES = [(current, move) for current, moves in TRANSITIONS.items() for move in moves]

# The roles that made each move when the workflow table named roles (before it named
# capabilities). The role table must keep giving exactly these.
ROLES_BEFORE = {
    (S.SUBMITTED, S.AI_AUDITED): {SYSTEM},
    (S.SUBMITTED, S.CANCELLED): {R.CLINICIAN},
    (S.AI_AUDITED, S.APPROVED): {R.PHARMACIST},
    (S.AI_AUDITED, S.REJECTED): {R.PHARMACIST},
    (S.AI_AUDITED, S.CANCELLED): {R.CLINICIAN},
    (S.APPROVED, S.DISPENSED): {R.DISPENSER},
    (S.APPROVED, S.CANCELLED): {R.CLINICIAN},
    (S.DISPENSED, S.RECHECKED): {R.PHARMACIST},
    (S.DISPENSED, S.RECHECK_FAILED): {R.PHARMACIST},
    (S.RECHECK_FAILED, S.DISPENSED): {R.DISPENSER},
    (S.RECHECKED, S.SOAKING): {R.DECOCTION_OPERATOR},
    (S.RECHECKED, S.PACKAGED): {R.DECOCTION_OPERATOR, R.DISPENSER},
    (S.SOAKING, S.DECOCTING): {R.DECOCTION_OPERATOR},
    (S.DECOCTING, S.PACKAGED): {R.DECOCTION_OPERATOR},
    (S.PACKAGED, S.SHIPPED): {R.COURIER},
    (S.PACKAGED, S.PICKED_UP): {R.DISPENSER, R.CLINICIAN},
    (S.SHIPPED, S.DELIVERED): {R.COURIER},
}

# The administrator group's admin permissions when they were written per role; no other role
# group had any.
ADMINISTRATOR_PERMISSIONS_BEFORE = {
    "accounts.institution": ("view", "add", "change"),
    "accounts.user": ("view", "add", "change"),
    "accounts.apitoken": ("view", "change"),  # see and revoke the subtree's API tokens (issue 20)
    "catalogue.herb": ("view", "add", "change"),
    "catalogue.herbalias": ("view", "add", "change", "delete"),
    "catalogue.barename": ("view", "add", "change", "delete"),  # added with the bare-name policy (issue 16)
    "catalogue.incompatibilityrule": ("view", "add", "change"),
    "catalogue.toxiclistentry": ("view", "add", "change"),
    "catalogue.pregnancycaution": ("view", "add", "change"),
    "catalogue.formula": ("view", "add", "change"),
    "catalogue.stockbatch": ("view",),
    "catalogue.stockmovement": ("view",),
    "patients.patient": ("view", "change"),
    "rules.ruleversion": ("view", "change"),
    "rules.ageband": ("view", "add", "change"),
    "rules.custompairrule": ("view", "add", "change", "delete"),
    "audit.auditrun": ("view",),
    "audit.auditdecision": ("view",),
    "prescriptions.stuckflag": ("view",),
    "prescriptions.prescription": ("view",),  # read-only, the subtree's (issue 19)
    "decoction.stationsettings": ("view", "change"),  # the station limits, county level (issue 19)
    "delivery.deliveryhours": ("view", "add", "change"),  # delivery stations' working hours, county level (issue 19)
    "outreach.clinicsession": ("view", "add", "change"),  # the visiting-expert schedule, subtree (issue 22)
}


def codenames(table: dict) -> set[str]:
    """{"app.model": actions} as {"app.action_model"}."""
    return {
        f"{label.split('.')[0]}.{action}_{label.split('.')[1]}"
        for label, actions in table.items()
        for action in actions
    }


def holds(user, capabilities) -> bool:
    """The table's answer: does `user` hold one of `capabilities`? Read from CAPABILITIES and the
    user's roles alone; a superuser also holds every capability outside ROLE_BOUND, never SYSTEM;
    a COUNTY_LEVEL one only a user placed at a root institution."""
    names = set(capabilities) - {SYSTEM}
    if user.is_superuser and names - ROLE_BOUND:
        return True
    county = user.institution is not None and user.institution.parent_id is None
    return any(CAPABILITIES[name] & user.role_codes for name in names if county or name not in COUNTY_LEVEL)


@pytest.fixture
def people(people):
    """The personas of tests/conftest.py and a superuser placed at no institution."""
    return {**people, "superuser": UserFactory(username="root", is_superuser=True, is_staff=True, institution=None)}


# --- The table itself ---------------------------------------------------------------------------------------


def test_every_capability_named_anywhere_is_in_the_table():
    named = {
        "moves": {c for _current, move in MOVES for c in move.capabilities} - {SYSTEM},
        "stations": {station.capability for station in STATIONS.values()},
        "pages": {capability for _name, _label, capability in PAGES if capability},
        "admin permissions": set(CAPABILITY_MODEL_PERMISSIONS),
        "station scope": set(STATION_CAPABILITIES),
        "api": {
            capability
            for _name, _method, guards in capability_guarded_views()
            for group in guards
            for capability in group
        },
    }
    assert {where: names - set(CAPABILITIES) for where, names in named.items()} == dict.fromkeys(named, set())
    assert SYSTEM not in CAPABILITIES


def roles_of(move) -> set[str]:
    """The roles whose holders may make `move`, read from the role table (SYSTEM kept as a marker)."""
    return {role for capability in move.capabilities for role in CAPABILITIES.get(capability, ())} | (
        move.capabilities & {SYSTEM}
    )


def test_each_move_is_made_by_the_same_roles_as_before_the_table_named_capabilities():
    assert {(current, move.to): roles_of(move) for current, move in MOVES} == ROLES_BEFORE


def test_each_station_is_opened_by_a_capability_every_move_into_its_stages_accepts():
    for code, station in STATIONS.items():
        into = [move for _current, move in MOVES if move.to in station.stages]
        assert into, code
        assert all(station.capability in move.capabilities for move in into), code


REMOTE_CONSULTS = ("request_remote_consults", "answer_remote_consults")


def test_every_capability_a_move_or_a_station_names_is_clinical_work_that_needs_a_role():
    """So a superuser makes no move and works at no station without a role that has it; nor
    reviews a prescription after the fact (事后点评), a pharmacist's clinical judgement too; nor
    asks or answers a remote consult, a clinician's."""
    named = {c for _current, move in MOVES for c in move.capabilities} - {SYSTEM}
    named |= {station.capability for station in STATIONS.values()} | set(STATION_CAPABILITIES)
    assert named | {"work_stations", "review_prescriptions", *REMOTE_CONSULTS} == ROLE_BOUND


def test_working_at_the_stations_is_the_union_of_the_station_capabilities():
    stations = {station.capability for station in STATIONS.values()}
    assert CAPABILITIES["work_stations"] == frozenset().union(*(CAPABILITIES[c] for c in stations))


# --- Moves ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "move"), MOVES, ids=[f"{current}->{move.to}" for current, move in MOVES])
def test_a_persona_may_make_a_move_exactly_when_it_holds_one_of_the_moves_capabilities(people, current, move):
    got = {name: can_make_move(user, move) for name, user in people.items()}
    assert got == {name: holds(user, move.capabilities) for name, user in people.items()}
    assert got == {name: bool(roles_of(move) & user.role_codes) for name, user in people.items()}
    assert got["superuser"] is False
    assert can_make_move(None, move) == (SYSTEM in move.capabilities)


def test_an_inactive_user_may_make_no_move(people):
    dispenser = people["dispenser"]
    dispenser.is_active = False
    assert not any(can_make_move(dispenser, move) for _current, move in MOVES)


def mode_of(move) -> dict:
    return {
        "decoction": move.decoction or Decoction.CENTER,
        "delivery": move.delivery or (DeliveryMode.PICKUP if move.to == S.PICKED_UP else DeliveryMode.ADDRESS),
    }


def at(clinician, stage, *, decoction, delivery) -> Prescription:
    """A prescription of the clinician's, put at `stage` (test setup only)."""
    prescription = prescription_at(clinician, S.SUBMITTED, decoction=decoction, delivery=delivery)
    Prescription.objects.filter(pk=prescription.pk).update(status=stage)
    return Prescription.objects.get(pk=prescription.pk)


def test_a_superuser_makes_no_move_without_a_role_and_with_one_only_that_roles_moves(people, catalogue):
    """Superusers administer; the moves are clinical work (ROLE_BOUND), made by whoever holds a
    role that has the move's capability, superuser or not (before, a superuser made them all)."""
    root = people["superuser"]
    dispensing_root = UserFactory(username="root-dispenser", is_superuser=True, roles=[R.DISPENSER])
    for current, move in MOVES:
        for actor in (root, dispensing_root):
            prescription = at(people["clinician"], current, **mode_of(move))
            if SYSTEM not in move.capabilities and roles_of(move) & actor.role_codes:
                event = prescription_transition(prescription=prescription, to=move.to, actor=actor)
                assert (event.stage, event.actor) == (move.to, actor)
                assert Prescription.objects.get(pk=prescription.pk).status == move.to
                continue
            with pytest.raises(InvalidTransition):
                prescription_transition(prescription=prescription, to=move.to, actor=actor)
            assert Prescription.objects.get(pk=prescription.pk).status == current


def test_a_superuser_without_a_clinical_role_cannot_prescribe_or_approve(people, pharmacist, county, catalogue):
    """Not even their own prescription: the reviewer's superuser submitted one and approved it."""
    root = UserFactory(username="root-h001", is_superuser=True, is_staff=True, institution=county["H001"])
    with pytest.raises(PermissionDenied):
        submit(root)
    assert not Prescription.objects.filter(prescriber=root).exists()

    prescription = audited(people["clinician"])  # routed to H001, where root and the pharmacist are
    assert prescription.audit_run.routed_to == county["H001"]
    for attempt in (audit_claim, partial(audit_decide, decision=Decision.APPROVE)):
        with pytest.raises(PermissionDenied):
            attempt(pharmacist=root, prescription=prescription)
    assert Prescription.objects.get(pk=prescription.pk).status == S.AI_AUDITED
    assert not AuditDecision.objects.filter(prescription=prescription).exists()
    # The pharmacist, who holds the role, approves it.
    audit_decide(pharmacist=pharmacist, prescription=prescription, decision=Decision.APPROVE)
    assert Prescription.objects.get(pk=prescription.pk).status == S.APPROVED


# --- Station steps and delivery -------------------------------------------------------------------------------

STATION_STEPS = [
    (code, current, move) for code, station in STATIONS.items() for current, move in MOVES if move.to in station.stages
]


@pytest.mark.parametrize(
    ("code", "current", "move"),
    STATION_STEPS,
    ids=[f"{code}:{current}->{move.to}" for code, current, move in STATION_STEPS],
)
def test_a_persona_may_record_a_station_step_exactly_when_it_holds_the_moves_capability(
    people, catalogue, code, current, move
):
    """Every station staff persona works at the county's shared pharmacy (the pharmacist at the
    lead hospital above it, where re-checks may also be made), so the scope refuses no holder."""
    prescription = at(people["clinician"], current, **mode_of(move))
    got = {}
    for name, user in people.items():
        try:
            ensure_station_staff(user, prescription, move.to)
            got[name] = True
        except PermissionDenied:
            got[name] = False
    assert got == {name: holds(user, move.capabilities) for name, user in people.items()}


@pytest.mark.parametrize("code", sorted(STATIONS))
def test_a_persona_opens_a_station_page_exactly_when_it_holds_the_stations_capability(client, people, code):
    station = STATIONS[code]
    got, want = {}, {}
    for name, user in people.items():
        client.force_login(user)
        got[name] = client.get(f"/stations/{code}/").status_code
        want[name] = 200 if holds(user, (station.capability,)) else 403
    assert got == want


def test_delivery_and_hand_over_follow_the_capabilities_the_delivery_moves_name(people):
    """A courier must also be placed at a delivery station (a run belongs to one); a superuser
    without a role neither delivers nor hands over (both are ROLE_BOUND)."""
    capabilities = {move.to: move.capabilities for _current, move in MOVES}
    assert capabilities[S.SHIPPED] == capabilities[S.DELIVERED] == {"deliver"}
    assert capabilities[S.PICKED_UP] == {"hand_over"}
    got = {name: (can_deliver(user), can_hand_over(user)) for name, user in people.items()}
    want = {
        name: (
            holds(user, {"deliver"})
            and user.institution is not None
            and user.institution.kind == InstitutionKind.DELIVERY_STATION,
            holds(user, {"hand_over"}),
        )
        for name, user in people.items()
    }
    assert got == want
    assert got["courier"] == (True, False) and got["superuser"] == (False, False)


# --- Pages and the navigation ---------------------------------------------------------------------------------


def test_a_persona_opens_each_page_of_the_navigation_exactly_when_it_holds_its_capability_and_sees_only_those(
    client, people
):
    for name, user in people.items():
        client.force_login(user)
        got, want = {}, {}
        for url_name, _label, capability in PAGES:
            response = client.get(reverse(url_name))
            refused = response.status_code == 403
            assert response.status_code in (200, 302, 403), (name, url_name, response.status_code)
            assert not (response.status_code == 302 and response["Location"].startswith(reverse("login")))
            got[url_name] = not refused
            want[url_name] = capability is None or holds(user, (capability,))
        assert got == want, name
        shown = {page["url"] for page in client.get(reverse("home")).context["nav_pages"]}
        assert shown - {reverse("admin:index")} == {reverse(n) for n, allowed in want.items() if allowed}, name


# --- The API --------------------------------------------------------------------------------------------------


def walk(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield ":".join(part for part in (namespace, entry.name) if part), entry


def capability_guarded_views() -> list[tuple[str, str, tuple[str, ...]]]:
    """(url name, method, capabilities) for each method of each DRF view of the URLconf whose
    permissions (permission_classes, or get_permissions for that method) include a
    CapabilityPermission."""
    found = []
    for name, entry in walk(platform_urls.urlpatterns):
        view_class = getattr(entry.callback, "cls", None)
        if view_class is None or not hasattr(view_class, "get_permissions"):
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            if not hasattr(view_class, method):
                continue
            view = view_class()
            view.request = Request(getattr(RequestFactory(), method)("/"))
            view.args, view.kwargs, view.format_kwarg = (), {}, None
            guards = tuple(
                sorted(p.capabilities for p in view.get_permissions() if isinstance(p, CapabilityPermission))
            )
            if guards:
                found.append((name, method, guards))
    return found


GUARDED = capability_guarded_views()


def test_the_walk_finds_the_capability_guarded_views_including_a_per_method_one():
    assert len(GUARDED) >= 15
    assert {
        ("api:prescription-list", "get", (("view_patients",),)),
        ("api:prescription-list", "post", (("prescribe",),)),
    } <= set(GUARDED)


def url_for(name: str) -> str:
    """The URL with every path parameter set to an id no object has."""
    entry = dict(walk(platform_urls.urlpatterns))[name]
    parameters = entry.pattern.converters or entry.pattern.regex.groupindex  # path() or re_path()
    return reverse(name, kwargs=dict.fromkeys(parameters, 10**9))


@pytest.mark.parametrize(
    ("name", "method", "guards"), GUARDED, ids=[f"{method.upper()} {name}" for name, method, _guards in GUARDED]
)
def test_a_persona_gets_past_a_capability_guarded_api_view_exactly_when_it_holds_the_capability(
    client, people, name, method, guards
):
    """Refused: 403 with a JSON detail (the FHIR API's: an OperationOutcome) before the view looks
    anything up. Let through: whatever the view answers for an object that does not exist or an
    empty body, never 401/403."""
    url = url_for(name)
    got, want = {}, {}
    for who, user in people.items():
        client.force_login(user)
        if method == "get":
            response = client.get(url)
        else:
            response = getattr(client, method)(url, {}, content_type="application/json")
        got[who] = response.status_code not in (401, 403)
        want[who] = all(holds(user, capabilities) for capabilities in guards)
        if not got[who]:
            body = response.json()
            assert "detail" in body or body.get("resourceType") == "OperationOutcome", (who, url)
    assert got == want


# --- The admin's model permissions ----------------------------------------------------------------------------


def test_each_role_group_holds_the_admin_permissions_of_its_capabilities_and_the_same_as_before(db):
    groups = {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.filter(name__in=Role.values).prefetch_related("permissions__content_type")
    }
    derived = {
        role: set().union(
            *(
                codenames(table)
                for capability, table in CAPABILITY_MODEL_PERMISSIONS.items()
                if role in CAPABILITIES[capability]
            )
        )
        for role in Role.values
    }
    assert groups == derived
    assert groups == {role: set() for role in Role.values} | {
        Role.ADMINISTRATOR: codenames(ADMINISTRATOR_PERMISSIONS_BEFORE)
    }
