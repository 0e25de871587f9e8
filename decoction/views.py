"""Tablet station pages: scan (or type) the code, one form, one tap. Each step goes through the
same service as the events API (prescriptions.services.prescription_record_step with this app's recorders)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import has_capability
from core.ids import parse_id
from core.qr import qr_svg_inline
from prescriptions.exceptions import ConcurrentTransition, InvalidTransition
from prescriptions.selectors import prescriptions_for_stations
from prescriptions.services import prescription_record_step
from prescriptions.workflow import Decoction, Stage

from .labels import bag_usage
from .models import Inspection, StationPhoto
from .selectors import STATIONS, find_by_code, soak_ready, station_queue, stations_for, with_soak_ready
from .services import RECORDERS, inspection_record, is_child, required_steps


def _station(request, code):
    station = STATIONS.get(code)
    if station is None:
        raise Http404
    if not has_capability(request.user, station.capability):
        raise PermissionDenied
    return station


@login_required
def index(request):
    stations = stations_for(request.user)
    if not stations:
        raise PermissionDenied
    counts = [(station, station_queue(request.user, station).count()) for station in stations]
    return render(request, "decoction/index.html", {"counts": counts})


def _step_data(request, station, prescription):
    """The form fields of this station as the recorder's data."""
    data = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    if station.code == "dispensing":
        data["weights"] = [
            {"grams": request.POST.get(f"weight-{item.position}", "")}
            for item in prescription.items.order_by("position")
        ]
    return data


@login_required
def station_page(request, code):
    station = _station(request, code)
    prescription, errors = None, {}
    scanned = request.GET.get("code", "").strip()
    if request.method == "POST":
        prescription = get_object_or_404(
            prescriptions_for_stations(request.user), pk=parse_id(request.POST.get("prescription", "")) or 0
        )
        stage = request.POST.get("stage", "")
        if stage not in station.stages:
            raise PermissionDenied
        try:
            prescription_record_step(
                actor=request.user,
                prescription=prescription,
                stage=stage,
                data=_step_data(request, station, prescription),
                files=request.FILES,
                recorder=RECORDERS[stage],
            )
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        except (InvalidTransition, ConcurrentTransition) as error:
            messages.error(request, error.message)
            return redirect("stations:station", code=code)
        else:
            messages.success(
                request,
                _("%(number)s: %(step)s recorded.")
                % {"number": prescription.display_number, "step": Stage(stage).label},
            )
            return redirect("stations:station", code=code)
    elif scanned:
        prescription = find_by_code(request.user, station, scanned)
        if prescription is None:
            messages.error(request, _("%(code)s is not waiting at this station.") % {"code": scanned})
    context = {
        "station": station,
        "stations": stations_for(request.user),
        "queue": with_soak_ready(station_queue(request.user, station), limit=50),
        "prescription": prescription,
        "errors": errors,
        "post": request.POST,
        "idempotency_key": uuid.uuid4().hex,
    }
    if prescription is not None:
        context.update(_prescription_context(prescription, typed=request.POST))
    return render(request, "decoction/station.html", context)


def _prescription_context(prescription, typed):
    """The prescription's station form; `typed` (what was posted) fills it again after a warning."""
    items = list(prescription.items.select_related("herb").order_by("position"))
    for item in items:
        item.expected_total = item.grams * prescription.doses
        item.typed = typed.get(f"weight-{item.position}", "")
    dispensing = prescription.dispensing_records.order_by("-created_at", "-pk").first()
    photo = prescription.station_photos.order_by("-created_at", "-pk").first()
    child = is_child(prescription.patient)
    return {
        "items": items,
        "dispensing": dispensing,
        "photo": photo,
        "steps": required_steps(prescription),
        "centre": prescription.decoction == Decoction.CENTER,
        "default_bags": prescription.doses * 2 if prescription.decoction == Decoction.CENTER else prescription.doses,
        "default_ml": 100 if child else 200,
        "child": child,
        "soak": soak_ready(prescription) if prescription.status == Stage.SOAKING else None,
    }


@login_required
def station_photo(request, pk):
    if not has_capability(request.user, "work_stations"):
        raise PermissionDenied
    photo = get_object_or_404(StationPhoto, pk=pk, prescription__in=prescriptions_for_stations(request.user))
    field = photo.thumbnail if request.GET.get("thumb") and photo.thumbnail else photo.image
    response = FileResponse(field.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"  # a patient's photo: never on disk
    return response


@login_required
def labels(request, pk):
    """Bag labels (A6 or 80 mm) and the patient's receipt, printed from the browser."""
    if not (has_capability(request.user, "decoct") or has_capability(request.user, "dispense")):
        raise PermissionDenied
    prescription = get_object_or_404(
        prescriptions_for_stations(request.user).select_related("patient", "institution"), pk=pk
    )
    packaged = prescription.events.filter(stage=Stage.PACKAGED).order_by("-at").first()
    bags = (packaged.data.get("bags") if packaged else None) or prescription.doses * 2
    size = request.GET.get("size") if request.GET.get("size") in ("a6", "80mm") else "80mm"
    url = prescription.tracking_url or ""
    return render(
        request,
        "decoction/labels.html",
        {
            "prescription": prescription,
            "usage": bag_usage(prescription, bags=int(bags)),
            "bags": range(1, int(bags) + 1),
            "total": bags,
            "size": size,
            "qr": qr_svg_inline(url) if url else "",
            "tracking_url": url,
            "receipt": request.GET.get("receipt") == "1",
            "today": timezone.localdate(),
        },
    )


@login_required
def inspections(request):
    if not has_capability(request.user, "recheck"):
        raise PermissionDenied
    waiting = Inspection.objects.filter(result="", prescription__in=prescriptions_for_stations(request.user))
    return render(
        request, "decoction/inspections.html", {"waiting": waiting.select_related("prescription__patient")[:100]}
    )


@login_required
@require_POST
def inspection_save(request, pk):
    inspection = get_object_or_404(Inspection, pk=pk, prescription__in=prescriptions_for_stations(request.user))
    try:
        inspection_record(
            actor=request.user,
            inspection=inspection,
            result=request.POST.get("result", ""),
            notes=request.POST.get("notes", ""),
        )
        messages.success(request, _("Inspection recorded."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("stations:inspections")
