from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import api as accounts_api
from accounts.forms import LoginForm
from audit.api import review as review_api
from audit.api import views as audit_api
from catalogue.api import views as catalogue_api
from constitution.api import views as constitution_api
from constitution.urls import invite_patterns as constitution_invite_patterns
from constitution.urls import patient_patterns as constitution_patient_patterns
from dashboards import views
from decoction.api import views as stations_api
from delivery.api import track as track_api
from delivery.api import views as delivery_api
from delivery.urls import tracking_patterns
from outreach.api import views as outreach_api
from patients.api import views as patients_api
from patients.urls import patient_patterns
from pipeline import api as pipeline_api
from pipeline import views as pipeline_views
from prescriptions.api import prescription_views
from prescriptions.urls import prescription_patterns
from teleconsult.api import views as teleconsult_api

handler404 = "core.api.not_found"

admin.site.site_header = _("County TCM Prescription Platform")
admin.site.site_title = _("County TCM Prescription Platform")

api_v1 = [
    path("herbs/", catalogue_api.HerbListView.as_view(), name="herb-list"),
    path("herbs/<int:pk>/", catalogue_api.HerbDetailView.as_view(), name="herb-detail"),
    path("stock/", catalogue_api.StockBatchListView.as_view(), name="stock-list"),
    path("formulas/", catalogue_api.FormulaListCreateView.as_view(), name="formula-list"),
    path("formulas/<int:pk>/", catalogue_api.FormulaDetailView.as_view(), name="formula-detail"),
    path("patients/", patients_api.PatientListCreateView.as_view(), name="patient-list"),
    path("patients/<int:pk>/", patients_api.PatientDetailView.as_view(), name="patient-detail"),
    path(
        "patients/<int:pk>/constitution/",
        constitution_api.PatientConstitutionView.as_view(),
        name="patient-constitution",
    ),
    path(
        "patients/<int:pk>/constitution/invite/",
        constitution_api.PatientConstitutionInviteView.as_view(),
        name="patient-constitution-invite",
    ),
    path(
        "constitution/questionnaire/",
        constitution_api.QuestionnaireView.as_view(),
        name="constitution-questionnaire",
    ),
    # The patient's own door by invitation token (a mini-program): no sign-in.
    path(
        "constitution/invites/<str:token>/",
        constitution_api.InviteQuestionnaireView.as_view(),
        name="constitution-invite",
    ),
    path("auth/token/", accounts_api.TokenObtainView.as_view(), name="auth-token"),
    path("prescriptions/", prescription_views.PrescriptionListCreateView.as_view(), name="prescription-list"),
    path(
        "prescriptions/precheck/", prescription_views.PrescriptionPrecheckView.as_view(), name="prescription-precheck"
    ),
    path("prescriptions/<int:pk>/", pipeline_api.PrescriptionDetailView.as_view(), name="prescription-detail"),
    path(
        "prescriptions/<int:pk>/cancel/",
        prescription_views.PrescriptionCancelView.as_view(),
        name="prescription-cancel",
    ),
    path(
        "prescriptions/<int:pk>/photos/", prescription_views.PrescriptionPhotoView.as_view(), name="prescription-photos"
    ),
    path(
        "prescriptions/<int:pk>/revise/",
        prescription_views.PrescriptionReviseView.as_view(),
        name="prescription-revise",
    ),
    path("prescriptions/<int:pk>/events/", pipeline_api.PrescriptionEventView.as_view(), name="prescription-events"),
    path("audit/queue/", audit_api.AuditQueueView.as_view(), name="audit-queue"),
    path("audit/batch-approve/", audit_api.AuditBatchApproveView.as_view(), name="audit-batch-approve"),
    path("audit/<int:pk>/claim/", audit_api.AuditClaimView.as_view(), name="audit-claim"),
    path("audit/<int:pk>/decision/", audit_api.AuditDecisionView.as_view(), name="audit-decision"),
    path("review/samples/", review_api.ReviewSampleListView.as_view(), name="review-samples"),
    path("review/samples/<int:pk>/score/", review_api.ReviewScoreView.as_view(), name="review-score"),
    path("review/checklist/", review_api.ReviewChecklistView.as_view(), name="review-checklist"),
    path("stations/", stations_api.StationListView.as_view(), name="station-list"),
    path("stations/<slug:code>/queue/", stations_api.StationQueueView.as_view(), name="station-queue"),
    path(
        "stations/<slug:code>/prescriptions/<int:pk>/",
        stations_api.StationSheetView.as_view(),
        name="station-sheet",
    ),
    path("delivery/waiting/", delivery_api.WaitingListView.as_view(), name="delivery-waiting"),
    path("delivery/runs/", delivery_api.RunListCreateView.as_view(), name="delivery-runs"),
    path("delivery/runs/<int:pk>/stops/", delivery_api.RunStopsView.as_view(), name="delivery-run-stops"),
    path("delivery/stops/<int:pk>/", delivery_api.StopStepView.as_view(), name="delivery-stop"),
    path("outreach/sessions/", outreach_api.SessionListCreateView.as_view(), name="outreach-sessions"),
    path("outreach/sessions/<int:pk>/", outreach_api.SessionDetailView.as_view(), name="outreach-session"),
    path(
        "outreach/sessions/<int:pk>/cancel/", outreach_api.SessionCancelView.as_view(), name="outreach-session-cancel"
    ),
    path(
        "outreach/townships/<str:code>/sessions/",
        outreach_api.TownshipSessionsView.as_view(),
        name="outreach-township-sessions",
    ),
    path("remote-consults/", teleconsult_api.RemoteConsultListCreateView.as_view(), name="remote-consults"),
    path("remote-consults/<int:pk>/", teleconsult_api.RemoteConsultDetailView.as_view(), name="remote-consult"),
    path(
        "remote-consults/<int:pk>/claim/", teleconsult_api.RemoteConsultClaimView.as_view(), name="remote-consult-claim"
    ),
    path(
        "remote-consults/<int:pk>/release/",
        teleconsult_api.RemoteConsultReleaseView.as_view(),
        name="remote-consult-release",
    ),
    path(
        "remote-consults/<int:pk>/question/",
        teleconsult_api.RemoteConsultQuestionView.as_view(),
        name="remote-consult-question",
    ),
    path(
        "remote-consults/<int:pk>/answer/",
        teleconsult_api.RemoteConsultAnswerView.as_view(),
        name="remote-consult-answer",
    ),
    path(
        "remote-consults/<int:pk>/advice/",
        teleconsult_api.RemoteConsultAdviceView.as_view(),
        name="remote-consult-advice",
    ),
    path(
        "remote-consults/<int:pk>/withdraw/",
        teleconsult_api.RemoteConsultWithdrawView.as_view(),
        name="remote-consult-withdraw",
    ),
    path(
        "remote-consults/<int:pk>/photos/",
        teleconsult_api.RemoteConsultPhotoListView.as_view(),
        name="remote-consult-photos",
    ),
    path(
        "remote-consults/<int:pk>/photos/<int:photo>/",
        teleconsult_api.RemoteConsultPhotoView.as_view(),
        name="remote-consult-photo",
    ),
    path(
        "remote-consults/<int:pk>/prescription/",
        teleconsult_api.RemoteConsultPrescriptionView.as_view(),
        name="remote-consult-prescription",
    ),
]

