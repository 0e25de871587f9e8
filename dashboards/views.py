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
