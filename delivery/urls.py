from django.urls import path

from delivery import views

urlpatterns = [
    path(
        "email/unsubscribe/<str:token>/",
        views.email_unsubscribe_view,
        name="email-unsubscribe",
    ),
]
