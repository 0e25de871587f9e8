"""Who may open what. Every page and API endpoint without path parameters is requested by every
persona and by an anonymous visitor and compared with the expectation table below, written out by
hand and reviewed against the views; a URL the table does not list fails the suite, so the matrix
stays complete. Then the scope of one township's prescription across institutions, the patient's
tracking link, the courier's view of addresses, the county-wide station surfaces, and the admin
site's subtrees."""

import io
import types
from dataclasses import dataclass
from datetime import time, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import URLResolver, include, path, resolve, reverse
from django.utils import timezone
from PIL import Image

from accounts.models import InstitutionKind, User
from accounts.navigation import PAGES
from accounts.permissions import ADMIN_SITE_ROLES, CAPABILITIES, has_capability
from accounts.roles import COUNTY_LEVEL, ROLE_MODEL_PERMISSIONS, Role, capabilities_granting
from audit.models import AuditDecision, AuditRun, ReviewSample, ReviewScore
from audit.review.services import review_draw
from audit.services import audit_decide, audit_run
from catalogue.formulas import formula_save_personal
from catalogue.models import Herb
from decoction.models import DispensingRecord, Inspection, StationPhoto
from decoction.selectors import STATIONS
from delivery.models import DeliveryStop
from patients.models import Patient
from prescriptions.models import Prescription
from prescriptions.services import consult_attach_photo
from prescriptions.workflow import Stage
from tcm_platform import urls as platform_urls
from teleconsult.models import RemoteConsult

from .cds_hooks import token_client
from .factories import InstitutionFactory, PatientFactory, UserFactory
from .test_accounts import PASSWORD, user_change_data
from .test_tracking import ADDRESS, prescription_at

pytestmark = pytest.mark.usefixtures("enqueued", "fresh_cache")

# --- Personas -------------------------------------------------------------------------------------------------

# The named personas of tests/conftest.py and the roles each holds (checked against the fixtures).
PERSONA_ROLES = {
    "clinician": {Role.CLINICIAN},  # T001
    "outsider": {Role.CLINICIAN},  # T003, another central health centre's township
    "pharmacist": {Role.PHARMACIST},  # H001, where T001's prescriptions are routed
    "dispenser": {Role.DISPENSER},  # P001
    "decoctor": {Role.DECOCTION_OPERATOR},  # P001
    "courier": {Role.COURIER},  # D001
    "county_admin": {Role.ADMINISTRATOR},  # H001, the top of the county
    "centre_admin": {Role.ADMINISTRATOR},  # C001, above T001 and V001
}
PERSONAS = tuple(PERSONA_ROLES)
ANONYMOUS = "anonymous"

EVERYONE = frozenset(PERSONAS)
CLINICIANS = frozenset({"clinician", "outsider"})
ADMINS = frozenset({"county_admin", "centre_admin"})
PATIENT_READERS = CLINICIANS | {"pharmacist"} | ADMINS  # view_patients
STATION_STAFF = frozenset({"dispenser", "pharmacist", "decoctor"})  # work_stations
STOCK_READERS = STATION_STAFF | ADMINS  # view_stock


@pytest.fixture
def personas(people):
    users = dict(people)
    assert {name: set(user.role_codes) for name, user in users.items()} == PERSONA_ROLES
    return users


def as_user(client, user):
    """The client signed in as `user`, or signed out for None."""
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


# --- The expectation table -------------------------------------------------------------------------------------

PAGE = "page"  # login_required: anonymous -> /login/, refused -> 403
API = "api"  # DRF: anonymous and refused -> 401/403 with a JSON detail
ADMIN = "admin"  # admin site: non-staff (and anonymous) -> the admin's login; staff without the model permission -> 403
PUBLIC = "public"  # no sign-in needed: everyone, anonymous included, gets `ok`
FHIR = "fhir"  # the FHIR API (interop.fhir): anonymous and refused -> 403 with an OperationOutcome

ADMIN_SITE = "admin site"  # not a capability: is_staff, which accounts.services gives ADMIN_SITE_ROLES


@dataclass(frozen=True)
class Row:
    kind: str
    capabilities: tuple[str, ...]  # any one of them lets a persona in; () = every signed-in user
    allowed: frozenset[str]  # the personas who get `ok`, written out
    ok: str = "200"  # what the allowed get (see outcome())
    method: str = "get"


MATRIX = {
    # Pages in accounts.navigation.PAGES (the capability there is the one the view checks).
    "home": Row(PAGE, (), EVERYONE),
    # No ?patient= yet: the editor asks for the patient first, on its own page.
    "prescriptions:new": Row(PAGE, ("prescribe",), CLINICIANS),
    "prescriptions:list": Row(PAGE, ("view_patients",), PATIENT_READERS),
    "audit:queue": Row(PAGE, ("final_audit",), frozenset({"pharmacist"})),
    "audit:review": Row(PAGE, ("review_prescriptions",), frozenset({"pharmacist"})),
    "stations:index": Row(PAGE, ("work_stations",), STATION_STAFF),
    "delivery:courier": Row(PAGE, ("deliver",), frozenset({"courier"})),
    # Dispensers at the pharmacy and clinicians at their clinic hand medicine over (`hand_over`,
    # the capability the workflow's PICKED_UP move names); the navigation shows it to both.
    "delivery:pickup": Row(PAGE, ("hand_over",), CLINICIANS | {"dispenser"}),
    "dashboards:volume": Row(PAGE, ("view_figures",), ADMINS | CLINICIANS),
    "dashboards:diagnoses": Row(PAGE, ("view_figures",), ADMINS | CLINICIANS),
    "dashboards:herbs": Row(PAGE, ("view_figures",), ADMINS | CLINICIANS),
    "dashboards:supervision": Row(PAGE, ("view_dashboards",), ADMINS),
    "dashboards:stages": Row(PAGE, ("view_dashboards",), ADMINS),
    "dashboards:inventory": Row(PAGE, ("view_dashboards",), ADMINS),
    "dashboards:quality": Row(PAGE, ("view_dashboards",), ADMINS),
    "dashboards:audit": Row(PAGE, ("view_figures",), ADMINS | CLINICIANS),
    "dashboards:review": Row(PAGE, ("view_figures",), ADMINS | CLINICIANS),
    "patients:list": Row(PAGE, ("view_patients",), PATIENT_READERS),
    "catalogue:herbs": Row(PAGE, ("view_catalogue",), EVERYONE),
    "catalogue:stock": Row(PAGE, ("view_stock",), STOCK_READERS),
    # Pages outside the navigation (capability read from the view).
    "patients:new": Row(PAGE, ("manage_patients",), CLINICIANS | ADMINS),
    "audit:batch-approve": Row(PAGE, ("final_audit",), frozenset({"pharmacist"}), ok="302 /audit/", method="post"),
    "stations:inspections": Row(PAGE, ("recheck",), frozenset({"pharmacist"})),
    "delivery:run-create": Row(PAGE, ("deliver",), frozenset({"courier"}), ok="302 /delivery/", method="post"),
    "api-docs": Row(PAGE, (), EVERYONE),
    # The old delivery-times page, now the stages dashboard: a redirect for everyone, and the
    # stages page itself checks who may open it (the row above).
    "delivery-times": Row(PUBLIC, (), EVERYONE, ok="301 /dashboards/stages/"),
    # The load balancer's probe: no data but the worker's heartbeat age.
    "health": Row(PUBLIC, (), EVERYONE),
    # API (capability as in each view's permission_classes; POSTs with an empty body get past the
    # permission check and stop at validation).
    "api:herb-list": Row(API, ("view_catalogue",), EVERYONE),
    "api:stock-list": Row(API, ("view_stock",), STOCK_READERS),
    "api:formula-list": Row(API, ("prescribe",), CLINICIANS),
    "api:patient-list": Row(API, ("view_patients",), PATIENT_READERS),
    "api:constitution-questionnaire": Row(
        API, ("view_patients",), PATIENT_READERS, ok="400"
    ),  # no ?sex=: a 400 naming it
    "api:prescription-list": Row(API, ("view_patients",), PATIENT_READERS),
    "api:prescription-precheck": Row(API, ("prescribe",), CLINICIANS, ok="400", method="post"),
    "api:audit-queue": Row(API, ("final_audit",), frozenset({"pharmacist"})),
    "api:audit-batch-approve": Row(API, ("final_audit",), frozenset({"pharmacist"}), ok="400", method="post"),
    "api:review-samples": Row(API, ("review_prescriptions",), frozenset({"pharmacist"})),
    "api:review-checklist": Row(API, ("review_prescriptions",), frozenset({"pharmacist"})),
    # The stations' tablets and the courier's phone (tests/test_api_day.py walks them).
    "api:station-list": Row(API, ("work_stations",), STATION_STAFF),
    "api:delivery-waiting": Row(API, ("deliver",), frozenset({"courier"})),
    "api:delivery-runs": Row(API, ("deliver",), frozenset({"courier"})),
    # The visiting-expert schedule: read by every signed-in user in scope (POST: manage_schedule).
    "api:outreach-sessions": Row(API, ("view_schedule",), EVERYONE),
    # Remote consults: a clinic's own requests and the consults routed to an expert (clinicians).
    "api:remote-consults": Row(API, ("request_remote_consults", "answer_remote_consults"), CLINICIANS),
    "teleconsult:list": Row(PAGE, ("request_remote_consults", "answer_remote_consults"), CLINICIANS),
    "teleconsult:new": Row(PAGE, ("request_remote_consults",), CLINICIANS),
    "outreach:schedule": Row(PAGE, ("view_schedule",), EVERYONE),
    # A HIS trades a username and password for a token: open to all; no credentials is a 400.
    "api:auth-token": Row(PUBLIC, (), EVERYONE, ok="400", method="post"),
    # The OpenAPI document (drf-spectacular's default SERVE_PERMISSIONS: AllowAny); it describes
    # the endpoints and holds no data. /api/docs/, which renders it, needs a sign-in.
    "api-schema": Row(PUBLIC, (), EVERYONE),
    # CDS Hooks discovery (interop.cds): the list of services and their prefetch templates, no data.
    "cds:services": Row(PUBLIC, (), EVERYONE),
    # The FHIR API: its CapabilityStatement holds no data and is open to all; the search reads
    # prescriptions as /api/v1/prescriptions/ does (view_patients).
    "fhir:metadata": Row(PUBLIC, (), EVERYONE),
    "fhir:medicationrequest-search": Row(FHIR, ("view_patients",), PATIENT_READERS),
    "admin:index": Row(ADMIN, (ADMIN_SITE,), ADMINS),
}

