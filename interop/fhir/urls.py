"""The FHIR R4 read API under /fhir/ (interop/fhir, docs/interop-fhir.md). Paths follow FHIR's
REST conventions: no trailing slash, the resource type as written in FHIR."""

from django.urls import path, re_path

from . import views

app_name = "fhir"
urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    path("MedicationRequest", views.MedicationRequestSearchView.as_view(), name="medicationrequest-search"),
    path("MedicationRequest/<str:id>", views.MedicationRequestReadView.as_view(), name="medicationrequest-read"),
    # A regular expression, so the schema keeps the "$" of the operation's name in its path.
    re_path(
        r"^MedicationRequest/(?P<id>[^/]+)/\$everything$",
        views.EverythingView.as_view(),
        name="medicationrequest-everything",
    ),
    path("DetectedIssue/<str:id>", views.DetectedIssueReadView.as_view(), name="detectedissue-read"),
    path("MedicationDispense/<str:id>", views.MedicationDispenseReadView.as_view(), name="medicationdispense-read"),
    path("Task/<str:id>", views.TaskReadView.as_view(), name="task-read"),
    path("Provenance/<str:id>", views.ProvenanceReadView.as_view(), name="provenance-read"),
    path("Patient/<str:id>", views.PatientReadView.as_view(), name="patient-read"),
    path("Practitioner/<str:id>", views.PractitionerReadView.as_view(), name="practitioner-read"),
    path("Organization/<str:id>", views.OrganizationReadView.as_view(), name="organization-read"),
    path("CodeSystem/<str:id>", views.CodeSystemReadView.as_view(), name="codesystem-read"),
    # Anything else under /fhir/ (another resource type, a trailing slash): a 404 OperationOutcome.
    re_path(r"^(?P<path>.*)$", views.UnknownView.as_view(), name="unknown"),
]
