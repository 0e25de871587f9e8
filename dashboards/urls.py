from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("volume/", views.volume, name="volume"),
    path("diagnoses/", views.diagnoses, name="diagnoses"),
    path("herbs/", views.herbs, name="herbs"),
    path("supervision/", views.supervision, name="supervision"),
    path("stages/", views.stages, name="stages"),
    path("inventory/", views.inventory, name="inventory"),
    path("quality/", views.quality, name="quality"),
    path("audit/", views.audit, name="audit"),
    path("review/", views.review, name="review"),
]
