from functools import partial

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import has_capability, institution_ids_visible_to
from core.models import WorkerHeartbeat
from teleconsult.permissions import may_see_remote_consults
from teleconsult.selectors import remote_consults_awaiting

from .figures import diagnoses as diagnosis_figures
from .figures import herbs as herb_figures
from .figures import supervision as supervision_figures
from .figures.audit import audit as audit_figures
from .figures.inventory import inventory as inventory_figures
from .figures.months import MonthlyForm
from .figures.quality import quality as quality_figures
from .figures.review import review as review_figures
from .figures.stages import stages as stages_figures
from .figures.volume import volume as volume_figures
from .frame import FilterForm, PlaceFilterForm
from .pages import render_dashboard
from .selectors import prescriptions_waiting_for, stuck_flags

HOME_STUCK = 5  # the home page's panel: the longest-waiting few, and a link to the stages page
HOME_CONSULTS = 10  # the remote consults waiting for the user: a claim, an answer, a reply


@login_required
def home(request):
    admin = has_capability(request.user, "view_dashboards")
    stuck = stuck_flags(institution_ids_visible_to(request.user)) if admin else None
    consults = remote_consults_awaiting(request.user) if may_see_remote_consults(request.user) else None
    return render(
        request,
        "home.html",
        {
            "heartbeat": WorkerHeartbeat.objects.order_by("-seen_at").first() if admin else None,
            "waiting": prescriptions_waiting_for(request.user) if has_capability(request.user, "prescribe") else None,
            "stuck": None if stuck is None else list(stuck[:HOME_STUCK]),
            "stuck_count": None if stuck is None else stuck.count(),
            "consults_waiting": consults[:HOME_CONSULTS] if consults is not None else None,
        },
    )


def health(request):
    """For the load balancer and monitoring: the database answers; the worker's last heartbeat."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    heartbeat = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    age = (timezone.now() - heartbeat).total_seconds() if heartbeat else None
    return JsonResponse({"database": "ok", "worker_heartbeat_age_seconds": age})


@login_required
def volume(request):
    return render_dashboard(request, "volume", volume_figures)


@login_required
def stages(request):
    return render_dashboard(
        request, "stages", stages_figures, template="dashboards/stages.html", form_class=PlaceFilterForm
    )


@login_required
def inventory(request):
    return render_dashboard(
        request, "inventory", inventory_figures, template="dashboards/inventory.html", form_class=PlaceFilterForm
    )


@login_required
def quality(request):
    return render_dashboard(
        request, "quality", quality_figures, template="dashboards/quality.html", form_class=PlaceFilterForm
    )


@login_required
def diagnoses(request):
    return render_dashboard(
        request, "diagnoses", diagnosis_figures.diagnoses, template="dashboards/monthly.html", form_class=MonthlyForm
    )


@login_required
def herbs(request):
    return render_dashboard(
        request, "herbs", herb_figures.herbs, template="dashboards/monthly.html", form_class=MonthlyForm
    )


@login_required
def supervision(request):
    """The monthly supervision report: administrators only (it is not in a clinician's scope)."""
    return render_dashboard(
        request,
        "supervision",
        supervision_figures.supervision,
        template="dashboards/supervision.html",
        form_class=supervision_figures.SupervisionForm,
    )


@login_required
def audit(request):
    return render_dashboard(request, "audit", audit_figures, template="dashboards/audit.html")


@login_required
def review(request):
    """Twelve months by default: about five samples per clinician a month."""
    return render_dashboard(request, "review", review_figures, form_class=partial(FilterForm, default_days=365))