# The admin site's model pages: (who may open the changelist, who may open the add form), of the
# administrator personas. Reviewed against accounts.roles.ROLE_MODEL_PERMISSIONS, its COUNTY_LEVEL
# capabilities (only the county administrator, at the root institution, changes the county-wide
# lists) and each ModelAdmin's has_add_permission.
COUNTY_ADMIN = frozenset({"county_admin"})
NOBODY = frozenset()
ADMIN_MODELS = {
    "auth_group": (NOBODY, NOBODY),  # roles are groups seeded by a migration, given through the user form
    "axes_accessattempt": (NOBODY, NOBODY),  # sign-in throttling records
    "axes_accesslog": (NOBODY, NOBODY),
    "axes_accessfailurelog": (NOBODY, NOBODY),
    "accounts_institution": (ADMINS, ADMINS),
    "prescriptions_stuckflag": (ADMINS, NOBODY),  # flagged by beat, read by administrators
    "prescriptions_prescription": (ADMINS, NOBODY),  # read-only, written by the workflow's services
    "decoction_stationsettings": (ADMINS, NOBODY),  # one row, changed at the county level
    "accounts_user": (ADMINS, ADMINS),
    # Administrators see their subtree's API tokens (never a secret) and revoke them; tokens are
    # issued only by the token endpoint.
    "accounts_apitoken": (ADMINS, NOBODY),
    "catalogue_herb": (ADMINS, COUNTY_ADMIN),
    "catalogue_herbalias": (ADMINS, COUNTY_ADMIN),
    "catalogue_barename": (ADMINS, COUNTY_ADMIN),  # the county's bare-name table (TCM_BARE_NAME_POLICY)
    "catalogue_incompatibilityrule": (ADMINS, COUNTY_ADMIN),
    "catalogue_toxiclistentry": (ADMINS, COUNTY_ADMIN),
    "catalogue_pregnancycaution": (ADMINS, COUNTY_ADMIN),
    "catalogue_stockbatch": (ADMINS, NOBODY),  # stock moves only through the stock services
    "catalogue_stockmovement": (ADMINS, NOBODY),
    "catalogue_formula": (ADMINS, ADMINS),  # a centre administrator adds its own agreed formulas
    "patients_patient": (ADMINS, NOBODY),  # patients are registered through the clinic pages
    "rules_ruleversion": (ADMINS, NOBODY),  # drafts are frozen from the rule tables, never typed in
    "rules_ageband": (ADMINS, COUNTY_ADMIN),
    "rules_custompairrule": (ADMINS, COUNTY_ADMIN),
    "audit_auditrun": (ADMINS, NOBODY),  # written by the audit only
    "audit_auditdecision": (ADMINS, NOBODY),  # written by the pharmacist's decision only
    "delivery_deliveryhours": (ADMINS, COUNTY_ADMIN),  # each delivery station's working hours, county level
    "outreach_clinicsession": (ADMINS, ADMINS),  # the visiting-expert schedule of each subtree
}
# Models whose ModelAdmin refuses the add form whatever the role's permissions say.
ADMIN_NO_ADD_FORM = {
    "patients_patient",
    "rules_ruleversion",
    "audit_auditrun",
    "audit_auditdecision",
    "prescriptions_prescription",
    "decoction_stationsettings",
}
for _model, (_listers, _adders) in ADMIN_MODELS.items():
    MATRIX[f"admin:{_model}_changelist"] = Row(ADMIN, (ADMIN_SITE,), _listers)
    MATRIX[f"admin:{_model}_add"] = Row(ADMIN, (ADMIN_SITE,), _adders)

# Named URLs left out of the matrix on purpose.
SKIPPED = {
    "login": "the sign-in page: open to everyone by design; a signed-in user is sent on",
    "logout": "POST-only sign-out: open to everyone, ends the caller's own session",
    "set_language": "Django's i18n view: sets the caller's language cookie, no data",
    "admin:login": "the admin's sign-in page: the target of every admin refusal, open by design",
    "admin:logout": "the admin's sign-out",
    "admin:password_change": "the admin's own-password form (admin_view: staff only), no one else's data",
    "admin:password_change_done": "the confirmation page of the form above",
    "admin:jsi18n": "the admin's JavaScript translation catalogue",
    "admin:autocomplete": "the admin's select widget feed; needs app/model/field parameters and staff",
}
# Admin URLs with path parameters (object change/history/delete pages, app lists, view-on-site)
# are not listed one by one: they go through the same ModelAdmin permissions and get_queryset as
# the changelists above; test_centre_admin_cannot_open_the_change_page_of_a_user_outside_its_subtree
# spot-checks one.

# Named URLs with path parameters, each with the test below that covers it.
CONSTITUTION_INVITE = "test_a_constitution_invite_is_made_in_the_patients_subtree_and_opens_only_its_own_page"
READS = "test_a_t001_prescription_is_read_in_its_subtree_and_hidden_elsewhere"
ACTIONS = "test_other_institutions_are_refused_each_action_as_if_the_prescription_did_not_exist"
STATION_API = "test_the_station_api_opens_each_station_to_its_staff_and_shows_only_the_countys_prescriptions"
COURIER_API = "test_the_courier_api_acts_only_on_the_couriers_own_open_run"
REVIEW = "test_a_review_sample_is_read_and_scored_only_at_its_reviewing_institution"
OUTREACH = "test_a_session_is_read_in_scope_changed_by_its_centres_schedule_managers_and_its_township_list_is_public"
REMOTE_CONSULT = "test_a_remote_consult_is_seen_only_by_its_clinic_and_the_experts_it_is_routed_to"
FHIR_READS = "test_a_t001_prescriptions_fhir_resources_are_read_in_its_subtree_and_hidden_elsewhere"
PARAMETRIC = {
    "patients:edit": READS,
    "patients:portrait": READS,
    "prescriptions:detail": READS,
    "prescriptions:revise": ACTIONS,
    "prescriptions:photo": READS,
    "prescriptions:receipt": READS,
    "audit:detail": READS,
    "audit:claim": ACTIONS,
    "api:patient-detail": READS,
    "api:prescription-detail": READS,
    "patients:constitution": READS,
    "patients:constitution-assisted": READS,
    "api:patient-constitution": READS,
    "api:patient-constitution-invite": CONSTITUTION_INVITE,
    "constitution:invite": CONSTITUTION_INVITE,
    "api:constitution-invite": CONSTITUTION_INVITE,
    "api:prescription-cancel": ACTIONS,
    "api:prescription-photos": ACTIONS,
    "api:prescription-revise": ACTIONS,
    "api:prescription-events": ACTIONS,
    "api:audit-claim": ACTIONS,
    "api:audit-decision": ACTIONS,
    "audit:review-detail": REVIEW,
    "api:review-score": REVIEW,
    "api:station-queue": STATION_API,
    "api:station-sheet": STATION_API,
    "api:delivery-run-stops": COURIER_API,
    "api:delivery-stop": COURIER_API,
    "tracking:track": "test_a_tracking_token_shows_its_own_prescription_and_never_another_ones_data",
    "tracking:track-qr": "test_a_tracking_token_shows_its_own_prescription_and_never_another_ones_data",
    "api-track": "test_a_tracking_token_shows_its_own_prescription_and_never_another_ones_data",
    "delivery:stop": "test_the_courier_sees_address_and_mobile_only_while_the_stop_is_on_their_own_open_run",
    "stations:station": "test_each_station_page_opens_only_for_its_capability",
    "stations:labels": "test_station_surfaces_serve_the_county_tree_and_no_one_else",
    "stations:photo": "test_station_surfaces_serve_the_county_tree_and_no_one_else",
    "stations:inspection-save": "test_station_surfaces_serve_the_county_tree_and_no_one_else",
    "api:herb-detail": "test_herb_and_formula_details_follow_the_catalogue_and_the_formulas_owner",
    "api:formula-detail": "test_herb_and_formula_details_follow_the_catalogue_and_the_formulas_owner",
    "cds:service": "test_the_cds_order_services_answer_each_persona_who_may_prescribe_by_token_and_refuse_the_rest",
    "fhir:medicationrequest-read": FHIR_READS,
    "fhir:medicationrequest-everything": FHIR_READS,
    "fhir:detectedissue-read": FHIR_READS,
    "fhir:medicationdispense-read": FHIR_READS,
    "fhir:task-read": FHIR_READS,
    "fhir:provenance-read": FHIR_READS,
    "fhir:patient-read": FHIR_READS,
    "fhir:practitioner-read": FHIR_READS,
    "fhir:organization-read": FHIR_READS,
    "fhir:codesystem-read": FHIR_READS,
    "fhir:unknown": FHIR_READS,  # any other path under /fhir/: a 404 for everyone
    "api:outreach-session": OUTREACH,
    "api:outreach-session-cancel": OUTREACH,
    "api:outreach-township-sessions": OUTREACH,
    "outreach:township": OUTREACH,
    "outreach:township-qr": OUTREACH,
    **dict.fromkeys(
        [
            "teleconsult:detail",
            "teleconsult:prescribe",
            *(f"api:remote-consult{suffix}" for suffix in ("", "-claim", "-release", "-question", "-answer")),
            *(
                f"api:remote-consult{suffix}"
                for suffix in ("-advice", "-withdraw", "-photos", "-photo", "-prescription")
            ),
        ],
        REMOTE_CONSULT,
    ),
}


