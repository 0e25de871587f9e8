from django.urls import path

from . import views

app_name = "delivery"
urlpatterns = [
    path("", views.courier_home, name="courier"),
    path("runs/", views.courier_run_create, name="run-create"),
    path("stops/<int:pk>/", views.courier_step, name="stop"),
    path("pickup/", views.pickup, name="pickup"),
]

tracking_patterns = [
    path("<str:token>/", views.track_page, name="track"),
    path("<str:token>/qr.<str:kind>", views.track_qr, name="track-qr"),
]
