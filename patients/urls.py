from django.urls import path

from . import views

# Mounted by tcm_platform.urls under /patients/ with the namespace "patients".
patient_patterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_edit, name="new"),
    path("<int:pk>/", views.patient_edit, name="edit"),
]
