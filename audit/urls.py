from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("batch-approve/", views.batch_approve, name="batch-approve"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
]
