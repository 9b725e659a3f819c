from django.urls import path

from automations.ops import views

urlpatterns = [path("status", views.status, name="status")]