urlpatterns = [
    # The public tracking page first: it is the most requested URL (every scan of a QR code).
    path("t/", include((tracking_patterns, "tracking"))),
    path("api/v1/track/<str:token>/", track_api.TrackView.as_view(), name="api-track"),
    # The patient's constitution questionnaire, opened from a QR code the clinician shows.
    path("c/", include((constitution_invite_patterns, "constitution"))),
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    # The old delivery-times page, folded into the stages dashboard: bookmarks still land there.
    path(
        "dashboards/delivery-times/",
        RedirectView.as_view(pattern_name="dashboards:stages", permanent=True),
        name="delivery-times",
    ),
    path("dashboards/", include("dashboards.urls")),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path(
        "patients/",
        include(
            (
                # The portrait reads the patient's prescriptions, audits and deliveries: composed in
                # pipeline/, on the floor above them (patients/ may not import them).
                [
                    *patient_patterns,
                    *constitution_patient_patterns,
                    path("<int:pk>/portrait/", pipeline_views.patient_portrait_page, name="portrait"),
                ],
                "patients",
            )
        ),
    ),
    path(
        "prescriptions/",
        include(
            (
                [*prescription_patterns, path("<int:pk>/", pipeline_views.prescription_page, name="detail")],
                "prescriptions",
            )
        ),
    ),
    path("audit/", include("audit.urls")),
    path("stations/", include("decoction.urls")),
    path("delivery/", include("delivery.urls")),
    # The public visiting-expert schedule of a township: no sign-in, shared and printed as a poster.
    path("outreach/", include("outreach.urls")),
    path("remote-consults/", include("teleconsult.urls")),
    path("catalogue/", include("catalogue.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    # Standard doors for hospital systems (docs/interop.md): FHIR R4 reads and CDS Hooks order checks.
    path("fhir/", include("interop.fhir.urls")),
    path("", include("interop.cds.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]

# Uploaded files hold patients' photos: they are served by views that check permissions, never
# as public media.
