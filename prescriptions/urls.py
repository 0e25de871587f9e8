from django.urls import path

from . import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_edit, name="new"),
    path("<int:pk>/", views.patient_edit, name="edit"),
]
