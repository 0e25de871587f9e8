from django.urls import path

from . import views

app_name = "catalogue"
urlpatterns = [
    path("herbs/", views.herb_list, name="herbs"),
    path("stock/", views.stock_list, name="stock"),
]