# --- Walking the URLconf ---------------------------------------------------------------------------------------


def has_parameters(route: str) -> bool:
    return "<" in route or "(" in route


def walk(patterns, namespace="", prefix=""):
    """(name or None, full route) of every URL pattern, namespaces joined, prefixes prepended."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from walk(entry.url_patterns, inner, route)
        else:
            name = ":".join(part for part in (namespace, entry.name) if part) if entry.name else None
            yield name, route


def unlisted(patterns) -> list[str]:
    """URLs that neither the matrix, the skip list nor the parametric list accounts for."""
    missing = []
    for name, route in walk(patterns):
        if name is None:
            if not route.startswith("admin/"):  # the admin's own redirects and catch-all
                missing.append(f"(unnamed) {route}")
        elif name.startswith("admin:") and has_parameters(route):
            continue
        elif name in MATRIX:
            if has_parameters(route):
                missing.append(f"{name}: now has path parameters")
        elif name in PARAMETRIC:
            if not has_parameters(route):
                missing.append(f"{name}: has no path parameters any more")
        elif name not in SKIPPED:
            missing.append(name)
    return missing


def test_every_url_of_the_platform_is_in_the_matrix_the_skip_list_or_the_parametric_list(settings):
    assert settings.ROOT_URLCONF == "tcm_platform.urls"
    names = {name for name, _ in walk(platform_urls.urlpatterns)}

    assert unlisted(platform_urls.urlpatterns) == []
    assert set(MATRIX) | set(SKIPPED) | set(PARAMETRIC) <= names, "the tables list URLs that are gone"
    assert not set(MATRIX) & set(SKIPPED) and not set(MATRIX) & set(PARAMETRIC)


def test_a_new_url_missing_from_the_tables_is_reported():
    def view(request):
        return HttpResponse()

    grown = [
        *platform_urls.urlpatterns,
        path("reports/", view, name="reports"),
        path("lab/", include(([path("results/<int:pk>/", view, name="result")], "lab"))),
        path("unnamed/", view),
    ]

    assert unlisted(grown) == ["reports", "lab:result", "(unnamed) unnamed/"]


def test_every_covering_test_named_in_the_parametric_list_exists():
    assert {test for test in PARAMETRIC.values() if not callable(globals().get(test))} == set()


def persona_stub(name):
    """A signed-in, active user with the persona's roles and level (the pharmacist and the county
    administrator are at H001, the root), for asking has_capability without a database."""
    at_root = name in ("pharmacist", "county_admin")
    return types.SimpleNamespace(
        is_authenticated=True,
        is_active=True,
        is_superuser=False,
        role_codes=frozenset(PERSONA_ROLES[name]),
        institution_id=1,
        institution=types.SimpleNamespace(parent_id=None if at_root else 1),
    )


def holders(capabilities) -> frozenset[str]:
    if not capabilities:
        return EVERYONE
    if capabilities == (ADMIN_SITE,):
        return frozenset(name for name in PERSONAS if PERSONA_ROLES[name] & ADMIN_SITE_ROLES)
    return frozenset(name for name in PERSONAS if any(has_capability(persona_stub(name), cap) for cap in capabilities))


def test_the_table_agrees_with_the_navigation_the_api_permission_classes_and_the_capability_table():
    for name, _label, capability in PAGES:
        assert MATRIX[name].kind == PAGE
        assert (capability in MATRIX[name].capabilities) if capability else MATRIX[name].capabilities == (), name
    for name, row in MATRIX.items():
        assert all(cap in CAPABILITIES or cap == ADMIN_SITE for cap in row.capabilities), name
        if row.kind in (API, FHIR):
            view = resolve(reverse(name)).func.view_class
            declared = {
                cap for permission in view.permission_classes for cap in getattr(permission, "capabilities", (None,))
            }
            assert declared == set(row.capabilities), name
        if row.kind in (PAGE, API, FHIR):
            assert row.allowed == holders(row.capabilities), name
        if row.kind == ADMIN and name != "admin:index":
            assert row.allowed <= holders(row.capabilities), name
    for model, (listers, adders) in ADMIN_MODELS.items():
        app_model = model.replace("_", ".", 1)
        actions = set(ROLE_MODEL_PERMISSIONS[Role.ADMINISTRATOR].get(app_model, ()))
        assert bool(listers) == bool(actions & {"view", "change"}), model
        assert bool(adders) == ("add" in actions and model not in ADMIN_NO_ADD_FORM), model
        add = f"{app_model.split('.')[0]}.add_{app_model.split('.')[1]}"
        county_level = capabilities_granting(add) and capabilities_granting(add) <= COUNTY_LEVEL
        assert adders in ((COUNTY_ADMIN if county_level else ADMINS), NOBODY), model


# --- The matrix ----------------------------------------------------------------------------------------------


def outcome(response) -> str:
    """A response as the table writes it: "200", "403", "login" (sent to /login/), "admin-login",
    "refused json" (401/403 with a JSON detail), "refused outcome" (403 with a FHIR
    OperationOutcome), "302 /path/" for another redirect."""
    code = response.status_code
    if code == 403 and response.get("Content-Type", "").startswith("application/fhir+json"):
        return "refused outcome" if response.json().get("resourceType") == "OperationOutcome" else "403 fhir"
    if code in (301, 302, 303):
        target = urlsplit(response["Location"]).path
        return {reverse("login"): "login", reverse("admin:login"): "admin-login"}.get(target, f"{code} {target}")
    if code in (401, 403) and response.get("Content-Type", "").startswith("application/json"):
        return "refused json" if "detail" in response.json() else f"{code} json without detail"
    return str(code)


def expected(row: Row, who: str) -> str:
    if row.kind == PUBLIC:
        return row.ok
    if row.kind == ADMIN:
        if who in row.allowed:
            return row.ok
        return "403" if who in ADMINS else "admin-login"  # ADMINS: the staff personas (checked above)
    if who == ANONYMOUS:
        return {PAGE: "login", API: "refused json", FHIR: "refused outcome"}[row.kind]
    if who in row.allowed:
        return row.ok
    return {PAGE: "403", API: "refused json", FHIR: "refused outcome"}[row.kind]


def send(client, row: Row, url: str):
    if row.method == "get":
        return client.get(url)
    if url.startswith("/api/"):
        return client.post(url, {}, content_type="application/json")
    return client.post(url, {})


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_persona_gets_through_only_with_the_capability_the_url_needs_and_anonymous_visitors_are_sent_to_sign_in(
    client, personas, catalogue, name
):
    row = MATRIX[name]
    url = reverse(name)
    got = {}
    for who in (*PERSONAS, ANONYMOUS):
        as_user(client, personas.get(who))
        got[who] = outcome(send(client, row, url))

    assert got == {who: expected(row, who) for who in (*PERSONAS, ANONYMOUS)}


# --- One prescription of T001 across institutions -------------------------------------------------------------


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 60, 60)).save(out, format="JPEG")
    return out.getvalue()


def photo_upload(name="tongue.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg(), content_type="image/jpeg")


@pytest.fixture
def others(county):
    """Two more outsiders: the administrator and a pharmacist of central health centre C002, whose
    subtree (C002, T003) does not hold T001."""
    return {
        "c002_admin": UserFactory(username="c002admin", institution=county["C002"], roles=[Role.ADMINISTRATOR]),
        "c002_pharmacist": UserFactory(username="c002pharm", institution=county["C002"], roles=[Role.PHARMACIST]),
    }


@pytest.fixture
def t001(personas, others, county, catalogue, settings, tmp_path):
    """A prescription of T001, machine-audited and routed to the pharmacists of H001, with a
    tongue photo; its patient is registered at T001."""
    settings.MEDIA_ROOT = tmp_path
    clinician = personas["clinician"]
    prescription = prescription_at(clinician, Stage.SUBMITTED)
    run = audit_run(prescription_id=prescription.pk)
    assert run.routed_to_id == county["H001"].pk
    attachment = consult_attach_photo(actor=clinician, prescription=prescription, kind="tongue", upload=photo_upload())
    return types.SimpleNamespace(
        prescription=Prescription.objects.get(pk=prescription.pk),
        patient=prescription.patient,
        attachment=attachment,
        users={**personas, **others},
        missing=Prescription.objects.order_by("-pk").first().pk + 1000,
    )


OTHERS = ("c002_admin", "c002_pharmacist")
# Who reads a prescription of T001 (view_patients, scoped to the institution subtree; H001 is the
# top of the county, C001 is above T001, C002 is not).
SUBTREE_OF_T001 = {"clinician", "centre_admin", "county_admin", "pharmacist"}
OUTSIDE_T001 = {"outsider", "c002_admin", "c002_pharmacist"}


def who_reads(allowed: set[str], hidden: set[str], kind: str = PAGE) -> dict[str, str]:
    """The outcome per caller of a read: 200 for `allowed`, 404 for `hidden` (the object's existence
    is not revealed), a capability refusal for the rest."""
    refused = {PAGE: "403", API: "refused json", FHIR: "refused outcome"}[kind]
    table = {who: "200" if who in allowed else "404" if who in hidden else refused for who in (*PERSONAS, *OTHERS)}
    table[ANONYMOUS] = "login" if kind == PAGE else refused
    return table


def assert_read_as(client, t001, surfaces: dict) -> None:
    """Each URL of `surfaces` answers each caller as its table says, and no refusal shows the
    prescription's number or its patient's name or mobile."""
    p, patient = t001.prescription, t001.patient
    secrets_of_p = (p.number, patient.name, patient.mobile)
    for url, want in surfaces.items():
        got, leaks = {}, []
        for who in want:
            response = as_user(client, t001.users.get(who)).get(url)
            got[who] = outcome(response)
            body = b"" if response.streaming else response.content
            if response.status_code != 200 and any(secret.encode() in body for secret in secrets_of_p):
                leaks.append(who)
        assert got == want, url
        assert leaks == [], f"{url}: a refusal shows the prescription's data"


def test_a_t001_prescription_is_read_in_its_subtree_and_hidden_elsewhere(client, t001):
    p, patient = t001.prescription, t001.patient
    surfaces = {
        f"/prescriptions/{p.pk}/": who_reads(SUBTREE_OF_T001, OUTSIDE_T001),
        f"/api/v1/prescriptions/{p.pk}/": who_reads(SUBTREE_OF_T001, OUTSIDE_T001, API),
        f"/prescriptions/photos/{t001.attachment.pk}/": who_reads(SUBTREE_OF_T001, OUTSIDE_T001),
        f"/prescriptions/{p.pk}/receipt/": who_reads(SUBTREE_OF_T001, OUTSIDE_T001),
        # The patient's page edits (manage_patients: clinicians and administrators).
        f"/patients/{patient.pk}/": who_reads(
            {"clinician", "centre_admin", "county_admin"}, {"outsider", "c002_admin"}
        ),
        f"/api/v1/patients/{patient.pk}/": who_reads(SUBTREE_OF_T001, OUTSIDE_T001, API),
        # The portrait reads (view_patients: clinicians, pharmacists and administrators).
        f"/patients/{patient.pk}/portrait/": who_reads(SUBTREE_OF_T001, OUTSIDE_T001),
        # Constitution identification: read as the portrait, filled in as the patient's page edits.
        f"/patients/{patient.pk}/constitution/": who_reads(SUBTREE_OF_T001, OUTSIDE_T001),
        f"/api/v1/patients/{patient.pk}/constitution/": who_reads(SUBTREE_OF_T001, OUTSIDE_T001, API),
        f"/patients/{patient.pk}/constitution/assisted/": who_reads(
            {"clinician", "centre_admin", "county_admin"}, {"outsider", "c002_admin"}
        ),
        # The pharmacist's audit page: only for the institution the prescription is routed to.
        f"/audit/{p.pk}/": who_reads({"pharmacist"}, {"c002_pharmacist"}),
    }
    assert_read_as(client, t001, surfaces)

    as_user(client, t001.users["clinician"])
    assert p.number in client.get(f"/prescriptions/{p.pk}/").content.decode()
    assert client.get(f"/api/v1/prescriptions/{p.pk}/").json()["number"] == p.number


def test_a_constitution_invite_is_made_in_the_patients_subtree_and_opens_only_its_own_page(client, t001):
    """The invite API (manage_patients, the patient in the caller's subtree; 404 outside it), and
    the link it gives: public, it shows the patient's masked surname only, and a made-up token
    is a 404."""
    patient = t001.patient
    made = {
        who: outcome(as_user(client, t001.users.get(who)).post(f"/api/v1/patients/{patient.pk}/constitution/invite/"))
        for who in (*PERSONAS, *OTHERS, ANONYMOUS)
    }
    makers = {"clinician", "centre_admin", "county_admin"}
    assert {who for who, got in made.items() if got == "201"} == makers
    assert {who for who, got in made.items() if got == "404"} == OUTSIDE_T001  # not revealed outside
    assert set(made.values()) == {"201", "404", "refused json"}

    url = as_user(client, t001.users["clinician"]).post(f"/api/v1/patients/{patient.pk}/constitution/invite/")
    page = as_user(client, None).get(urlsplit(url.json()["url"]).path)
    assert page.status_code == 200 and patient.name not in page.content.decode()
    assert patient.name[0] + "*" in page.content.decode()
    assert client.get("/c/not-a-token/").status_code == 404
    token = urlsplit(url.json()["url"]).path.strip("/").split("/")[-1]
    door = client.get(f"/api/v1/constitution/invites/{token}/")  # the mini-program's: no sign-in
    assert door.status_code == 200 and patient.name not in door.content.decode()
    assert client.get("/api/v1/constitution/invites/not-a-token/").status_code == 404


def test_a_t001_prescriptions_fhir_resources_are_read_in_its_subtree_and_hidden_elsewhere(client, t001, county):
    """The FHIR API reads as /api/v1/ does: a T001 prescription's resources, its patient, its
    prescriber and its institution are read in the subtree above T001; other institutions get the
    answer a missing id gets (404), roles that do not read patients a refusal."""
    p, patient, clinician = t001.prescription, t001.patient, t001.users["clinician"]
    with_findings = prescription_at(clinician, Stage.SUBMITTED, herbs=[("党参", "10"), ("薄荷", "6")])
    record = DispensingRecord.objects.create(  # test setup: a dispensing without its station step
        prescription=p, dispenser=t001.users["dispenser"], pharmacy=county["P001"], weights=[]
    )
    reads = who_reads(SUBTREE_OF_T001, OUTSIDE_T001, FHIR)
    surfaces = {
        f"/fhir/MedicationRequest/{p.pk}-1": reads,
        f"/fhir/MedicationRequest/{p.pk}-1/$everything": reads,
        f"/fhir/DetectedIssue/{with_findings.pk}-1": reads,
        f"/fhir/MedicationDispense/{p.pk}-{record.pk}": reads,
        f"/fhir/Task/{p.pk}-ai-audited": reads,
        f"/fhir/Provenance/{p.pk}-2": reads,
        f"/fhir/Patient/{patient.pk}": reads,
        f"/fhir/Practitioner/{clinician.pk}": reads,
        f"/fhir/Organization/{county['T001'].pk}": reads,
        # The platform's vocabularies hold no one's data: every reader of patients reads them.
        "/fhir/CodeSystem/stage": who_reads(PATIENT_READERS | set(OTHERS), set(), FHIR),
        "/fhir/Prescription/1": dict.fromkeys((*PERSONAS, *OTHERS, ANONYMOUS), "404"),
    }
    assert_read_as(client, t001, surfaces)


def test_other_institutions_are_refused_each_action_as_if_the_prescription_did_not_exist(client, t001):
    """Each refusal is the answer a prescription that does not exist gets. C002's administrator and
    pharmacist hold no `prescribe`, so the prescriber's actions refuse them before any lookup (403
    for every id); C002's pharmacist, a station worker of the same county, is left out of the
    events endpoint, which serves the whole county's stations by design."""
    p = t001.prescription

    def actions(pk):
        return {
            "api cancel": lambda c: c.post(
                f"/api/v1/prescriptions/{pk}/cancel/", {"reason": "x"}, content_type="application/json"
            ),
            "api revise": lambda c: c.post(f"/api/v1/prescriptions/{pk}/revise/", {}, content_type="application/json"),
            "api photos": lambda c: c.post(
                f"/api/v1/prescriptions/{pk}/photos/", {"kind": "tongue", "image": photo_upload()}
            ),
            "api events": lambda c: c.post(
                f"/api/v1/prescriptions/{pk}/events/", {"stage": Stage.DISPENSED}, content_type="application/json"
            ),
            "revise page": lambda c: c.get(f"/prescriptions/{pk}/revise/"),
            "cancel on the page": lambda c: c.post(f"/prescriptions/{pk}/", {"action": "cancel", "reason": "x"}),
            "audit claim page": lambda c: c.post(f"/audit/{pk}/claim/"),
            "api audit claim": lambda c: c.post(f"/api/v1/audit/{pk}/claim/"),
            "api audit decision": lambda c: c.post(
                f"/api/v1/audit/{pk}/decision/", {"decision": "approve"}, content_type="application/json"
            ),
        }

    want = {
        "outsider": {
            "api cancel": "404",
            "api revise": "404",
            "api photos": "404",
            "api events": "404",
            "revise page": "404",
            "cancel on the page": "404",
            "audit claim page": "403",
            "api audit claim": "refused json",
            "api audit decision": "refused json",
        },
        "c002_admin": {
            "api cancel": "refused json",
            "api revise": "refused json",
            "api photos": "refused json",
            "api events": "404",
            "revise page": "403",
            "cancel on the page": "404",
            "audit claim page": "403",
            "api audit claim": "refused json",
            "api audit decision": "refused json",
        },
        "c002_pharmacist": {
            "api cancel": "refused json",
            "api revise": "refused json",
            "api photos": "refused json",
            "revise page": "403",
            "cancel on the page": "404",
            "audit claim page": "404",
            "api audit claim": "404",
            "api audit decision": "404",
        },
    }
    for who, expected_outcomes in want.items():
        client = as_user(client, t001.users[who])
        got = {action: outcome(call(client)) for action, call in actions(p.pk).items() if action in expected_outcomes}
        missing = {
            action: outcome(call(client))
            for action, call in actions(t001.missing).items()
            if action in expected_outcomes
        }
        assert got == expected_outcomes, who
        assert got == missing, f"{who}: the refusal differs from the one for a prescription that does not exist"

    p.refresh_from_db()
    assert p.status == Stage.AI_AUDITED
    assert not Prescription.objects.filter(previous=p).exists()
    assert p.consult.attachments.count() == 1
    assert not hasattr(p, "claim") and not AuditDecision.objects.filter(prescription=p).exists()


