from django.urls import path

from . import views

app_name = "outreach"
urlpatterns = [
    path("", views.schedule_page, name="schedule"),
    path("<str:code>/", views.township_page, name="township"),
    path("<str:code>/qr.svg", views.township_qr, name="township-qr"),
]
