from django.urls import path

from . import views

prescription_patterns = [
    path("", views.prescription_list, name="list"),
    path("new/", views.prescription_editor, name="new"),
    path("<int:pk>/revise/", views.prescription_editor, name="revise"),
    path("<int:pk>/receipt/", views.prescription_receipt, name="receipt"),
    path("photos/<int:pk>/", views.attachment_file, name="photo"),
]