def test_a_review_sample_is_read_and_scored_only_at_its_reviewing_institution(client, t001):
    """The T001 prescription, approved and drawn for review, is reviewed at H001, where its audit
    was routed; C002's pharmacist gets the answer a sample that does not exist gets."""
    p = t001.prescription
    audit_decide(pharmacist=t001.users["pharmacist"], prescription=p, decision="approve")
    month = timezone.localdate()
    with time_machine.travel(timezone.now() + timedelta(days=32)):
        sample = ReviewSample.objects.get(round=review_draw(month=month))
    score = f"/api/v1/review/samples/{sample.pk}/score/"
    refused = who_reads(set(), set(), API)
    surfaces = {
        f"/audit/review/{sample.pk}/": who_reads({"pharmacist"}, {"c002_pharmacist"}),
        # A verdict without its reasons: the checklist refuses it after the sample is looked up.
        score: {**refused, "pharmacist": "400", "c002_pharmacist": "404"},
    }
    for url, want in surfaces.items():
        got = {who: outcome(read_or_score(as_user(client, t001.users.get(who)), url)) for who in want}
        assert got == want, url
    missing = f"/api/v1/review/samples/{sample.pk + 1000}/score/"
    assert outcome(read_or_score(as_user(client, t001.users["c002_pharmacist"]), missing)) == "404"
    assert not ReviewScore.objects.exists()


