from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView

from catalogue.api import views as catalogue_api
from prescriptions.api import views as prescriptions_api

from . import views

admin.site.site_header = _("County TCM Prescription Platform")
admin.site.site_title = _("County TCM Prescription Platform")

api_v1 = [
    path("herbs/", catalogue_api.HerbListView.as_view(), name="herb-list"),
    path("herbs/<int:pk>/", catalogue_api.HerbDetailView.as_view(), name="herb-detail"),
    path("stock/", catalogue_api.StockBatchListView.as_view(), name="stock-list"),
    path("patients/", prescriptions_api.PatientListCreateView.as_view(), name="patient-list"),
    path("patients/<int:pk>/", prescriptions_api.PatientDetailView.as_view(), name="patient-detail"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("patients/", include("prescriptions.urls")),
    path("catalogue/", include("catalogue.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
