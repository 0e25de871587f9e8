from django.urls import path

from . import views

# Mounted by tcm_platform.urls: the patient's phone page under /c/ (namespace "constitution"),
# the clinician's pages inside the patients' namespace (/patients/<pk>/constitution/...).
invite_patterns = [
    path("<str:token>/", views.invite_page, name="invite"),
]

patient_patterns = [
    path("<int:pk>/constitution/", views.patient_constitution, name="constitution"),
    path("<int:pk>/constitution/assisted/", views.assisted_page, name="constitution-assisted"),
]
