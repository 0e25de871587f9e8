from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import has_capability

from .models import WorkerHeartbeat


@login_required
def home(request):
    heartbeat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    return render(
        request,
        "home.html",
        {"heartbeat": heartbeat if has_capability(request.user, "view_dashboards") else None},
    )


def health(request):
    """For the load balancer and monitoring: the database answers; the worker's last heartbeat."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    heartbeat = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    age = (timezone.now() - heartbeat).total_seconds() if heartbeat else None
    return JsonResponse({"database": "ok", "worker_heartbeat_age_seconds": age})
