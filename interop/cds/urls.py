"""The CDS Hooks service under /cds-services (interop/cds): no trailing slash, the specification's
form (a POST is never redirected: both routes match as they are written)."""

from django.urls import path

from . import views

app_name = "cds"

urlpatterns = [
    path("cds-services", views.CdsDiscoveryView.as_view(), name="services"),
    path("cds-services/<str:service_id>", views.CdsServiceView.as_view(), name="service"),
]
