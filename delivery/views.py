"""The patient's tracking page (public, by token) and the courier's and pickup pages."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import has_capability
from core.addresses import client_address
from core.ids import parse_id, parse_ids
from core.input import load_json
from core.qr import qr_image
from prescriptions.exceptions import ConcurrentTransition, InvalidTransition
from prescriptions.models import Prescription, tracking_url
from prescriptions.selectors import prescriptions_for_stations
from prescriptions.services import prescription_record_step
from prescriptions.workflow import Stage

from .models import DeliveryStop
from .permissions import can_hand_over
from .selectors import open_runs_of, prescriptions_waiting_for_courier, stop_in_view, tracking_lookup
from .services import (
    RECORDERS,
    TRACK_CACHE_SECONDS,
    rate_limited_read,
    record_picked_up,
    run_create,
    stop_failed,
    track_cache_key,
    tracking_data,
    tracking_try,
    tracking_verify,
)


def not_found():
    """The site's Chinese 404 page, rendered without the request: the same bytes for every bad
    token (no path, no CSRF token), so nothing tells a revoked token from one that never existed."""
    response = HttpResponse(render_to_string("404.html"), status=404)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _public(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"  # a masked name and a stage: not kept on a shared phone
    response["Referrer-Policy"] = "no-referrer"
    return response


def _throttled(request, cached: str) -> tuple[HttpResponse | None, object]:
    """(A 429 response when this address asked too often this minute, else None; the cached value
    at `cached`, read in the same cache round trip)."""
    limited, value = rate_limited_read(
        "track", client_address(request), limit=settings.TRACK_RATE_PER_MINUTE, window=60, cached=cached
    )
    if limited:
        response = HttpResponse(_("Too many requests; try again in a minute."), status=429)
        response["Retry-After"] = "60"
        return response, None
    return None, value


@csrf_exempt  # public, no session; the form reveals data only for the right 4 digits, rate-limited
@require_http_methods(["GET", "POST"])
def track_page(request, token):
    """The patient's page: masked by default, the full prescription after the last 4 digits of
    the mobile. A wrong, revoked or malformed token gets the same plain 404."""
    key = track_cache_key("page", token, translation.get_language())
    throttled, html = _throttled(request, cached=key if request.method == "GET" else "")
    if throttled:
        return throttled
    if request.method == "GET":
        if html is None:
            prescription = tracking_lookup(token)
            if prescription is None:
                return not_found()
            html = render_to_string(
                "delivery/track.html", {"t": tracking_data(prescription, full=False), "token": token}, request=None
            )
            cache.set(key, html, TRACK_CACHE_SECONDS)
        return _public(HttpResponse(html))
    prescription = tracking_lookup(token)
    if prescription is None:
        return not_found()
    error = tries = ""
    try:
        verified, tries_left = tracking_try(
            prescription=prescription, last4=request.POST.get("last4", "").strip(), client=client_address(request)
        )
        if not verified:
            error, tries = _("Those are not the last 4 digits of the patient's mobile."), _tries_left(tries_left)
    except PermissionDenied as exc:
        verified, error = False, str(exc)
    html = render_to_string(
        "delivery/track.html",
        {"t": tracking_data(prescription, full=verified), "token": token, "error": error, "tries": tries},
    )
    return _public(HttpResponse(html, status=200 if verified or not error else 403))


def _tries_left(tries: int) -> str:
    if tries <= 0:
        return _("No tries left: please wait 15 minutes or call the clinic.")
    return _("Tries left: %(count)d.") % {"count": tries}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def track_json(request, token):
    """The same data and rules as the page: GET masked; POST {"last4": "1234"} full."""
    key = track_cache_key("json-text", token, translation.get_language())
    throttled, body = _throttled(request, cached=key if request.method == "GET" else "")
    if throttled:
        return throttled
    if request.method == "GET":
        if body is None:
            prescription = tracking_lookup(token)
            if prescription is None:
                return _public(JsonResponse({"detail": "Not found.", "errors": {}}, status=404))
            # Cached as the JSON text: a poll is then one cache read and no encoding.
            body = json.dumps(tracking_data(prescription, full=False), cls=DjangoJSONEncoder)
            cache.set(key, body, TRACK_CACHE_SECONDS)
        return _public(HttpResponse(body, content_type="application/json"))
    prescription = tracking_lookup(token)
    if prescription is None:
        return _public(JsonResponse({"detail": "Not found.", "errors": {}}, status=404))
    try:
        sent = load_json(request.body.decode()) if request.body else {}
        if not isinstance(sent, dict):
            raise ValueError("not an object")
        last4 = str(sent.get("last4", ""))
    except ValueError:  # not JSON, not an object, or refused by core.input
        return _public(JsonResponse({"detail": _("Send JSON."), "errors": {"last4": [_("Send JSON.")]}}, status=400))
    try:
        verified = tracking_verify(prescription=prescription, last4=last4, client=client_address(request))
    except PermissionDenied as exc:
        return _public(JsonResponse({"detail": str(exc), "errors": {}}, status=429))
    if not verified:
        return _public(
            JsonResponse(
                {
                    "detail": _("Those are not the last 4 digits of the patient's mobile."),
                    "errors": {"last4": [_("Wrong digits.")]},
                },
                status=403,
            )
        )
    return _public(JsonResponse(tracking_data(prescription, full=True)))


def track_qr(request, token, kind):
    """The tracking URL as a QR code (error correction M, quiet zone of 4 modules)."""
    if tracking_lookup(token) is None:
        return not_found()
    kind = "svg" if kind == "svg" else "png"
    content_type = "image/svg+xml" if kind == "svg" else "image/png"
    return _public(HttpResponse(qr_image(tracking_url(token), kind=kind), content_type=content_type))


# --- courier ------------------------------------------------------------------------------------------


def _courier(request):
    if not has_capability(request.user, "deliver"):
        raise PermissionDenied


def _runs_one_stop_each(user, chosen_pk):
    """Each open run with the one stop the page shows, and its neighbours for previous / next."""
    runs = []
    for run in open_runs_of(user):
        stops = list(run.stops.all())
        if not stops:
            continue
        index = stop_in_view(stops, chosen_pk)
        runs.append(
            {
                "run": run,
                "stop": stops[index],
                "index": index + 1,
                "count": len(stops),
                "previous": stops[index - 1] if index > 0 else None,
                "next": stops[index + 1] if index + 1 < len(stops) else None,
            }
        )
    return runs


@login_required
def courier_home(request):
    """One stop at a time: the current stop of each open run, large, with previous and next."""
    _courier(request)
    return render(
        request,
        "delivery/courier.html",
        {
            "waiting": prescriptions_waiting_for_courier(request.user),
            "runs": _runs_one_stop_each(request.user, parse_id(request.GET.get("stop", ""))),
        },
    )


@login_required
@require_POST
def courier_run_create(request):
    _courier(request)
    ids = parse_ids(request.POST.getlist("ids"))
    chosen = prescriptions_for_stations(request.user).filter(pk__in=ids)
    try:
        run_create(courier=request.user, prescriptions=chosen, area=request.POST.get("area", ""))
        messages.success(request, _("Run created."))
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    return redirect("delivery:courier")


@login_required
@require_POST
def courier_step(request, pk):
    """Shipped, delivered or not delivered, for one stop of the courier's open run."""
    _courier(request)
    stop = get_object_or_404(
        DeliveryStop.objects.select_related("prescription"), pk=pk, run__courier=request.user, run__is_open=True
    )
    action = request.POST.get("action")
    try:
        if action == "failed":
            stop_failed(actor=request.user, prescription=stop.prescription, reason=request.POST.get("reason", ""))
        elif action in (Stage.SHIPPED, Stage.DELIVERED):
            prescription_record_step(
                actor=request.user,
                prescription=stop.prescription,
                stage=action,
                data=dict(request.POST.items()),
                files=request.FILES,
                recorder=RECORDERS[action],
            )
        else:
            raise ValidationError(_("Unknown action."))
        messages.success(request, _("Recorded."))
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    except (InvalidTransition, ConcurrentTransition) as error:
        messages.error(request, error.message)
    else:
        if action != Stage.SHIPPED:  # done with this stop: the page moves on to the next one
            return redirect("delivery:courier")
    return redirect(f"{reverse('delivery:courier')}?stop={stop.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def pickup(request):
    """At the clinic: the prescription number and the patient's 6-digit pickup code."""
    if not can_hand_over(request.user):
        raise PermissionDenied
    if request.method == "POST":
        number = request.POST.get("number", "").strip().upper()
        prescription = (
            (
                prescriptions_for_stations(request.user)
                | Prescription.objects.filter(institution_id=request.user.institution_id)
            )
            .filter(number=number.split("-V")[0])
            .order_by("-version")
            .first()
        )
        try:
            if prescription is None:
                raise ValidationError(_("No such prescription."))
            prescription_record_step(
                actor=request.user,
                prescription=prescription,
                stage=Stage.PICKED_UP,
                data={"code": request.POST.get("code", "")},
                files={},
                recorder=record_picked_up,
            )
            messages.success(request, _("%(number)s handed over.") % {"number": prescription.display_number})
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except (InvalidTransition, ConcurrentTransition) as error:
            messages.error(request, error.message)
        return redirect("delivery:pickup")
    return render(request, "delivery/pickup.html")
