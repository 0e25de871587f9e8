from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import has_capability, scope_to_institutions
from core.models import WorkerHeartbeat
from decoction.models import StationSettings
from prescriptions.models import Prescription

from .figures import diagnoses as diagnosis_figures
from .figures import herbs as herb_figures
from .figures import supervision as supervision_figures
from .figures.months import MonthlyForm
from .figures.volume import volume as volume_figures
from .pages import render_dashboard
from .selectors import delivery_sla, prescriptions_waiting_for, urgent_target


@login_required
def home(request):
    heartbeat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    return render(
        request,
        "home.html",
        {
            "heartbeat": heartbeat if has_capability(request.user, "view_dashboards") else None,
            "waiting": prescriptions_waiting_for(request.user) if has_capability(request.user, "prescribe") else None,
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
def delivery_times(request):
    """Prescribing → delivery times and the urgent-decoction target, over the user's institutions."""
    if not has_capability(request.user, "view_dashboards"):
        raise PermissionDenied
    prescriptions = scope_to_institutions(Prescription.objects.all(), request.user)
    target = StationSettings.current().urgent_target_minutes
    return render(
        request,
        "dashboards/delivery_times.html",
        {
            "stats": delivery_sla(prescriptions),
            "urgent": urgent_target(prescriptions, target_minutes=target),
        },
    )


@login_required
def volume(request):
    return render_dashboard(request, "volume", volume_figures)


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
