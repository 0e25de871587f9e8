from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Patient


class PatientForm(forms.ModelForm):
    """Field shapes only; patients.services checks the rules and reports errors per field."""

    allergies = forms.CharField(
        label=_("Herb allergies"), required=False, help_text=_("Herb names separated by 、 or spaces, e.g. 白芍、甘草")
    )
    sex = forms.ChoiceField(
        label=_("Sex"),
        choices=[("", _("(from the ID number)"))] + list(Patient._meta.get_field("sex").choices),
        required=False,
    )
    # A date input reads and writes only ISO dates (YYYY-MM-DD), whatever the page's language;
    # the localised format (zh-hans: 1980/05/17) leaves it blank.
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    mobile = forms.CharField(label=_("Mobile"), max_length=20)

    class Meta:
        model = Patient
        fields = [
            "name",
            "id_number",
            "sex",
            "date_of_birth",
            "mobile",
            "township",
            "address",
            "allergies",
            "allergy_notes",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allergies"] = "、".join(herb.name for herb in self.instance.allergies.all())
        self.fields["id_number"].widget.attrs.update({"autocomplete": "off", "inputmode": "text"})
        self.fields["mobile"].widget.attrs.update({"inputmode": "tel"})
        self.fields["name"].widget.attrs.update({"autofocus": True})

    def _post_clean(self):
        # Validation of the model happens in the service, which reports per-field errors.
        pass


def add_service_errors(form, error: ValidationError):
    """Show a service's ValidationError at the fields it names (the rest at the top of the form)."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)
