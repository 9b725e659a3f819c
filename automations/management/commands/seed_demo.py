"""`manage.py seed_demo`: a demo org with an admin and a member, the sandbox ATS and two
sample automations. Safe to run again: it only adds what is missing."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organization
from automations.models import Automation
from automations.services import automation_create
from skills.models import Skill
from webhooks.sandbox_seed import seed_sandbox

ORG_SLUG = "demo"
USERS = {
    "admin": ("demo-admin", "demo-admin-pass", "admin@demo.skillomatic.test", "Dana", "Admin"),
    "member": (
        "demo-recruiter",
        "demo-recruiter-pass",
        "recruiter@demo.skillomatic.test",
        "Riley",
        "Recruiter",
    ),
}
# What each role may do in the Django admin (which rows they see is scoped by org).
GROUP_PERMS = {
    "Org admins": {
        "automations": ["view", "add", "change", "delete"],
        "accounts": ["view", "add", "change", "delete"],  # scoped to their orgs by the admin
        "delivery": ["view", "change"],
        "skills": ["view"],
        "webhooks": ["view"],
        "django_celery_beat": ["view"],
    },
    "Recruiters": {
        "automations": ["view"],
        "delivery": ["view", "change"],
        "skills": ["view"],
    },
}


def admin_groups_sync() -> dict[str, Group]:
    """The admin's permission groups ("Org admins", "Recruiters"), created if missing and
    given exactly the permissions of GROUP_PERMS, by name."""
    return {name: _group_sync(name, perms) for name, perms in GROUP_PERMS.items()}


def _group_sync(name: str, perms: dict[str, list[str]]) -> Group:
    group, _ = Group.objects.get_or_create(name=name)
    wanted = Permission.objects.none()
    for app_label, actions in perms.items():
        for action in actions:
            wanted = wanted | Permission.objects.filter(
                content_type__app_label=app_label, codename__startswith=f"{action}_"
            )
    group.permissions.set(wanted)
    return group


class Command(BaseCommand):
    help = "Create (or complete) the demo organization, its users, sandbox ATS and automations."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print nothing.")

    @transaction.atomic
    def handle(self, *args, quiet: bool = False, **options):
        groups = admin_groups_sync()
        org, _ = Organization.objects.get_or_create(
            slug=ORG_SLUG,
            defaults={
                "name": "Acme Talent (demo)",
                "plan": Organization.Plan.PRO,
                "time_zone": "America/Los_Angeles",
            },
        )
        users = {}
        for role, (username, password, email, first, last) in USERS.items():
            user, created = get_user_model().objects.get_or_create(
                username=username,
                defaults={"email": email, "first_name": first, "last_name": last, "is_staff": True},
            )
            if created:
                user.set_password(password)
                user.save()
            user.groups.add(groups["Org admins" if role == "admin" else "Recruiters"])
            Membership.objects.get_or_create(
                user=user,
                organization=org,
                defaults={
                    "role": Membership.Role.ADMIN if role == "admin" else Membership.Role.MEMBER
                },
            )
            users[role] = user
        applications = seed_sandbox(org, now=timezone.now())
        self._automation(
            org,
            users["member"],
            "Monday pipeline summary",
            "pipeline-report",
            cron_expression="0 9 * * 1",
            time_zone="America/Los_Angeles",
            channels=[{"kind": "in_app"}, {"kind": "email", "to": []}],
        )
        self._automation(
            org,
            users["admin"],
            "Weekday stale-candidate check",
            "stale-candidates",
            cron_expression="0 8 * * 1-5",
            time_zone="America/Los_Angeles",
            params={"days": 10},
            channels=[{"kind": "in_app"}],
        )
        if quiet:
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo org '{org.name}': {applications} sandbox applications, "
                f"{Automation.objects.filter(organization=org).count()} automations."
            )
        )
        for role, (username, password, *_rest) in USERS.items():
            self.stdout.write(f"  {role:7} login: {username} / {password}")
        self.stdout.write(
            f"Open {settings.SITE_URL}/ to sign in to the dashboard "
            f"(org admins also have the admin at {settings.SITE_URL}/admin/)."
        )

    def _automation(self, org, owner, name, skill_slug, **kwargs) -> None:
        if Automation.objects.filter(organization=org, name=name).exists():
            return
        automation_create(
            org=org,
            owner=owner,
            name=name,
            skill=Skill.objects.get(slug=skill_slug),
            trigger_type=Automation.TriggerType.CRON,
            **kwargs,
        )
