import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import has_capability
from catalogue.models import SpecialDecoction
from core.ids import parse_id
from core.qr import qr_svg_inline
from patients.forms import PatientForm, add_service_errors
from patients.models import ConsultAttachment, ConsultMode, Pregnancy
from patients.permissions import patients_visible_to
from patients.selectors import patient_search
from patients.services import patient_create
from rules.data import CODES

from .filters import PrescriptionFilter
from .models import Prescription
from .selectors import (
    patient_recent_prescriptions,
    patients_recently_prescribed_by,
    prescription_detail,
    prescription_search,
    prescriptions_visible_to,
)
from .services.checking import age_years
from .workflow import Stage

# The Chinese title of each finding code, for the pages' scripts (the API keeps the code).
FINDING_TITLES = {code: title for code, (_severity, title) in CODES.items()}


def _require(request, capability):
    if not has_capability(request.user, capability):
        raise PermissionDenied


@login_required
def prescription_list(request):
    """The list with the API's filters; a bad value is an error beside its field and lists nothing."""
    _require(request, "view_patients")
    filters = PrescriptionFilter(request.GET, queryset=prescription_search(request.user), request=request)
    prescriptions = filters.qs if filters.is_valid() else filters.queryset.none()
    page = Paginator(prescriptions, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "prescriptions/prescription_list.html",
        {
            "page": page,
            "form": filters.form,
            "query": filters.form["q"].value() or "",
            "stages": Stage.choices,
            "can_prescribe": has_capability(request.user, "prescribe"),
        },
    )


@login_required
def attachment_file(request, pk):
    """A consult photo, only for users who may see its prescription."""
    _require(request, "view_patients")
    attachment = get_object_or_404(
        ConsultAttachment.objects.filter(consult__prescriptions__in=prescriptions_visible_to(request.user)).distinct(),
        pk=pk,
    )
    response = FileResponse(attachment.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"  # a patient's photo: never on disk
    return response


COMMON_USAGES = [
    "每日1剂，水煎分2次温服",
    "每日1剂，水煎分3次温服",
    "每日1剂，水煎分早晚2次饭后温服",
    "2日1剂，水煎分4次温服",
]
COMMON_DISEASES = [
    "感冒",
    "咳嗽",
    "胃脘痛",
    "泄泻",
    "便秘",
    "不寐",
    "头痛",
    "眩晕",
    "心悸",
    "胸痹",
    "痹证",
    "腰痛",
    "水肿",
    "淋证",
    "消渴",
    "月经不调",
    "痛经",
    "带下病",
    "湿疹",
    "虚劳",
]
COMMON_SYNDROMES = [
    "风寒束表",
    "风热犯表",
    "肝郁气滞",
    "脾胃虚弱",
    "肝郁脾虚",
    "气血两虚",
    "阴虚火旺",
    "痰湿内阻",
    "湿热下注",
    "瘀血阻络",
    "肾阳虚",
    "肾阴虚",
    "心脾两虚",
    "肝阳上亢",
]


@login_required
def prescription_editor(request, pk=None):
    """The editor page; the page itself submits to the API (prescriptions.services). Without a
    patient it first asks for one (search, recent patients, or register one and come back)."""
    _require(request, "prescribe")
    previous = None
    if pk:
        try:
            previous = prescription_detail(request.user, pk)
        except Prescription.DoesNotExist:
            raise Http404 from None
        if previous.status != Stage.REJECTED:
            messages.error(request, _("Only a rejected prescription can be revised."))
            return redirect("prescriptions:detail", pk=pk)
        patient = previous.patient
    elif request.method == "POST":
        return _register_patient(request)
    else:
        patient_id = parse_id(request.GET.get("patient", ""))
        patient = patients_visible_to(request.user).filter(pk=patient_id).first() if patient_id else None
        if patient is None:
            return _choose_patient(request)
    return render(request, "prescriptions/editor.html", editor_context(request, patient, previous=previous))


def editor_context(request, patient, *, previous=None, consult=None, submit_url="", heading="") -> dict:
    """What the editor page shows for `patient`: a new prescription, the revision of `previous`,
    or (from another app, e.g. a remote consult) one posted to `submit_url` with the findings of
    `consult` (a mapping of the consult's fields) filled in and the patient fixed."""
    history = patient_recent_prescriptions(request.user, patient)
    return {
        "patient": patient,
        "previous": previous,
        "consult": previous.consult if previous else consult,
        "fixed_patient": bool(previous or submit_url),
        "heading": heading,
        "submit_url": submit_url or (reverse("api:prescription-revise", args=[previous.pk]) if previous else ""),
        "idempotency_key": uuid.uuid4().hex,
        "initial": {"items": _editor_items(previous) if previous else []},
        "history": history,
        "copies": {str(p.pk): _copy_of(p) for p in history},
        "usages": COMMON_USAGES,
        "diseases": COMMON_DISEASES,
        "syndromes": COMMON_SYNDROMES,
        "instructions": SpecialDecoction.choices[1:],
        "consult_modes": ConsultMode.choices,
        "pregnancy_choices": Pregnancy.choices,
        "age": int(age_years(patient)),
        "finding_titles": FINDING_TITLES,
    }


def _register_patient(request):
    """The patient choice's registration form: register the patient at the user's institution
    (patients.services) and open the editor with them; errors at their fields, nothing saved."""
    _require(request, "manage_patients")
    form = PatientForm(request.POST)
    if form.is_valid():
        try:
            patient = patient_create(actor=request.user, values=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Patient registered."))
            return redirect(f"{reverse('prescriptions:new')}?patient={patient.pk}")
    return _choose_patient(request, register_form=form, status=400)


def _choose_patient(request, *, register_form=None, status=200):
    query = request.GET.get("q", "").strip()[:40]  # NUL and the like: refused by core.input first
    choices = patient_search(request.user, query)[:10] if query else patients_recently_prescribed_by(request.user)
    can_register = has_capability(request.user, "manage_patients")
    return render(
        request,
        "prescriptions/editor.html",
        {
            "patient": None,
            "query": query,
            "choices": choices,
            "can_register": can_register,
            "register_form": register_form or (PatientForm() if can_register else None),
        },
        status=status,
    )


def _editor_items(prescription) -> list[dict]:
    return [
        {"herb": i.written_name, "grams": f"{i.grams.normalize():f}", "instruction": i.instruction}
        for i in prescription.items.all()
    ]


def _copy_of(prescription) -> dict:
    """What "copy, then edit" puts into the editor: the herbs and how to take them."""
    return {
        "items": _editor_items(prescription),
        "doses": prescription.doses,
        "usage": prescription.usage,
        "decoction": prescription.decoction,
        "delivery": prescription.delivery,
        "tcm_disease": prescription.consult.tcm_disease,
        "tcm_syndrome": prescription.consult.tcm_syndrome,
    }


@login_required
def prescription_receipt(request, pk):
    """The patient's receipt with the tracking QR code, printed where the prescription was written
    or is handed over (a village clinic after a remote consult): anyone who may see it."""
    _require(request, "view_patients")
    try:
        prescription = prescription_detail(request.user, pk)
    except Prescription.DoesNotExist:
        raise Http404 from None
    url = prescription.tracking_url or ""
    return render(
        request,
        "prescriptions/receipt.html",
        {"prescription": prescription, "qr": qr_svg_inline(url) if url else "", "tracking_url": url},
    )
