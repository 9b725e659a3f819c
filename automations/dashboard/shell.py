"""Signing in and out, the profile (the user's own time zone), the org switcher, and home."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.models import TIME_ZONE_MAX_LENGTH, time_zone_names
from accounts.profile import org_switch, profile_for, profile_update
from automations.dashboard.access import back_to, dashboard_page


class SignInView(auth_views.LoginView):
    template_name = "dashboard/sign_in.html"
    redirect_authenticated_user = True


class ProfileForm(forms.Form):
    time_zone = forms.CharField(
        required=False,
        max_length=TIME_ZONE_MAX_LENGTH,
        label="Your time zone",
        help_text="Times are shown in this zone. Leave empty to use your organization's.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )


@dashboard_page
def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard:automations")


@require_POST
@dashboard_page(org_required=False)
def sign_out(request: HttpRequest) -> HttpResponse:
    return auth_views.LogoutView.as_view(next_page="dashboard:sign-in")(request)


@dashboard_page(org_required=False)
def profile(request: HttpRequest) -> HttpResponse:
    current = profile_for(user=request.user)
    form = ProfileForm(request.POST or None, initial={"time_zone": current.time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            profile_update(user=request.user, time_zone=form.cleaned_data["time_zone"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, "Saved. Times are now shown in your chosen zone.")
            return redirect("dashboard:profile")
    return render(
        request,
        "dashboard/profile.html",
        {"form": form, "zones": time_zone_names()},
        status=422 if form.errors else 200,
    )


@require_POST
@dashboard_page
def switch_org(request: HttpRequest) -> HttpResponse:
    try:
        org = org_switch(user=request.user, org_public_id=request.POST.get("org", ""))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("dashboard:home")
    messages.success(request, f"Now working in {org.name}.")
    # Back to the page it was switched from.
    return back_to(request, fallback=reverse("dashboard:home"))


urls = [
    path("", home, name="home"),
    path("sign-in/", SignInView.as_view(), name="sign-in"),
    path("sign-out/", sign_out, name="sign-out"),
    path("profile/", profile, name="profile"),
    path("org/switch/", switch_org, name="switch-org"),
]
