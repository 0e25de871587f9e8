from django.urls import path

from . import views

app_name = "teleconsult"
urlpatterns = [
    path("", views.consult_list, name="list"),
    path("new/", views.consult_new, name="new"),
    path("<int:pk>/", views.consult_detail, name="detail"),
    path("<int:pk>/prescribe/", views.consult_prescribe, name="prescribe"),
]
