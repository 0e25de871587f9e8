"""The composition a reader can follow: the first event goes through the one status writer, the
writer keeps the milestone row and announces each move once after commit, and the work pulled
from the trace (the machine audit) happens exactly once however often the task is delivered."""

import importlib
import importlib.util

import pytest
from django.apps import AppConfig, apps

from audit.models import AuditRun
from pipeline.tasks import trace_advanced
from prescriptions.exceptions import InvalidTransition
from prescriptions.models import Milestone, Prescription, TraceEvent
from prescriptions.services import prescription_transition
from prescriptions.workflow import Stage

from .test_workflow import CENTRE_PATH, submit

pytestmark = pytest.mark.usefixtures("catalogue")


def test_a_submit_writes_its_first_event_and_milestone_through_the_one_writer_and_announces_it_after_commit(
    clinician, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        prescription = submit(clinician)

    assert enqueued["trace"] == [], "nothing is announced before the commit"
    for callback in callbacks:
        callback()
    event = TraceEvent.objects.get(prescription=prescription)
    milestone = Milestone.objects.get(prescription=prescription)
    assert (event.stage, event.actor, event.prev_hash) == (Stage.SUBMITTED, clinician, "")
    assert (milestone.submitted_at, milestone.submitted_by, milestone.status) == (event.at, clinician, "submitted")
    assert (milestone.institution_id, milestone.prescriber) == (clinician.institution_id, clinician)
    assert enqueued["trace"] == [(prescription.pk, Stage.SUBMITTED)]


def test_only_a_role_of_the_tables_create_move_may_bring_a_prescription_into_the_pipeline(clinician, pharmacist):
    prescription = submit(clinician)
    twin = Prescription.objects.get(pk=prescription.pk)
    twin.pk, twin.number, twin.tracking_token = None, "X-1", None

    twin.save()
    with pytest.raises(InvalidTransition):
        prescription_transition(prescription=twin, to=Stage.SUBMITTED, created=True, actor=pharmacist)
    with pytest.raises(InvalidTransition):  # nor may a creation land anywhere but the first stage
        prescription_transition(prescription=twin, to=Stage.APPROVED, created=True, actor=clinician)


def test_each_move_stamps_its_time_and_actor_on_the_milestone_row_and_is_announced_once(
    actors, enqueued, django_capture_on_commit_callbacks
):
    events = {}
    with django_capture_on_commit_callbacks(execute=True):
        prescription = submit(actors["clinician"])
        for stage, who in CENTRE_PATH:
            events[stage] = prescription_transition(prescription=prescription, to=stage, actor=actors[who])

    milestone = Milestone.objects.get(prescription=prescription)
    assert milestone.status == Stage.DELIVERED
    for stage, who in CENTRE_PATH:
        assert getattr(milestone, f"{stage}_at") == events[stage].at, stage
        if who != "system":
            assert getattr(milestone, f"{stage}_by") == actors[who], stage
    assert milestone.rejected_at is None and milestone.picked_up_at is None
    assert [stage for _pk, stage in enqueued["trace"]] == [Stage.SUBMITTED] + [stage for stage, _who in CENTRE_PATH]


def test_the_machine_audit_happens_once_however_often_the_trace_task_is_delivered(clinician, enqueued):
    prescription = submit(clinician)

    for _ in range(3):
        trace_advanced(prescription.pk, Stage.SUBMITTED)
    trace_advanced(prescription.pk, Stage.AI_AUDITED)  # a later move's task audits nothing

    assert AuditRun.objects.filter(prescription=prescription).count() == 1
    assert TraceEvent.objects.filter(prescription=prescription, stage=Stage.AI_AUDITED).count() == 1
    assert Prescription.objects.get(pk=prescription.pk).status == Stage.AI_AUDITED


PROJECT_APPS = {"core", "accounts", "catalogue", "rules", "patients", "prescriptions", "audit", "decoction", "delivery"}
PROJECT_APPS |= {"constitution", "outreach", "teleconsult", "dashboards", "pipeline", "interop", "tcm_platform"}


def test_no_app_fills_a_registry_at_start_up_and_prescriptions_has_no_hook_module():
    """Composition is read in calls: only accounts has a ready(), and it connects Django's own
    login signals to the security log and the role groups to post_migrate, nothing of the pipeline."""
    with_ready = {
        c.name for c in apps.get_app_configs() if c.name in PROJECT_APPS and type(c).ready is not AppConfig.ready
    }

    assert with_ready == {"accounts"}
    assert importlib.util.find_spec("prescriptions.hooks") is None
    assert {c.name for c in apps.get_app_configs()} >= PROJECT_APPS


def test_every_station_step_of_the_workflow_has_exactly_one_recorder_in_the_step_table():
    from pipeline.steps import STEPS
    from prescriptions.workflow import TRANSITIONS

    people_moves = {m.to for moves in TRANSITIONS.values() for m in moves if "system" not in m.capabilities}
    stations = people_moves - {Stage.APPROVED, Stage.REJECTED, Stage.CANCELLED}  # the audit's and the clinician's

    assert set(STEPS) == stations


APP_FOLDERS = sorted(PROJECT_APPS)
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def python_modules():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for app in APP_FOLDERS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(root), path.read_text(encoding="utf-8")


def test_no_application_module_is_over_400_lines_and_no_function_over_60():
    import ast

    too_long = []
    for name, text in python_modules():
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}(): {length} lines")

    assert too_long == []


def test_no_lower_floor_reads_a_higher_apps_relations_behind_the_import_contract():
    """A lower app reading `prescription.audit_run` would depend on audit where lint-imports
    cannot see it; the pages that combine them live in pipeline/."""
    import re

    higher = re.compile(r"\baudit_run\b|\bauditdecision\b|getattr\([^)]*\"decision\"")
    lower = [(name, text) for name, text in python_modules() if str(name).startswith(("prescriptions", "patients"))]

    assert [str(name) for name, text in lower if higher.search(text)] == []


def test_the_milestone_backfill_rebuilds_the_writers_rows_reading_the_trace_once(
    actors, enqueued, django_assert_max_num_queries
):
    def move(prescription, *path):
        for stage, who in path:
            prescription_transition(prescription=prescription, to=stage, actor=actors[who])

    clinician = actors["clinician"]
    just_submitted, rejected, rechecked_twice, delivered = (submit(clinician) for _ in range(4))
    move(rejected, (Stage.AI_AUDITED, "system"), (Stage.REJECTED, "pharmacist"))
    move(rechecked_twice, *CENTRE_PATH[:3], (Stage.RECHECK_FAILED, "pharmacist"), (Stage.DISPENSED, "dispenser"))
    move(delivered, *CENTRE_PATH)
    columns = [field.attname for field in Milestone._meta.concrete_fields]
    written = list(Milestone.objects.order_by("pk").values_list(*columns))
    Milestone.objects.all().delete()
    backfill = importlib.import_module("prescriptions.migrations.0006_milestones").backfill

    with django_assert_max_num_queries(4):  # the prescriptions, the trace, the rows: none per prescription
        backfill(apps, None)

    assert list(Milestone.objects.order_by("pk").values_list(*columns)) == written
    assert len(written) == 4


def test_every_rule_a_permissions_module_defines_is_asked_by_the_application():
    """A permission function nothing calls is a second answer waiting to drift from the first."""
    import ast

    defined, used = {}, set()
    for name, text in python_modules():
        tree = ast.parse(text)
        if name.name == "permissions.py":
            defined |= {f"{name}: {node.name}": node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)

    assert sorted(where for where, function in defined.items() if function not in used) == []