def read_or_score(client, url):
    """A GET of a page; a POST to the API of a score the serializer takes and the checklist refuses."""
    if url.startswith("/api/"):
        return client.post(url, {"verdict": "nonstandard"}, content_type="application/json")
    return client.get(url)


def test_station_and_delivery_staff_cannot_read_the_clinicians_pages_at_all(client, t001):
    p, patient = t001.prescription, t001.patient
    for who in ("courier", "dispenser", "decoctor"):
        as_user(client, t001.users[who])
        got = {
            url: outcome(client.get(url))
            for url in (
                "/prescriptions/",
                f"/prescriptions/{p.pk}/",
                f"/prescriptions/photos/{t001.attachment.pk}/",
                "/patients/",
                f"/patients/{patient.pk}/",
                "/api/v1/prescriptions/",
                f"/api/v1/prescriptions/{p.pk}/",
                "/api/v1/patients/",
                f"/api/v1/patients/{patient.pk}/",
            )
        }
        assert set(got.values()) <= {"403", "refused json"}, (who, got)


# --- The patient's tracking link ------------------------------------------------------------------------------


def test_a_tracking_token_shows_its_own_prescription_and_never_another_ones_data(client, personas, catalogue):
    mine = prescription_at(
        personas["clinician"],
        Stage.DECOCTING,
        patient=PatientFactory(institution=personas["clinician"].institution, name="张三丰", mobile="13911112222"),
    )
    theirs = prescription_at(
        personas["outsider"],
        Stage.APPROVED,
        patient=PatientFactory(institution=personas["outsider"].institution, name="欧阳明月", mobile="13933334444"),
        herbs=[("黄芪", "15")],
    )
    mine_shows = (mine.display_number, mine.patient.masked_name)
    mine_private = (*mine_shows, mine.patient.name, mine.patient.mobile, ADDRESS, "党参")
    as_user(client, None)

    page = client.get(f"/t/{mine.tracking_token}/")
    assert page.status_code == 200 and all(value in page.content.decode() for value in mine_shows)
    data = client.get(f"/api/v1/track/{mine.tracking_token}/").json()
    assert (data["number"], data["patient"]) == mine_shows

    other_page = client.get(f"/t/{theirs.tracking_token}/").content.decode()
    other_json = client.get(f"/api/v1/track/{theirs.tracking_token}/")
    assert theirs.display_number in other_page and other_json.json()["number"] == theirs.display_number
    for shown in (other_page, other_json.content.decode(), str(other_json.json())):
        assert not any(value in shown for value in mine_private)

    # My mobile's last 4 digits unlock nothing on their token.
    wrong = client.post(f"/api/v1/track/{theirs.tracking_token}/", {"last4": "2222"}, content_type="application/json")
    assert wrong.status_code == 403 and "herbs" not in wrong.json()
    assert not any(value in str(wrong.json()) for value in mine_private)

    assert client.get(f"/t/{mine.tracking_token}/qr.png").status_code == 200
    made_up = mine.tracking_token[::-1]
    assert Prescription.objects.filter(tracking_token=made_up).count() == 0
    for url in (f"/t/{made_up}/", f"/api/v1/track/{made_up}/", f"/t/{made_up}/qr.png"):
        response = client.get(url)
        assert response.status_code == 404 and mine.display_number not in response.content.decode()


# --- The courier's run -------------------------------------------------------------------------------------


def test_the_courier_sees_address_and_mobile_only_while_the_stop_is_on_their_own_open_run(
    client, personas, county, catalogue
):
    courier = personas["courier"]
    colleague = UserFactory(username="courier2", institution=county["D001"], roles=[Role.COURIER])
    parcel = prescription_at(personas["clinician"], Stage.PACKAGED)
    private = (ADDRESS, parcel.patient.mobile, parcel.patient.name)

    def courier_page(user) -> str:
        response = as_user(client, user).get("/delivery/")
        assert response.status_code == 200
        return response.content.decode()

    for user in (courier, colleague):  # waiting for a run: the number and the masked name only
        shown = courier_page(user)
        assert parcel.display_number in shown and not [value for value in private if value in shown]

    taken = as_user(client, courier).post("/delivery/runs/", {"ids": [parcel.pk], "area": "白塔乡"})
    assert outcome(taken) == "302 /delivery/"
    stop = DeliveryStop.objects.get(prescription=parcel)

    assert [value for value in private if value in courier_page(courier)] == list(private)
    shown = courier_page(colleague)
    assert not [value for value in private if value in shown]
    # The colleague cannot act on the stop: the same 404 as for a stop that does not exist.
    refused = as_user(client, colleague).post(f"/delivery/stops/{stop.pk}/", {"action": Stage.SHIPPED})
    absent = client.post(f"/delivery/stops/{stop.pk + 1000}/", {"action": Stage.SHIPPED})
    assert refused.status_code == absent.status_code == 404
    assert Prescription.objects.get(pk=parcel.pk).status == Stage.PACKAGED

    as_user(client, courier)
    assert outcome(client.post(f"/delivery/stops/{stop.pk}/", {"action": Stage.SHIPPED})) == "302 /delivery/"
    delivered = client.post(f"/delivery/stops/{stop.pk}/", {"action": Stage.DELIVERED, "receiver_name": "本人"})
    assert outcome(delivered) == "302 /delivery/"
    assert Prescription.objects.get(pk=parcel.pk).status == Stage.DELIVERED

    shown = courier_page(courier)  # the run closed with its last stop
    assert not [value for value in private if value in shown]


# --- Station surfaces (county-wide by design) -------------------------------------------------------------------

# Who opens each station page (reviewed against decoction.selectors.STATIONS).
STATION_PAGES = {
    "dispensing": {"dispenser"},
    "recheck": {"pharmacist"},
    "soaking": {"decoctor"},
    "decocting": {"decoctor"},
    "packaging": {"decoctor"},
}


def test_each_station_page_opens_only_for_its_capability(client, personas):
    assert set(STATION_PAGES) == set(STATIONS)
    for code, allowed in STATION_PAGES.items():
        assert allowed == holders((STATIONS[code].capability,)), code
        got = {
            who: outcome(as_user(client, personas.get(who)).get(f"/stations/{code}/")) for who in (*PERSONAS, ANONYMOUS)
        }
        want = {who: "200" if who in allowed else "403" for who in PERSONAS} | {ANONYMOUS: "login"}
        assert got == want, code
    assert as_user(client, personas["dispenser"]).get("/stations/no-such-station/").status_code == 404


