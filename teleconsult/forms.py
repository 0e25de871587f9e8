from django import forms
from django.utils.translation import gettext_lazy as _

from patients.models import Pregnancy

PHOTO_ATTRS = {"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}


class RequestForm(forms.Form):
    """Field shapes only; teleconsult.services checks the rules and reports errors per field."""

    routed_expert = forms.ChoiceField(label=_("Ask"), required=False)
    chief_complaint = forms.CharField(label=_("Chief complaint"), max_length=200)
    history = forms.CharField(
        label=_("Present illness and history"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tongue = forms.CharField(label=_("Tongue"), max_length=100, required=False)
    pulse = forms.CharField(label=_("Pulse"), max_length=100, required=False)
    temperature_c = forms.DecimalField(label=_("Temperature (°C)"), max_digits=3, decimal_places=1, required=False)
    systolic_mmhg = forms.IntegerField(label=_("Systolic pressure (mmHg)"), required=False)
    diastolic_mmhg = forms.IntegerField(label=_("Diastolic pressure (mmHg)"), required=False)
    heart_rate = forms.IntegerField(label=_("Heart rate (/min)"), required=False)
    respiration_rate = forms.IntegerField(label=_("Respiration (/min)"), required=False)
    weight_kg = forms.DecimalField(label=_("Weight (kg)"), max_digits=5, decimal_places=1, required=False)
    pregnancy = forms.ChoiceField(label=_("Pregnancy"), choices=Pregnancy.choices, initial=Pregnancy.UNKNOWN)
    tongue_photo = forms.FileField(label=_("Tongue photo"), required=False, widget=forms.FileInput(attrs=PHOTO_ATTRS))
    face_photo = forms.FileField(label=_("Face photo"), required=False, widget=forms.FileInput(attrs=PHOTO_ATTRS))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, hospitals=(), experts=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(f"h{h.pk}", _("Any expert of %(hospital)s") % {"hospital": h.name}) for h in hospitals]
        choices += [(str(e.pk), f"{e} · {e.institution.name}") for e in experts]
        self.fields["routed_expert"].choices = choices
        for name in ("temperature_c", "weight_kg"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"
        for name in ("systolic_mmhg", "diastolic_mmhg", "heart_rate", "respiration_rate"):
            self.fields[name].widget.attrs["inputmode"] = "numeric"

    def route(self) -> dict:
        """The routing the choice names: a hospital ("h<id>") or an expert ("<id>")."""
        choice = self.cleaned_data.get("routed_expert") or ""
        if choice.startswith("h"):
            return {"routed_institution": choice[1:], "routed_expert": None}
        return {"routed_institution": None, "routed_expert": choice or None}
