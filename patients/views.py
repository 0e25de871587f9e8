from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import has_capability

from .filters import PatientFilter
from .forms import PatientForm, add_service_errors
from .permissions import patients_visible_to
from .selectors import patient_history, patient_search
from .services import patient_create, patient_update


def _require(request, capability):
    if not has_capability(request.user, capability):
        raise PermissionDenied


@login_required
def patient_list(request):
    _require(request, "view_patients")
    filters = PatientFilter(request.GET, queryset=patient_search(request.user), request=request)
    patients = filters.qs if filters.is_valid() else filters.queryset.none()
    page = Paginator(patients, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "patients/patient_list.html",
        {
            "page": page,
            "form": filters.form,
            "query": filters.form["q"].value() or "",
            "can_manage": has_capability(request.user, "manage_patients"),
            "can_prescribe": has_capability(request.user, "prescribe"),
        },
    )


@login_required
def patient_edit(request, pk=None):
    _require(request, "manage_patients")
    patient = get_object_or_404(patients_visible_to(request.user), pk=pk) if pk else None
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            if patient:
                patient_update(actor=request.user, patient=patient, values=form.cleaned_data)
                messages.success(request, _("Patient saved."))
            else:
                patient = patient_create(actor=request.user, values=form.cleaned_data)
                messages.success(request, _("Patient registered."))
                if request.GET.get("then") == "prescribe" and has_capability(request.user, "prescribe"):
                    # Registered from the editor's patient choice: back to the editor, patient chosen.
                    return redirect(f"{reverse('prescriptions:new')}?patient={patient.pk}")
            return redirect("patients:list")
        except ValidationError as error:
            add_service_errors(form, error)
    history = patient_history(patient) if patient else []
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient, "history": history})