def test_the_station_api_opens_each_station_to_its_staff_and_shows_only_the_countys_prescriptions(
    client, personas, neighbour_county, catalogue
):
    home = prescription_at(personas["clinician"], Stage.APPROVED)
    away = prescription_at(neighbour_county, Stage.APPROVED)

    def read(who, url):
        return outcome(as_user(client, personas.get(who)).get(url))

    for code, allowed in STATION_PAGES.items():
        queue = {who: "200" if who in allowed else "refused json" for who in (*PERSONAS, ANONYMOUS)}
        assert {who: read(who, f"/api/v1/stations/{code}/queue/") for who in queue} == queue, code
    sheet = {who: "200" if who == "dispenser" else "refused json" for who in (*PERSONAS, ANONYMOUS)}
    assert {who: read(who, f"/api/v1/stations/dispensing/prescriptions/{home.pk}/") for who in sheet} == sheet
    # Another county's prescription, or one not waiting at the station, is as one that does not exist.
    missing = Prescription.objects.order_by("-pk").first().pk + 1000
    for pk in (away.pk, missing):
        assert read("dispenser", f"/api/v1/stations/dispensing/prescriptions/{pk}/") == "404"
    assert read("decoctor", f"/api/v1/stations/soaking/prescriptions/{home.pk}/") == "404"
    assert read("dispenser", "/api/v1/stations/no-such-station/queue/") == "404"
    queued = as_user(client, personas["dispenser"]).get("/api/v1/stations/dispensing/queue/").json()["results"]
    assert [row["id"] for row in queued] == [home.pk]


def test_the_courier_api_acts_only_on_the_couriers_own_open_run(client, personas, county, catalogue):
    parcel, extra = (prescription_at(personas["clinician"], Stage.PACKAGED) for _ in range(2))
    as_user(client, personas["courier"])
    run = client.post("/api/v1/delivery/runs/", {"prescriptions": [parcel.pk]}, content_type="application/json").json()
    stop = run["stops"][0]["id"]
    colleague = UserFactory(username="courier2", institution=county["D001"], roles=[Role.COURIER])
    callers = {**personas, "colleague": colleague}

    def act(who, url, body):
        return outcome(as_user(client, callers.get(who)).post(url, body, content_type="application/json"))

    # Adding a stop: the courier's own open run; a colleague sees the run (a 403 saying so, not a 404).
    add = dict.fromkeys((*PERSONAS, ANONYMOUS), "refused json") | {"courier": "201", "colleague": "refused json"}
    grown = {who: act(who, f"/api/v1/delivery/runs/{run['id']}/stops/", {"prescriptions": [extra.pk]}) for who in add}
    assert grown == add
    # A stop's steps: the courier's own open run; for a colleague the stop does not exist.
    step = dict.fromkeys((*PERSONAS, ANONYMOUS), "refused json") | {"courier": "200", "colleague": "404"}
    assert {who: act(who, f"/api/v1/delivery/stops/{stop}/", {"action": "shipped"}) for who in step} == step
    assert act("courier", f"/api/v1/delivery/stops/{stop + 1000}/", {"action": "shipped"}) == "404"
    assert Prescription.objects.get(pk=parcel.pk).status == Stage.SHIPPED


@pytest.fixture
def neighbour_county(db):
    """A second county: its prescriptions are none of this county's stations' business."""
    lead = InstitutionFactory(code="H201", kind=InstitutionKind.LEAD_HOSPITAL, parent=None)
    township = InstitutionFactory(code="T201", kind=InstitutionKind.TOWNSHIP_HEALTH_CENTRE, parent=lead)
    return UserFactory(username="neighbour", institution=township, roles=[Role.CLINICIAN])


