from django.urls import path

from . import views

app_name = "stations"
urlpatterns = [
    path("", views.index, name="index"),
    path("inspections/", views.inspections, name="inspections"),
    path("inspections/<int:pk>/", views.inspection_save, name="inspection-save"),
    path("photos/<int:pk>/", views.station_photo, name="photo"),
    path("labels/<int:pk>/", views.labels, name="labels"),
    path("<slug:code>/", views.station_page, name="station"),
]
