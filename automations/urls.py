from django.urls import path

from automations import views

urlpatterns = [
    path("runs/<uuid:public_id>/", views.run_detail, name="run-detail"),
]