def test_station_surfaces_serve_the_county_tree_and_no_one_else(
    client, personas, neighbour_county, catalogue, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    home = prescription_at(personas["clinician"], Stage.PACKAGED)
    away = prescription_at(neighbour_county, Stage.PACKAGED)
    photos = {
        p.pk: StationPhoto.objects.create(
            prescription=p, stage=Stage.DISPENSED, image=photo_upload("herbs.jpg"), uploaded_by=personas["dispenser"]
        )
        for p in (home, away)
    }
    inspections = {p.pk: Inspection.objects.create(prescription=p, picked_on=p.created_at.date()) for p in (home, away)}

    def read(who, url):
        return outcome(as_user(client, personas.get(who)).get(url))

    # Labels: the decoction and dispensing staff of the county.
    labels = {who: "200" if who in {"dispenser", "decoctor"} else "403" for who in PERSONAS} | {ANONYMOUS: "login"}
    assert {who: read(who, f"/stations/labels/{home.pk}/") for who in labels} == labels
    assert {who: read(who, f"/stations/labels/{away.pk}/") for who in ("dispenser", "decoctor")} == {
        "dispenser": "404",
        "decoctor": "404",
    }
    # Station photos: only the staff of the county's stations (work_stations); couriers, clinicians
    # and administrators are refused, and another county's photos do not exist for anyone.
    station_photo = {who: "200" if who in STATION_STAFF else "403" for who in PERSONAS} | {ANONYMOUS: "login"}
    assert {who: read(who, f"/stations/photos/{photos[home.pk].pk}/") for who in station_photo} == station_photo
    assert {read(who, f"/stations/photos/{photos[away.pk].pk}/") for who in STATION_STAFF} == {"404"}
    # Inspections: a pharmacist records them, only for the county's prescriptions.
    assert read("pharmacist", "/stations/inspections/") == "200"
    save = {
        "dispenser": "403",
        "decoctor": "403",
        "courier": "403",
        "clinician": "404",
        "county_admin": "404",
        ANONYMOUS: "login",
    }
    got = {
        who: outcome(
            as_user(client, personas.get(who)).post(
                f"/stations/inspections/{inspections[home.pk].pk}/", {"result": "passed"}
            )
        )
        for who in save
    }
    assert got == save
    as_user(client, personas["pharmacist"])
    away_save = client.post(f"/stations/inspections/{inspections[away.pk].pk}/", {"result": "passed"})
    assert away_save.status_code == 404
    home_save = client.post(f"/stations/inspections/{inspections[home.pk].pk}/", {"result": "passed"})
    assert outcome(home_save) == "302 /stations/inspections/"
    assert {i.prescription_id: i.result for i in Inspection.objects.all()} == {home.pk: "passed", away.pk: ""}


def test_herb_and_formula_details_follow_the_catalogue_and_the_formulas_owner(client, personas, catalogue):
    herb = Herb.objects.filter(active=True).order_by("pk").first()
    formula = formula_save_personal(
        actor=personas["clinician"], name="李氏胃痛方", items=[{"herb": "党参", "grams": "10"}]
    )

    herb_got = {
        who: outcome(as_user(client, personas.get(who)).get(f"/api/v1/herbs/{herb.pk}/"))
        for who in (*PERSONAS, ANONYMOUS)
    }
    assert herb_got == dict.fromkeys(PERSONAS, "200") | {ANONYMOUS: "refused json"}

    formula_got = {
        who: outcome(as_user(client, personas.get(who)).get(f"/api/v1/formulas/{formula.pk}/"))
        for who in (*PERSONAS, ANONYMOUS)
    }
    # A personal formula is its owner's: another clinician gets the 404 of a formula that does not exist.
    assert formula_got == dict.fromkeys(PERSONAS, "refused json") | {
        "clinician": "200",
        "outsider": "404",
        ANONYMOUS: "refused json",
    }


# --- The admin site ----------------------------------------------------------------------------------------------


def test_clinicians_pharmacists_dispensers_decoctors_and_couriers_are_refused_the_admin_site(client, personas):
    for who in ("clinician", "outsider", "pharmacist", "dispenser", "decoctor", "courier"):
        as_user(client, personas[who])
        for url in ("/admin/", "/admin/accounts/user/", "/admin/patients/patient/"):
            assert outcome(client.get(url)) == "admin-login", (who, url)
        login_page = client.get("/admin/", follow=True)
        assert login_page.resolver_match.view_name == "admin:login", who


@pytest.fixture
def scattered(county, personas):
    """One more user at V001 (inside C001) and a patient at each of T001, V001, T003 and H001."""
    UserFactory(username="village", institution=county["V001"], roles=[Role.CLINICIAN])
    return {code: PatientFactory(institution=county[code]) for code in ("T001", "V001", "T003", "H001")}


def changelist(client, user, url) -> set:
    response = as_user(client, user).get(url)
    assert response.status_code == 200, url
    return set(response.context["cl"].queryset)


def test_centre_admin_sees_only_its_subtrees_users_and_patients_and_county_admin_sees_all(client, personas, scattered):
    centre_users = {u.username for u in changelist(client, personas["centre_admin"], "/admin/accounts/user/")}
    centre_patients = changelist(client, personas["centre_admin"], "/admin/patients/patient/")
    county_users = {u.username for u in changelist(client, personas["county_admin"], "/admin/accounts/user/")}
    county_patients = changelist(client, personas["county_admin"], "/admin/patients/patient/")

    assert centre_users == {"clinician", "centreadmin", "village"}
    assert centre_patients == {scattered["T001"], scattered["V001"]}
    assert county_users == set(User.objects.values_list("username", flat=True))
    assert county_patients == set(Patient.objects.all())
    searched = as_user(client, personas["centre_admin"]).get("/admin/accounts/user/", {"q": "outsider"})
    assert set(searched.context["cl"].queryset) == set()


def test_centre_admin_cannot_open_the_change_page_of_a_user_or_patient_outside_its_subtree(client, personas, scattered):
    outside = (
        f"/admin/accounts/user/{personas['outsider'].pk}/change/",
        f"/admin/patients/patient/{scattered['T003'].pk}/change/",
    )
    for url in outside:
        refused = as_user(client, personas["centre_admin"]).get(url)
        assert outcome(refused) == "302 /admin/", url  # the admin's "does not exist" redirect
        assert as_user(client, personas["county_admin"]).get(url).status_code == 200, url
    assert (
        as_user(client, personas["centre_admin"])
        .get(f"/admin/accounts/user/{personas['clinician'].pk}/change/")
        .status_code
        == 200
    )


def test_centre_admin_sees_only_its_subtrees_audit_runs_and_decisions(client, personas, catalogue):
    mine = prescription_at(personas["clinician"], Stage.SUBMITTED)
    theirs = prescription_at(personas["outsider"], Stage.SUBMITTED)
    for prescription in (mine, theirs):
        audit_run(prescription_id=prescription.pk)
        audit_decide(
            pharmacist=personas["pharmacist"],
            prescription=Prescription.objects.get(pk=prescription.pk),
            decision="approve",
        )

    runs = changelist(client, personas["centre_admin"], "/admin/audit/auditrun/")
    decisions = changelist(client, personas["centre_admin"], "/admin/audit/auditdecision/")

    assert {run.prescription_id for run in runs} == {mine.pk}
    assert {decision.prescription_id for decision in decisions} == {mine.pk}
    assert {r.prescription_id for r in changelist(client, personas["county_admin"], "/admin/audit/auditrun/")} == {
        mine.pk,
        theirs.pk,
    }
    assert AuditRun.objects.count() == 2


# --- The admin's user pages: no takeover ------------------------------------------------------------------------


@pytest.fixture
def targets(county, others):
    """Two superusers no administrator persona may change: one placed at H001, the top of the
    county, inside the county administrator's subtree; one with no institution."""
    root_at_h001 = UserFactory(username="root", institution=county["H001"], is_superuser=True, is_staff=True)
    root_nowhere = UserFactory(username="root2", institution=None, is_superuser=True, is_staff=True)
    return {"superuser at H001": root_at_h001, "superuser without institution": root_nowhere}


def user_form(user, **overrides):
    """The admin's change form for `user` as posted; `None` leaves a field (a checkbox) out."""
    return user_change_data(user, **{"institution": user.institution_id or "", **overrides})


NEW_PASSWORD = "Taken-over-2026"
PASSWORD_FORM = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set_usable_password": "true"}


def test_no_administrator_can_change_a_superuser_or_a_user_outside_its_subtree_in_the_admin(
    client, personas, others, targets, caplog
):
    administrators = {name: personas[name] for name in ADMINS} | {"c002_admin": others["c002_admin"]}
    # Each administrator persona against each superuser and against a clinician outside its subtree.
    outside = {
        "county_admin": [],  # H001 is the top: nobody but the superusers is outside it
        "centre_admin": [personas["outsider"]],  # T003 is below C002
        "c002_admin": [personas["clinician"]],  # T001 is below C001
    }
    got = {}
    for name, admin in administrators.items():
        for target in [*targets.values(), *outside[name]]:
            before = User.objects.get(pk=target.pk)
            as_user(client, admin)
            change = f"/admin/accounts/user/{target.pk}/change/"
            password = f"/admin/accounts/user/{target.pk}/password/"
            got[name, target.username] = (
                outcome(client.get(password)),
                outcome(client.post(password, PASSWORD_FORM)),
                outcome(client.post(change, user_form(target, is_active=None, name="被改了"))),
            )
            after = User.objects.get(pk=target.pk)
            assert (after.password, after.is_active, after.name) == (before.password, before.is_active, before.name)
            assert not after.check_password(NEW_PASSWORD)

    refused_in_scope = ("403", "403", "403")  # seen, not changed
    refused_out_of_scope = ("404", "404", "302 /admin/")  # the password page's and the admin's "does not exist"
    assert got == {
        ("county_admin", "root"): refused_in_scope,
        ("county_admin", "root2"): refused_out_of_scope,
        ("centre_admin", "root"): refused_out_of_scope,
        ("centre_admin", "root2"): refused_out_of_scope,
        ("centre_admin", "outsider"): refused_out_of_scope,
        ("c002_admin", "root"): refused_out_of_scope,
        ("c002_admin", "root2"): refused_out_of_scope,
        ("c002_admin", "clinician"): refused_out_of_scope,
    }
    assert "password changed" not in caplog.text
    # Nor can anyone sign in with the password they tried to set.
    client.logout()
    signed_in = client.post("/login/", {"username": "root", "password": NEW_PASSWORD})
    assert signed_in.status_code == 200 and not signed_in.wsgi_request.user.is_authenticated


def test_an_administrator_changes_a_password_in_its_subtree_and_a_superuser_a_superusers_and_both_are_logged(
    client, personas, targets, caplog
):
    caplog.set_level("INFO", logger="tcm.security")
    clinician, root = personas["clinician"], targets["superuser at H001"]
    as_user(client, personas["centre_admin"])
    assert outcome(client.post(f"/admin/accounts/user/{clinician.pk}/password/", PASSWORD_FORM)) == (
        f"302 /admin/accounts/user/{clinician.pk}/change/"
    )
    as_user(client, targets["superuser without institution"])
    assert outcome(client.post(f"/admin/accounts/user/{root.pk}/password/", PASSWORD_FORM)) == (
        f"302 /admin/accounts/user/{root.pk}/change/"
    )

    assert User.objects.get(pk=clinician.pk).check_password(NEW_PASSWORD)
    assert User.objects.get(pk=root.pk).check_password(NEW_PASSWORD)
    logged = [r.getMessage() for r in caplog.records if r.name == "tcm.security" and "password" in r.getMessage()]
    assert [line.split(" address=")[0] for line in logged] == [
        "password changed user=clinician by=centreadmin",
        "password changed user=root by=root2",
    ]


def test_an_administrator_gives_only_the_platforms_role_groups(client, personas):
    """The groups field offers the role groups of accounts.roles.Role and nothing else: another
    group, here one holding every permission, is not a valid choice. (This does not rank roles:
    administrators staff their subtree with pipeline roles; what stops one approving their own
    prescription is the final audit's own check.)"""
    from django.contrib.auth.models import Group, Permission

    mighty = Group.objects.create(name="mighty")
    mighty.permissions.set(Permission.objects.all())
    clinician = personas["clinician"]
    pharmacist_role = Group.objects.get(name=Role.PHARMACIST)
    as_user(client, personas["centre_admin"])
    url = f"/admin/accounts/user/{clinician.pk}/change/"
    offered = client.get(url).context["adminform"].form.fields["groups"].queryset
    assert set(offered.values_list("name", flat=True)) == set(Role.values)
    # The administrator may give pipeline roles: the same form with an ordinary role saves.
    roles = [Group.objects.get(name=Role.CLINICIAN).pk, pharmacist_role.pk]
    assert outcome(client.post(url, user_form(clinician, groups=roles))) == "302 /admin/accounts/user/"

    response = client.post(url, user_form(clinician, groups=[*roles, mighty.pk]))

    assert response.status_code == 200 and "groups" in response.context["adminform"].form.errors
    assert set(User.objects.get(pk=clinician.pk).groups.values_list("name", flat=True)) == {
        Role.CLINICIAN,
        Role.PHARMACIST,
    }


def account(user) -> tuple:
    """What a takeover would change: password hash, flags, institution and roles."""
    user = User.objects.get(pk=user.pk)
    return (
        user.password,
        user.is_active,
        user.is_staff,
        user.is_superuser,
        user.institution_id,
        user.name,
        frozenset(user.groups.values_list("name", flat=True)),
    )


def group_ids(*roles) -> list[int]:
    from django.contrib.auth.models import Group

    return list(Group.objects.filter(name__in=roles).values_list("pk", flat=True))


def attempts(client, admin, target) -> tuple[str, ...]:
    """Each way the admin's user pages change an account, tried by `admin` on `target`: open the
    password page, set the password, and post the change form raising the roles, dropping the
    active flag, and emptying the institution."""
    as_user(client, admin)
    change = f"/admin/accounts/user/{target.pk}/change/"
    password = f"/admin/accounts/user/{target.pk}/password/"
    everything = group_ids(Role.ADMINISTRATOR, Role.PHARMACIST, Role.CLINICIAN)
    return (
        outcome(client.get(password)),
        outcome(client.post(password, PASSWORD_FORM)),
        outcome(client.post(change, user_form(target, groups=everything, name="被改了"))),
        outcome(client.post(change, user_form(target, is_active=None))),
        outcome(client.post(change, user_form(target, institution=""))),
    )


def test_an_administrator_cannot_change_their_own_roles_flags_or_password_in_the_admin(
    client, personas, others, caplog
):
    """centreadmin gave itself the pharmacist and clinician roles on its own change form. Nobody
    changes their own account in the admin's user pages; their own password goes through the
    admin's "change password" page, which asks for the old one."""
    caplog.set_level("INFO", logger="tcm.security")
    administrators = {name: personas[name] for name in ADMINS} | {"c002_admin": others["c002_admin"]}
    got = {}
    for name, admin in administrators.items():
        before = account(admin)
        got[name] = attempts(client, admin, admin)
        assert account(admin) == before, name
        assert outcome(client.get(f"/admin/accounts/user/{admin.pk}/change/")) == "200"  # shown, read-only
    assert got == dict.fromkeys(administrators, ("403",) * 5)
    assert "password changed" not in caplog.text

    centre_admin = personas["centre_admin"]
    as_user(client, centre_admin)
    own = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert outcome(client.post("/admin/password_change/", {**own, "old_password": "wrong"})) == "200"
    assert outcome(client.post("/admin/password_change/", own)) == "302 /admin/password_change/done/"
    assert User.objects.get(pk=centre_admin.pk).check_password(NEW_PASSWORD)


@pytest.fixture
def peers(county):
    """An administrator beside each administrator persona, at the same institution."""
    return {
        "h001_peer": UserFactory(username="h001peer", institution=county["H001"], roles=[Role.ADMINISTRATOR]),
        "c001_peer": UserFactory(username="c001peer", institution=county["C001"], roles=[Role.ADMINISTRATOR]),
    }


def test_an_administrator_cannot_change_a_peer_administrator(client, personas, others, peers, caplog):
    """centreadmin set the password of another administrator of C001. An administrator changes
    another only strictly below their own institution: a peer is refused like a superuser (403),
    one above or beside like a user outside the subtree ("does not exist")."""
    caplog.set_level("INFO", logger="tcm.security")
    administrators = {name: personas[name] for name in ADMINS} | {"c002_admin": others["c002_admin"]}
    targets = {
        "county_admin": [peers["h001_peer"]],
        "centre_admin": [peers["c001_peer"], personas["county_admin"], peers["h001_peer"]],
        "c002_admin": [personas["centre_admin"], peers["c001_peer"], personas["county_admin"]],
    }
    got = {}
    for name, admin in administrators.items():
        for target in targets[name]:
            before = account(target)
            got[name, target.username] = attempts(client, admin, target)
            assert account(target) == before, (name, target.username)

    peer = ("403",) * 5  # seen in the subtree, not changed
    beyond = ("404", "404", "302 /admin/", "302 /admin/", "302 /admin/")  # "does not exist"
    assert got == {
        ("county_admin", "h001peer"): peer,
        ("centre_admin", "c001peer"): peer,
        ("centre_admin", "countyadmin"): beyond,
        ("centre_admin", "h001peer"): beyond,
        ("c002_admin", "centreadmin"): beyond,
        ("c002_admin", "c001peer"): beyond,
        ("c002_admin", "countyadmin"): beyond,
    }
    assert "password changed" not in caplog.text

    # One strictly below is the administrator's to change, and the change is logged.
    centre_admin = personas["centre_admin"]
    as_user(client, personas["county_admin"])
    assert outcome(client.post(f"/admin/accounts/user/{centre_admin.pk}/password/", PASSWORD_FORM)) == (
        f"302 /admin/accounts/user/{centre_admin.pk}/change/"
    )
    assert User.objects.get(pk=centre_admin.pk).check_password(NEW_PASSWORD)
    assert "password changed user=centreadmin by=countyadmin" in caplog.text


def form_errors(response) -> dict:
    assert response.status_code == 200, outcome(response)
    return response.context["adminform"].form.errors


def test_a_user_saved_by_an_administrator_must_belong_to_an_institution_in_their_subtree(client, personas, county):
    """An administrator posted a clinician's form with no institution and the administrator role:
    a staff user no other administrator could see. Every save by a non-superuser places the user
    in the actor's subtree, and an administrator strictly below the actor; a refused save changes
    nothing."""
    clinician, centre_admin = personas["clinician"], personas["centre_admin"]
    change = f"/admin/accounts/user/{clinician.pk}/change/"
    administrator = group_ids(Role.ADMINISTRATOR)
    before = account(clinician)
    as_user(client, centre_admin)

    refused = {
        "no institution, administrator": user_form(clinician, institution="", groups=administrator),
        "no institution": user_form(clinician, institution=""),
        "outside the subtree": user_form(clinician, institution=county["T003"].pk),
        "administrator beside the actor": user_form(clinician, institution=county["C001"].pk, groups=administrator),
    }
    for why, data in refused.items():
        assert "institution" in form_errors(client.post(change, data)), why
        assert account(clinician) == before, why

    add = {"username": "newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    for institution in ("", county["C002"].pk):
        assert "institution" in form_errors(
            client.post("/admin/accounts/user/add/", {**add, "institution": institution})
        )
    assert not User.objects.filter(username="newbie").exists()

    # Inside the subtree it saves: a user at the actor's own institution, an administrator below it.
    assert outcome(client.post("/admin/accounts/user/add/", {**add, "institution": county["C001"].pk})).startswith(
        "302 /admin/accounts/user/"
    )
    assert User.objects.get(username="newbie").institution == county["C001"]
    to_t001 = user_form(clinician, institution=county["T001"].pk, groups=administrator)
    assert outcome(client.post(change, to_t001)) == "302 /admin/accounts/user/"
    promoted = User.objects.get(pk=clinician.pk)
    assert (promoted.institution, promoted.is_staff, promoted.role_codes) == (
        county["T001"],
        True,
        {Role.ADMINISTRATOR},
    )


def test_the_cds_order_services_answer_each_persona_who_may_prescribe_by_token_and_refuse_the_rest(personas, catalogue):
    """A HIS's token of each persona posts an empty hook request: those who may prescribe get past
    the permission to the request's own 400; no patient data is read, so the outsider too."""
    got = {}
    for service in ("tcm-herbal-order-select", "tcm-herbal-order-sign", "no-such-service"):
        url = reverse("cds:service", args=[service])
        for who, user in personas.items():
            got[service, who] = outcome(token_client(user).post(url, {}, content_type="application/json"))
        got[service, ANONYMOUS] = outcome(Client().post(url, {}, content_type="application/json"))

    assert got == {
        (service, who): (ok if who in holders(("prescribe",)) else "refused json")
        for service, ok in (
            ("tcm-herbal-order-select", "400"),
            ("tcm-herbal-order-sign", "400"),
            ("no-such-service", "404"),
        )
        for who in (*PERSONAS, ANONYMOUS)
    }


def test_a_session_is_read_in_scope_changed_by_its_centres_schedule_managers_and_its_township_list_is_public(
    client, personas, county
):
    from outreach.services import session_save

    expert = UserFactory(username="expert", institution=county["H001"], roles=[Role.CLINICIAN])
    day = timezone.localdate() + timedelta(days=3)
    session = session_save(
        actor=personas["county_admin"],
        expert=expert,
        institution=county["T001"],
        date=day,
        starts_at=time(8, 30),
        ends_at=time(11, 30),
    )
    detail = f"/api/v1/outreach/sessions/{session.pk}/"
    readers = {"clinician", "pharmacist", "county_admin", "centre_admin"}  # T001's subtree above it
    read, changed = {}, {}
    for name, user in personas.items():
        as_user(client, user)
        read[name] = client.get(detail).status_code
        changed[name] = client.patch(detail, {"note": name}, content_type="application/json").status_code
    as_user(client, None)
    public = client.get(f"/api/v1/outreach/townships/{county['T001'].code}/sessions/")

    assert read == {name: 200 if name in readers else 404 for name in personas}
    assert changed == {name: 200 if name in ADMINS else 403 for name in personas}
    assert client.get(detail).status_code in (401, 403)
    assert client.post(f"{detail}cancel/").status_code in (401, 403)
    assert public.status_code == 200 and len(public.json()["sessions"]) == 1
    assert client.get("/outreach/T001/").status_code == 200
    assert client.get("/outreach/T001/qr.svg")["Content-Type"] == "image/svg+xml"
    assert client.get("/outreach/P001/").status_code == client.get("/outreach/P001/qr.svg").status_code == 404


def test_a_remote_consult_is_seen_only_by_its_clinic_and_the_experts_it_is_routed_to(client, personas, county):
    """A consult of V001 routed to H001: its village doctor and H001's clinicians read it; every
    other clinician (T001 and C001 above the clinic included) gets a 404, as for a consult that does
    not exist; other roles are refused by capability. Each step is refused the same way."""
    from teleconsult.services import remote_consult_request

    doctor = UserFactory(username="village", institution=county["V001"], roles=[Role.CLINICIAN])
    expert = UserFactory(username="expert", institution=county["H001"], roles=[Role.CLINICIAN])
    central = UserFactory(username="central", institution=county["C001"], roles=[Role.CLINICIAN])
    patient = PatientFactory(institution=county["V001"])
    consult, _ = remote_consult_request(actor=doctor, patient_id=patient.pk, values={"chief_complaint": "头痛"})
    users = {**personas, "village": doctor, "expert": expert, "central": central}
    base, page = f"/api/v1/remote-consults/{consult.pk}/", f"/remote-consults/{consult.pk}/"
    readers, clinicians = {"village", "expert"}, {"clinician", "outsider", "central"}
    gets = {base: API, page: PAGE, f"{page}prescribe/": PAGE}
    for url, kind in gets.items():
        got = {who: outcome(as_user(client, user).get(url)) for who, user in users.items()}
        want = {who: "200" if who in readers else "404" if who in clinicians else refused(kind) for who in users}
        if url.endswith("prescribe/"):  # nobody holds it yet: back to the consult for its readers
            want.update(dict.fromkeys(readers, f"302 {page}"))
        assert got == want, url
    steps = ["claim", "release", "question", "answer", "advice", "withdraw", "photos", "photos/1", "prescription"]
    for step in steps:
        for who in ("clinician", "outsider", "central", "pharmacist"):
            response = as_user(client, users[who]).post(f"{base}{step}/", {}, content_type="application/json")
            assert response.status_code in (403, 404, 405), (step, who, response.status_code)
            assert patient.name.encode() not in response.content
    as_user(client, None)
    assert outcome(client.get(base)) == "refused json" and outcome(client.get(page)) == "login"
    assert RemoteConsult.objects.get(pk=consult.pk).event_count == 1


def refused(kind: str) -> str:
    return {PAGE: "403", API: "refused json"}[kind]
