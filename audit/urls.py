from django.urls import path

from . import views
from .review import views as review_views

app_name = "audit"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("batch-approve/", views.batch_approve, name="batch-approve"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("review/", review_views.review_list, name="review"),
    path("review/<int:pk>/", review_views.review_detail, name="review-detail"),
]
