"""Who may do what in the admin (issue 10, section 2).

The matrix: five roles (superuser; admin of A; member of A; member of A and admin of B; staff
with no membership) against every registered ModelAdmin (read from `admin.site._registry`, so
a new model admin fails `test_every_model_admin_is_in_the_matrix` until it is described here)
and every page (changelist, change GET and POST, add GET and POST, delete GET and POST,
history, each action) on own and foreign objects. A refused request must answer 403 or the
admin's "does not exist" redirect and leave the object exactly as it was; nothing answers 500.

Then the issue's concrete attacks, each as a named test.
"""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from accounts.api_tokens import api_token_create
from accounts.models import AuditEvent, Membership, Organization
from automations.firing import run_fire
from automations.management.commands.seed_demo import admin_groups_sync
from automations.models import Automation
from delivery.models import Delivery, DeliveryChannel, Notification
from tests.factories import automation, skill
from webhooks.models import (
    AtsConnection,
    InboundEvent,
    SandboxApplication,
    SandboxCandidate,
    SandboxJob,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
ROLES = ["superuser", "admin_a", "member_a", "member_a_admin_b", "outsider"]

# The specification the matrix checks, written independently of the code under test.
SUPERUSER_ONLY = {
    "auth.user",
    "auth.group",
    "django_celery_beat.periodictask",
    "django_celery_beat.crontabschedule",
    "django_celery_beat.intervalschedule",
    "django_celery_beat.clockedschedule",
    "django_celery_beat.solarschedule",
    "accounts.apitoken",
}
GLOBAL_CATALOG = {"skills.skill"}  # readable by staff with the permission, written by superusers
ORG_PATH = {
    "accounts.organization": "",
    "accounts.membership": "organization",
    "accounts.auditevent": "organization",
    "automations.automation": "organization",
    "automations.automationrun": "organization",
    "delivery.notification": "organization",
    "delivery.deliverychannel": "organization",
    "delivery.delivery": "channel.organization",
    "webhooks.sandboxjob": "organization",
    "webhooks.sandboxcandidate": "organization",
    "webhooks.sandboxapplication": "organization",
    "webhooks.atsconnection": "organization",
    "webhooks.inboundevent": "connection.organization",
}
# Members see their own rows of these (read-only unless in OWNER_WRITES).
OWNER_PATH = {
    "accounts.membership": "user",
    "automations.automation": "owner",
    "automations.automationrun": "automation.owner",
    "delivery.notification": "user",
    "delivery.deliverychannel": "owner",
    "delivery.delivery": "channel.owner",
}
OWNER_WRITES = {"delivery.notification", "delivery.deliverychannel"}
# Written only by the services (accounts.audit): viewable at most, by anyone.
READ_ONLY = {"accounts.auditevent"}
# Where a row lives and whose it is: set once, never moved by anyone but a superuser.
FIXED = ("organization_id", "owner_id", "user_id", "connection_id", "channel_id", "kind")
COVERED = SUPERUSER_ONLY | GLOBAL_CATALOG | set(ORG_PATH)


def _path(obj, path: str):
    for part in filter(None, path.split(".")):
        obj = getattr(obj, part)
    return obj


def label_of(model) -> str:
    return model._meta.label_lower


def staff(username: str, group: Group | None = None, **fields):
    # No password: the tests log in with force_login, and hashing one costs seconds per user.
    user = User.objects.create(
        username=username, email=f"{username}@example.test", is_staff=True, **fields
    )
    if group is not None:
        user.groups.add(group)
    return user


def join(user, org, role):
    return Membership.objects.create(user=user, organization=org, role=role)


def org_objects(org, owner, tag: str) -> dict[str, models.Model]:
    """One of each org-owned row, owned by `owner` where rows have owners."""
    channel = DeliveryChannel.objects.create(
        organization=org,
        owner=owner,
        kind="email",
        name=f"Email {tag}",
        config={"to": [f"{tag}@example.test"]},
    )
    auto = automation(org=org, owner=owner, name=f"Auto {tag}", channels=[channel])
    run, _ = run_fire(automation=auto, key=f"manual:{tag}", triggered_by="manual", send=False)
    return {
        "accounts.membership": Membership.objects.get(user=owner, organization=org),
        "automations.automation": auto,
        "automations.automationrun": run,
        "delivery.deliverychannel": channel,
        "delivery.delivery": Delivery.objects.create(run=run, channel=channel),
        "delivery.notification": Notification.objects.create(
            organization=org, user=owner, title=f"Result {tag}", run=run
        ),
    }


def shared_org_objects(org, tag: str) -> dict[str, models.Model]:
    now = timezone.now()
    job = SandboxJob.objects.create(organization=org, name=f"Job {tag}", stages=["Screen"])
    candidate = SandboxCandidate.objects.create(
        organization=org, name=f"Cand {tag}", email=f"c-{tag}@example.test", sourced_at=now
    )
    connection = AtsConnection.objects.create(organization=org, provider="greenhouse", name=tag)
    return {
        "accounts.organization": org,
        "accounts.auditevent": AuditEvent.objects.create(
            organization=org,
            action="automation.pause",
            target_type="automation",
            target_label=f"Audited {tag}",
        ),
        "webhooks.sandboxjob": job,
        "webhooks.sandboxcandidate": candidate,
        "webhooks.sandboxapplication": SandboxApplication.objects.create(
            organization=org,
            candidate=candidate,
            job=job,
            stage="Screen",
            applied_at=now,
            last_activity_at=now,
        ),
        "webhooks.atsconnection": connection,
        "webhooks.inboundevent": InboundEvent.objects.create(
            connection=connection, delivery_id=f"d-{tag}", raw_type="candidate_hired"
        ),
    }


def make_staff(user, group: Group):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(group)
    return user


@pytest.fixture
def world(org, other_org, superuser, org_admin, owner, outsider, other_org_admin):
    """The shared people of tests/conftest.py as admin staff: org A's admin and its member
    (`owner`), B's admin, an outsider in no org holding the "Org admins" group, and one of our
    own: a plain member of A who administers B."""
    g = admin_groups_sync()
    org_a, org_b = org, other_org
    users = {
        "superuser": superuser,
        "admin_a": make_staff(org_admin, g["Org admins"]),
        "member_a": make_staff(owner, g["Recruiters"]),
        "member_a_admin_b": staff("member_a_admin_b", g["Org admins"]),
        "outsider": make_staff(outsider, g["Org admins"]),
    }
    boss_b = make_staff(other_org_admin, g["Org admins"])
    join(users["member_a_admin_b"], org_a, "member")
    join(users["member_a_admin_b"], org_b, "admin")

    objects: dict[str, dict[str, models.Model]] = {}
    for tag, org, owner in (
        ("A_member", org_a, users["member_a"]),
        ("A_admin", org_a, users["admin_a"]),
        ("B", org_b, boss_b),
    ):
        for label, obj in org_objects(org, owner, tag).items():
            objects.setdefault(label, {})[tag] = obj
    for tag, org in (("A", org_a), ("B", org_b)):
        for label, obj in shared_org_objects(org, tag).items():
            objects.setdefault(label, {})[tag] = obj
    b_auto = objects["automations.automation"]["B"]
    interval = IntervalSchedule.objects.create(every=10, period="minutes")
    objects.update(
        {
            "skills.skill": {"G": skill("pipeline-report")},
            "auth.user": {"G": boss_b},
            "auth.group": {"G": g["Recruiters"]},
            "accounts.apitoken": {"B": api_token_create(user=boss_b, name="B's token")[0]},
            "django_celery_beat.periodictask": {
                "B": b_auto.periodic_task,
                "system": PeriodicTask.objects.create(name="sys", task="x.y", interval=interval),
            },
            "django_celery_beat.crontabschedule": {"B": b_auto.periodic_task.crontab},
            "django_celery_beat.intervalschedule": {"G": interval},
            "django_celery_beat.clockedschedule": {
                "G": ClockedSchedule.objects.create(clocked_time=timezone.now())
            },
            "django_celery_beat.solarschedule": {
                "G": SolarSchedule.objects.create(event="sunrise", latitude=1, longitude=2)
            },
        }
    )
    return {"orgs": {"A": org_a, "B": org_b}, "users": users, "boss_b": boss_b, **objects}


# -- the specification ------------------------------------------------------------------------


def access(user, label: str, obj) -> str:
    """ "none", "view" or "write": what `user` may do to `obj` by the rules of issue 10."""
    if label in READ_ONLY:
        level = _access(user, label, obj)
        return "view" if level == "write" else level
    return _access(user, label, obj)


def _access(user, label: str, obj) -> str:
    if user.is_superuser:
        return "write"
    if label in SUPERUSER_ONLY:
        return "none"
    app, model = label.split(".")
    can_view = user.has_perm(f"{app}.view_{model}") or user.has_perm(f"{app}.change_{model}")
    can_change = user.has_perm(f"{app}.change_{model}")
    if not can_view:
        return "none"
    if label in GLOBAL_CATALOG:
        return "view"
    org = _path(obj, ORG_PATH[label])
    role = Membership.objects.filter(user=user, organization=org).values_list("role", flat=True)
    if "admin" in role:
        return "write" if can_change else "view"
    if role and label in OWNER_PATH and _path(obj, OWNER_PATH[label]) == user:
        return "write" if (label in OWNER_WRITES and can_change) else "view"
    return "none"


def is_admin_of(user, label: str, obj) -> bool:
    if label not in ORG_PATH:
        return False
    org = _path(obj, ORG_PATH[label])
    return Membership.objects.filter(user=user, organization=org, role="admin").exists()


def may_open_list(user, label: str) -> bool:
    if user.is_superuser:
        return True
    if label in SUPERUSER_ONLY:
        return False
    app, model = label.split(".")
    if not (user.has_perm(f"{app}.view_{model}") or user.has_perm(f"{app}.change_{model}")):
        return False
    if label in GLOBAL_CATALOG:
        return True
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    return "admin" in roles or (bool(roles) and label in OWNER_PATH)


def snapshot(obj) -> dict | None:
    """Every stored value of the row, and of what hangs off it that an attack would move."""
    fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
    if fresh is None:
        return None
    values = {f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields}
    if isinstance(fresh, Organization):
        values["memberships"] = sorted(fresh.memberships.values_list("user_id", "role"))
    if isinstance(fresh, Automation):
        values["channels"] = sorted(fresh.delivery_channels.values_list("pk", flat=True))
        values["task"] = PeriodicTask.objects.filter(pk=fresh.periodic_task_id).values().first()
        values["runs"] = fresh.runs.count()
    if isinstance(fresh, PeriodicTask | User):
        values["m2m"] = str(getattr(fresh, "groups", None) and list(fresh.groups.all()))
    return values


def hostile_data(obj, user, model_admin, to_org) -> dict:
    """A change/add POST that renames every free-text field, moves the row to `to_org` and
    gives it to `user`: what an attacker would send."""
    data = {}
    for f in obj._meta.concrete_fields:
        if f.primary_key or not f.editable:
            continue
        value = getattr(obj, f.attname)
        if isinstance(f, models.ForeignKey):
            if f.related_model is Organization and to_org is not None:
                value = to_org.pk
            elif f.related_model is User:
                value = user.pk
        elif isinstance(f, models.JSONField):
            value = json.dumps(value)
        elif isinstance(f, models.BooleanField):
            if value:
                continue  # an unchecked box is an absent key: switch it off
            value = "on"
        elif isinstance(f, models.CharField | models.TextField) and not f.choices:
            value = "HACKED"
        data[f.name] = "" if value is None else str(value)
    for inline in model_admin.get_inline_instances(_FakeRequest(user)):
        formset = inline.get_formset(_FakeRequest(user))
        prefix = formset.get_default_prefix()
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    if isinstance(obj, Automation):
        data["delivery_channels"] = [c.pk for c in DeliveryChannel.objects.all()]
    return data


class _FakeRequest:
    def __init__(self, user):
        self.user = user
        self.GET = {}
        self.POST = {}


def _refused(response) -> bool:
    """403, or the admin's redirect for an object the user cannot see."""
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response["Location"] == reverse("admin:index")


def _urls(label: str, pk=None) -> dict[str, str]:
    app, model = label.split(".")
    base = f"admin:{app}_{model}"
    urls = {"changelist": reverse(f"{base}_changelist"), "add": reverse(f"{base}_add")}
    if pk is not None:
        for page in ("change", "delete", "history"):
            urls[page] = reverse(f"{base}_{page}", args=[pk])
    return urls


# -- the matrix -------------------------------------------------------------------------------


def test_every_model_admin_is_in_the_matrix():
    registered = {label_of(model) for model in admin.site._registry}
    assert registered - COVERED == set(), "describe the new model admin in this matrix"


@pytest.mark.parametrize("role", ROLES)
def test_admin_isolation_matrix(client, world, role):
    user = world["users"][role]
    client.force_login(user)
    problems: list[str] = []

    def check(ok: bool, what: str):
        if not ok:
            problems.append(what)

    for model, model_admin in admin.site._registry.items():
        label = label_of(model)
        objects = world[label]
        urls = _urls(label)

        page = client.get(urls["changelist"])
        check(page.status_code != 500, f"{label} changelist: 500")
        if may_open_list(user, label):
            check(page.status_code == 200, f"{label} changelist: {page.status_code}, want 200")
            html = page.content.decode()
            for tag, obj in objects.items():
                link = _urls(label, obj.pk)["change"]
                if access(user, label, obj) == "none":
                    check(link not in html, f"{label} changelist shows {tag}")
        else:
            check(page.status_code == 403, f"{label} changelist: {page.status_code}, want 403")

        # Add: aimed at an org the user does not administer, it never creates a row there.
        admin_orgs = set(
            Organization.objects.filter(
                memberships__user=user, memberships__role="admin"
            ).values_list("pk", flat=True)
        )
        page = client.get(urls["add"])
        check(page.status_code != 500, f"{label} add GET: 500")
        if not user.is_superuser and not admin_orgs:
            check(page.status_code == 403, f"{label} add GET: {page.status_code}, want 403")
        template = next(iter(objects.values()))
        for target in world["orgs"].values():
            if user.is_superuser or target.pk in admin_orgs or label not in ORG_PATH:
                continue
            org_filter = {ORG_PATH[label].replace(".", "__") or "pk": target.pk}
            before = model._default_manager.filter(**org_filter).count()
            response = client.post(urls["add"], hostile_data(template, user, model_admin, target))
            check(response.status_code != 500, f"{label} add POST to {target}: 500")
            after = model._default_manager.filter(**org_filter).count()
            check(before == after, f"{label} add POST created a row in {target}")

        for tag, obj in objects.items():
            if snapshot(obj) is None:
                continue  # deleted earlier in this test by a cascade the user was allowed
            level = access(user, label, obj)
            urls = _urls(label, obj.pk)
            where = f"{label} {tag} ({level})"
            for page_name in ("change", "history"):
                page = client.get(urls[page_name])
                if level == "none":
                    check(_refused(page), f"{where} {page_name} GET: {page.status_code}")
                else:
                    check(page.status_code == 200, f"{where} {page_name}: {page.status_code}")

            before = snapshot(obj)
            own_org = next(iter(Organization.objects.filter(pk__in=admin_orgs)), None)
            response = client.post(urls["change"], hostile_data(obj, user, model_admin, own_org))
            check(response.status_code != 500, f"{where} change POST: 500")
            if level != "write":
                check(_refused(response), f"{where} change POST: {response.status_code}")
                check(snapshot(obj) == before, f"{where} change POST changed it")
            elif not user.is_superuser:
                after = snapshot(obj) or {}
                for name in FIXED:
                    if name in before:
                        check(after.get(name) == before[name], f"{where} change POST moved {name}")

            for action, *_ in model_admin._get_base_actions():
                before = snapshot(obj)
                response = client.post(
                    urls["changelist"],
                    {"action": action, "_selected_action": [obj.pk], "post": "yes"},
                )
                check(response.status_code != 500, f"{where} action {action}: 500")
                if level != "write":
                    check(snapshot(obj) == before, f"{where} action {action} changed it")

            may_delete = level == "write" and (user.is_superuser or is_admin_of(user, label, obj))
            for method in ("get", "post"):
                before = snapshot(obj)
                response = getattr(client, method)(urls["delete"], {"post": "yes"})
                check(response.status_code != 500, f"{where} delete {method}: 500")
                if not may_delete:
                    check(_refused(response), f"{where} delete {method}: {response.status_code}")
                    check(snapshot(obj) == before, f"{where} delete {method} changed it")

    assert not problems, "\n".join(problems)


# -- the attacks, one by one ----------------------------------------------------------


def _admin_url(obj, page="change"):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_{page}", args=[obj.pk])


def _org_form(org, **overrides):
    data = {
        "name": org.name,
        "time_zone": org.time_zone,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    data["approval_policy"] = org.approval_policy
    # The LLM settings, as the page renders them (an unticked box is not sent).
    if org.llm_enabled:
        data["llm_enabled"] = "on"
    data["llm_monthly_budget_usd"] = org.llm_monthly_budget_usd or ""
    data["llm_when_unavailable"] = org.llm_when_unavailable
    data["llm_models"] = json.dumps(org.llm_models)
    data.update(overrides)
    return data


def _inline_rows(org) -> dict:
    rows = list(org.memberships.order_by("pk"))
    data = {"memberships-TOTAL_FORMS": str(len(rows)), "memberships-INITIAL_FORMS": str(len(rows))}
    for i, m in enumerate(rows):
        data.update(
            {
                f"memberships-{i}-id": str(m.pk),
                f"memberships-{i}-organization": str(org.pk),
                f"memberships-{i}-role": m.role,
            }
        )
    return data, rows


def test_member_of_b_cannot_promote_self_to_admin_of_b_via_a_pages(client, world):
    """admin_a joins B as a plain member, then tries every way through A's pages."""
    attacker, org_a, org_b = world["users"]["admin_a"], world["orgs"]["A"], world["orgs"]["B"]
    mine_in_b = join(attacker, org_b, "member")
    colleague = Membership.objects.get(user=world["users"]["member_a"], organization=org_a)
    client.force_login(attacker)

    # Their own membership of B: visible (it is theirs), never changeable.
    response = client.post(_admin_url(mine_in_b), {"role": "admin"})
    assert response.status_code == 403
    # A colleague's membership of A, moved to B, given to themselves, made admin.
    client.post(
        _admin_url(colleague),
        {"organization": org_b.pk, "user": attacker.pk, "role": "member"},
    )
    colleague.refresh_from_db()
    assert (colleague.organization, colleague.user) == (org_a, world["users"]["member_a"])
    # A new membership of B through the Membership add page.
    page = client.post(
        reverse("admin:accounts_membership_add"),
        {"organization": org_b.pk, "invite": attacker.username, "role": "admin"},
    )
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()
    # The B membership smuggled into A's membership inline.
    data, rows = _inline_rows(org_a)
    n = len(rows)
    data.update(
        {
            "memberships-TOTAL_FORMS": str(n + 1),
            "memberships-INITIAL_FORMS": str(n + 1),
            f"memberships-{n}-id": str(mine_in_b.pk),
            f"memberships-{n}-organization": str(org_b.pk),
            f"memberships-{n}-role": "admin",
        }
    )
    response = client.post(_admin_url(org_a), {**_org_form(org_a), **data})
    assert response.status_code in (200, 302)
    mine_in_b.refresh_from_db()
    assert mine_in_b.role == "member" and mine_in_b.organization == org_b


def test_admin_of_a_cannot_rename_b_or_switch_off_its_approval_policy(client, world):
    attacker, org_a, org_b = world["users"]["admin_a"], world["orgs"]["A"], world["orgs"]["B"]
    join(attacker, org_b, "member")
    Organization.objects.filter(pk=org_b.pk).update(approval_policy="all")
    org_b.refresh_from_db()
    client.force_login(attacker)

    response = client.post(_admin_url(org_b), _org_form(org_b, name="Taken"))
    del_response = client.post(_admin_url(org_b, "delete"), {"post": "yes"})
    assert _refused(response) and _refused(del_response)
    org_b.refresh_from_db()
    assert (org_b.name, org_b.approval_policy) == ("Org B", "all")
    # Their own org: name and policy yes, plan and slug no.
    response = client.post(
        _admin_url(org_a), _org_form(org_a, name="A renamed", plan="free", slug="stolen")
    )
    assert response.status_code == 302
    org_a.refresh_from_db()
    assert org_a.name == "A renamed" and org_a.plan == "pro" and org_a.slug != "stolen"


def test_admin_of_a_cannot_take_b_channels(client, world, mailoutbox):
    attacker, org_a = world["users"]["admin_a"], world["orgs"]["A"]
    join(attacker, world["orgs"]["B"], "member")
    theirs = world["delivery.deliverychannel"]["B"]
    before = snapshot(theirs)
    client.force_login(attacker)

    response = client.post(
        _admin_url(theirs),
        {"organization": org_a.pk, "owner": attacker.pk, "kind": "email", "name": "Mine now"},
    )
    assert _refused(response)  # visible to no one but B's admins
    client.post(
        reverse("admin:delivery_deliverychannel_changelist"),
        {"action": "send_test", "_selected_action": [theirs.pk]},
    )
    assert snapshot(theirs) == before and mailoutbox == []
    # Nor through an automation of A.
    page = client.post(
        _admin_url(world["automations.automation"]["A_admin"]),
        {
            **_automation_form(world["automations.automation"]["A_admin"]),
            "delivery_channels": [theirs.pk],
        },
    )
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()


def test_membership_inline_cannot_move_another_orgs_admin_into_own_org(client, world):
    admin_a, org_a, boss_b = world["users"]["admin_a"], world["orgs"]["A"], world["boss_b"]
    client.force_login(admin_a)
    data, rows = _inline_rows(org_a)
    # Existing rows: point each at B's admin.
    for i in range(len(rows)):
        data[f"memberships-{i}-user"] = str(boss_b.pk)
    response = client.post(_admin_url(org_a), {**_org_form(org_a), **data})
    assert response.status_code == 302
    assert sorted(org_a.memberships.values_list("pk", "user_id")) == sorted(
        (m.pk, m.user_id) for m in rows
    )
    # A new row naming B's admin, by username and by email: the same refusal as a stranger's.
    for name in (boss_b.username, boss_b.email, "nobody-at-all"):
        data, rows = _inline_rows(org_a)
        n = len(rows)
        data.update(
            {
                "memberships-TOTAL_FORMS": str(n + 1),
                f"memberships-{n}-invite": name,
                f"memberships-{n}-role": "admin",
            }
        )
        page = client.post(_admin_url(org_a), {**_org_form(org_a), **data})
        assert page.status_code == 200
        assert "No user you can invite" in page.content.decode()
    assert not boss_b.memberships.filter(organization=org_a).exists()
    # Someone in no org is invited; the last admin cannot step down.
    newcomer = User.objects.create(username="newcomer", email="new@example.test")
    data, rows = _inline_rows(org_a)
    n = len(rows)
    data.update(
        {
            "memberships-TOTAL_FORMS": str(n + 1),
            f"memberships-{n}-invite": "NEW@example.test",
            f"memberships-{n}-role": "member",
        }
    )
    assert client.post(_admin_url(org_a), {**_org_form(org_a), **data}).status_code == 302
    assert newcomer.memberships.get().organization == org_a
    data, rows = _inline_rows(org_a)
    me = next(i for i, m in enumerate(rows) if m.user_id == admin_a.pk)
    data[f"memberships-{me}-role"] = "member"
    page = client.post(_admin_url(org_a), {**_org_form(org_a), **data})
    assert page.status_code == 200 and "last admin" in page.content.decode()
    assert Membership.objects.get(user=admin_a, organization=org_a).role == "admin"


def test_membership_admin_keeps_the_last_admin_and_other_orgs_out(client, world):
    admin_a, org_a = world["users"]["admin_a"], world["orgs"]["A"]
    mine = Membership.objects.get(user=admin_a, organization=org_a)
    client.force_login(admin_a)
    response = client.post(_admin_url(mine, "delete"), {"post": "yes"})
    assert response.status_code == 302  # back to the page, with the reason
    response = client.post(
        reverse("admin:accounts_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [mine.pk], "post": "yes"},
    )
    assert Membership.objects.filter(pk=mine.pk).exists()
    page = client.post(_admin_url(mine), {"role": "member"})
    assert page.status_code == 200 and "last admin" in page.content.decode()
    mine.refresh_from_db()
    assert mine.role == "admin"
    # B's memberships are out of reach, whatever the id.
    theirs = Membership.objects.get(user=world["boss_b"])
    assert _refused(client.post(_admin_url(theirs), {"role": "member"}))
    assert _refused(client.post(_admin_url(theirs, "delete"), {"post": "yes"}))
    theirs.refresh_from_db()
    assert theirs.role == "admin"


def test_recruiter_cannot_edit_the_admins_email_channel_or_send_its_test(client, world, mailoutbox):
    recruiter = world["users"]["member_a"]
    admins_channel = world["delivery.deliverychannel"]["A_admin"]
    own_channel = world["delivery.deliverychannel"]["A_member"]
    before = snapshot(admins_channel)
    client.force_login(recruiter)

    response = client.post(
        _admin_url(admins_channel), {"name": "Mine", "owner": recruiter.pk, "kind": "email"}
    )
    assert _refused(response)
    client.post(
        reverse("admin:delivery_deliverychannel_changelist"),
        {"action": "send_test", "_selected_action": [admins_channel.pk]},
    )
    assert snapshot(admins_channel) == before and mailoutbox == []
    # The one rule, whatever the surface.
    from django.core.exceptions import PermissionDenied

    from delivery.services import channel_send_test

    with pytest.raises(PermissionDenied):
        channel_send_test(channel=admins_channel, by=recruiter)
    assert mailoutbox == []
    # Their own channel: renamed through the service; org, owner and kind stay.
    response = client.post(
        _admin_url(own_channel),
        {"name": "Renamed", "owner": world["users"]["admin_a"].pk, "kind": "webhook"},
    )
    assert response.status_code == 302
    own_channel.refresh_from_db()
    assert (own_channel.name, own_channel.owner, own_channel.kind) == (
        "Renamed",
        recruiter,
        "email",
    )
    client.post(
        reverse("admin:delivery_deliverychannel_changelist"),
        {"action": "send_test", "_selected_action": [own_channel.pk]},
    )
    assert [m.to for m in mailoutbox] == [["A_member@example.test"]]


def test_view_only_user_cannot_run_disable_tasks_on_an_automations_periodic_task(client, world):
    viewer = world["users"]["admin_a"]  # holds django_celery_beat view through "Org admins"
    assert viewer.has_perm("django_celery_beat.view_periodictask")
    task = world["automations.automation"]["A_admin"].periodic_task
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    client.force_login(viewer)
    for action in ("disable_tasks", "toggle_tasks", "run_tasks"):
        response = client.post(url, {"action": action, "_selected_action": [task.pk]})
        assert response.status_code == 403
    task.refresh_from_db()
    assert task.enabled
    # Even a superuser's actions leave an automation's own record alone (the system's are theirs).
    system = world["django_celery_beat.periodictask"]["system"]
    client.force_login(world["users"]["superuser"])
    client.post(url, {"action": "disable_tasks", "_selected_action": [task.pk, system.pk]})
    task.refresh_from_db()
    system.refresh_from_db()
    assert task.enabled and system.enabled
    client.post(url, {"action": "disable_tasks", "_selected_action": [system.pk]})
    system.refresh_from_db()
    assert not system.enabled
    assert client.get(_admin_url(task)).status_code == 200  # read-only, with its automation
    assert _refused(client.post(_admin_url(task, "delete"), {"post": "yes"}))


def test_crontab_schedule_pages_do_not_show_other_orgs_task_names(client, world):
    b_auto = world["automations.automation"]["B"]
    crontab = b_auto.periodic_task.crontab
    client.force_login(world["users"]["admin_a"])
    for url in (
        reverse("admin:django_celery_beat_crontabschedule_changelist"),
        _admin_url(crontab),
        reverse("admin:django_celery_beat_periodictask_changelist"),
        reverse("admin:index"),
    ):
        page = client.get(url)
        assert b_auto.periodic_task.name not in page.content.decode()
        assert page.status_code in (200, 403)
        if url != reverse("admin:index"):
            assert page.status_code == 403


def _automation_form(auto, **overrides):
    data = {
        "name": auto.name,
        "skill": auto.skill_id,
        "params": json.dumps(auto.params),
        "trigger_type": auto.trigger_type,
        "cron_expression": auto.cron_expression,
        "time_zone": auto.time_zone,
        "event_type": auto.event_type,
        "event_filter": json.dumps(auto.event_filter),
        "offset_minutes": "",
        "poll_interval_seconds": "",
        "delivery_channels": [c.pk for c in auto.delivery_channels.all()],
        "catch_up": auto.catch_up,
        "retry_limit": str(auto.retry_limit),
        "runs-TOTAL_FORMS": "0",
        "runs-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_admin_form_the_service_refuses_answers_200_with_the_error_beside_the_field(client, world):
    org_a = world["orgs"]["A"]
    Organization.objects.filter(pk=org_a.pk).update(plan="free")
    auto = world["automations.automation"]["A_admin"]
    before = snapshot(auto)
    client.force_login(world["users"]["admin_a"])
    page = client.post(_admin_url(auto), _automation_form(auto, cron_expression="0 * * * *"))
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "at most once a day" in str(errors)  # the plan's rule (about the whole schedule)
    assert snapshot(auto) == before
    # Only the service knows these (the form takes any integer, any text): beside the field.
    page = client.post(_admin_url(auto), _automation_form(auto, event_filter="[1]"))
    assert page.status_code == 200
    assert "JSON object" in " ".join(page.context["adminform"].form.errors["event_filter"])
    assert snapshot(auto) == before
    page = client.post(_admin_url(auto), _automation_form(auto, cron_expression="0 9 * *"))
    assert page.status_code == 200
    assert "5 fields" in " ".join(page.context["adminform"].form.errors["cron_expression"])
    assert snapshot(auto) == before
    # The same on the add page, and a channel the service refuses lands on its own field.
    page = client.post(
        reverse("admin:automations_automation_add"),
        {
            **_automation_form(auto, name="New one", cron_expression="*/5 * * * *"),
            "organization": org_a.pk,
            "owner": world["users"]["admin_a"].pk,
        },
    )
    assert page.status_code == 200
    assert "at most once a day" in str(page.context["adminform"].form.errors)
    assert not Automation.objects.filter(name="New one").exists()


def test_run_now_checks_who_asks(client, world):
    from django.core.exceptions import PermissionDenied, ValidationError

    from automations.services import automation_run_now

    admins_auto = world["automations.automation"]["A_admin"]
    client.force_login(world["users"]["member_a"])  # sees the automation list, not this row
    client.post(
        reverse("admin:automations_automation_changelist"),
        {"action": "run_now", "_selected_action": [admins_auto.pk]},
    )
    assert admins_auto.runs.count() == 1  # only the fixture's run
    with pytest.raises(PermissionDenied):
        automation_run_now(automation=admins_auto, by=world["users"]["outsider"])
    own = world["automations.automation"]["A_member"]
    Automation.objects.filter(pk=own.pk).update(status=Automation.Status.PENDING_APPROVAL)
    own.refresh_from_db()
    with pytest.raises(ValidationError):
        automation_run_now(automation=own, by=world["users"]["member_a"])
    run = automation_run_now(automation=own, by=world["users"]["admin_a"])
    assert (
        run.triggered_by == "manual" and run.trigger_data["by_user"] == world["users"]["admin_a"].pk
    )
