"""Bad input to the services, the admin form and the commands: always one field-keyed
ValidationError (or exit status 2 and a one-line message), never a raw TypeError,
OverflowError, OSError or ValueError, and nothing written."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import validate_time_zone
from automations import services
from automations.models import Automation
from automations.scheduling import cron
from delivery.channel_services import channel_from_spec
from delivery.models import DeliveryChannel
from tests.factories import OrganizationFactory, automation, member, skill

ROOT = Path(__file__).resolve().parent.parent

BAD_ZONES = [
    "A" * 5000,  # OSError (file name too long) from ZoneInfo
    "A" * 300,
    "localtime",  # the host's zone: differs per machine
    "right/UTC",
    "posix/UTC",
    "posix/America/New_York",
    "posixrules",
    "Factory",
    "",
    None,
    123,
    ["UTC"],
    "../../etc/passwd",
    "/etc/localtime",
    "America/../Europe/Paris",
    "UTC\x00",
    "Nowhere/Town",
]

# (trigger fields, field, bad value): each must give one error on that field.
POLL = {"trigger_type": "poll"}
RELATIVE = {"trigger_type": "relative"}
EVENT = {"trigger_type": "event"}
CRON = {"trigger_type": "cron"}
CASES = [
    *[
        (POLL, "poll_interval_seconds", value)
        for value in ["100", 10**12, 2**63, -5, 0, 59, True, 1.5, 900.0, None, [900]]
    ],
    *[
        (RELATIVE, "offset_minutes", value)
        for value in ["abc", "-30", 2**63, 10**12, -(10**12), True, 1.5, None, {}]
    ],
    *[
        (CRON, "cron_expression", value)
        for value in [123, ["0 9 * * *"], "0 9 * * *" + " " * 10_000, "9" * 10_000, None]
    ],
    *[(CRON, "time_zone", zone) for zone in BAD_ZONES if zone is not None],
    *[(EVENT, "event_type", value) for value in [123, "x" * 81, ["ats.offer.created"], None]],
    *[(CRON, "name", value) for value in ["x" * 201, 123, "", "   ", None, "a\x00b"]],
    *[(CRON, "retry_limit", value) for value in ["3", 11, -1, True, 2**63, 1.0, None]],
    *[(CRON, "catch_up", value) for value in ["never", ["latest"], None, 1]],
    *[
        (EVENT, "event_filter", value)
        for value in ["abc", [1], {"stage.to": {"in": "x"}}, {"a": float("nan")}]
    ],
    *[(CRON, "params", value) for value in ["abc", [1], {"x": float("inf")}, {"a": {1, 2}}]],
    *[(CRON, "trigger_type", value) for value in [["cron"], 123, "weekly"]],
    *[(CRON, "skill", value) for value in ["pipeline-report", 1]],
    *[
        (CRON, "channels", value)
        for value in [
            "abc",
            [{"kind": "email", "to": [123]}],
            [{"kind": "email", "to": "a@b"}],
            [{"kind": "email", "to": [["a@x.test"]]}],
            [{"kind": "email", "to": {"a": "a@x.test"}}],
            [{"kind": "email", "to": [f"u{i}@x.test" for i in range(10_000)]}],
            [{"kind": "email", "to": ["x" * 300 + "@x.test"]}],
            [{"kind": "slack"}],
            ["not-a-uuid"],
            [12345678901234567890],
            [{"kind": "in_app"}] * 21,
        ]
    ],
]


FIELDS = sorted({field for _trigger, field, _value in CASES})


def cases_for(field: str) -> list[tuple[dict, object]]:
    return [(trigger, value) for trigger, f, value in CASES if f == field]


def cheap_member(org):
    """A member without hashing a password (PBKDF2 costs seconds on a loaded machine)."""
    return member(org, password="!")


def defaults_for(trigger: dict) -> dict:
    out = {"name": "ok", "trigger_type": trigger["trigger_type"], "time_zone": "UTC"}
    out.update(
        {
            "cron": {"cron_expression": "0 9 * * 1"},
            "poll": {"poll_interval_seconds": 900},
            "relative": {"offset_minutes": -30},
            "event": {"event_type": "ats.candidate.stage_changed"},
        }[trigger["trigger_type"]]
    )
    return out


def one_field_error(excinfo, field: str) -> str:
    errors = excinfo.value.message_dict
    assert list(errors) == [field], errors
    return " ".join(errors[field])


@pytest.mark.django_db
@pytest.mark.parametrize("field", FIELDS)
def test_create_refuses_bad_input_with_one_error_on_the_field(field, subtests):
    org = OrganizationFactory()
    owner = cheap_member(org)
    for trigger, value in cases_for(field):
        with subtests.test(value=repr(value)[:60]):
            fields = defaults_for(trigger)
            fields["skill"] = skill("new-candidate-alert")
            fields[field] = value
            with pytest.raises(ValidationError) as excinfo:
                services.automation_create(org=org, owner=owner, **fields)
            assert one_field_error(excinfo, field)
            assert not Automation.objects.exists()
            assert not DeliveryChannel.objects.filter(kind="email").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("field", FIELDS)
def test_update_refuses_bad_input_with_one_error_on_the_field(field, subtests):
    org = OrganizationFactory()
    owner = cheap_member(org)
    made: dict[str, Automation] = {}
    for trigger, value in cases_for(field):
        with subtests.test(value=repr(value)[:60]):
            kind = trigger["trigger_type"]
            if kind not in made:
                made[kind] = automation(
                    org=org, owner=owner, skill_slug="new-candidate-alert", **defaults_for(trigger)
                )
            existing = made[kind]
            changes = {field: value}
            if field != "trigger_type":
                changes["trigger_type"] = kind
            before = Automation.objects.filter(pk=existing.pk).values().get()
            with pytest.raises(ValidationError) as excinfo:
                services.automation_update(automation=existing, by=owner, **changes)
            assert one_field_error(excinfo, field)
            assert Automation.objects.filter(pk=existing.pk).values().get() == before


@pytest.mark.parametrize("zone", BAD_ZONES, ids=lambda z: repr(z)[:30])
def test_the_model_and_cron_refuse_the_same_zones(zone):
    with pytest.raises(ValidationError):
        validate_time_zone(zone)
    with pytest.raises(cron.CronError):
        cron.zone(zone)


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Etc/GMT+5"])
def test_the_model_and_the_service_accept_the_same_zones(zone):
    validate_time_zone(zone)
    org = OrganizationFactory()
    made = automation(org=org, owner=cheap_member(org), time_zone=zone)
    made.full_clean()
    assert made.time_zone == zone


@pytest.mark.django_db
def test_admin_add_form_shows_a_huge_poll_interval_on_the_field(client):
    admin = get_user_model().objects.create(
        username="root", is_staff=True, is_superuser=True, password="!"
    )
    org = OrganizationFactory()
    owner = member(org)  # the owner must be in the automation's org
    client.force_login(admin)
    page = client.post(
        reverse("admin:automations_automation_add"),
        {
            "name": "Polls",
            "organization": org.pk,
            "owner": owner.pk,
            "skill": skill("new-candidate-alert").pk,
            "params": "{}",
            "trigger_type": "poll",
            "cron_expression": "",
            "time_zone": "UTC",
            "event_type": "",
            "event_filter": "{}",
            "offset_minutes": "",
            "poll_interval_seconds": str(10**12),
            "catch_up": "latest",
            "retry_limit": "3",
            "runs-TOTAL_FORMS": "0",
            "runs-INITIAL_FORMS": "0",
        },
    )
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "poll_interval_seconds" in errors, errors
    assert not Automation.objects.exists()


@pytest.mark.django_db
def test_email_channels_are_found_by_their_recipients_not_a_cut_name():
    org = OrganizationFactory()
    owner = cheap_member(org)
    shared = [f"person{i:02d}@shared-team.example.test" for i in range(8)]
    alice = channel_from_spec(
        org=org, owner=owner, spec={"kind": "email", "to": [*shared, "alice@one.test"]}
    )
    bob = channel_from_spec(
        org=org, owner=owner, spec={"kind": "email", "to": [*shared, "bob@two.test"]}
    )
    assert alice.pk != bob.pk
    assert alice.config["to"][-1] == "alice@one.test" and bob.config["to"][-1] == "bob@two.test"
    for channel in (alice, bob):
        assert len(channel.name) <= 120 and "more" in channel.name
    assert alice.name != bob.name  # the display names are told apart, not relied on
    # The same recipients (domains in any case) are the same channel.
    again = channel_from_spec(
        org=org,
        owner=owner,
        spec={"kind": "email", "to": [*shared, "bob@TWO.test"]},
    )
    assert again.pk == bob.pk
    short = channel_from_spec(org=org, owner=owner, spec={"kind": "email", "to": ["a@x.test"]})
    assert short.name == "Email to a@x.test"


@pytest.mark.django_db
def test_two_automations_with_lists_sharing_120_characters_deliver_apart():
    org = OrganizationFactory()
    owner = cheap_member(org)
    prefix = ["a" * 60 + "@long-domain.example.test", "b" * 50 + "@long-domain.example.test"]
    one = automation(
        org=org, owner=owner, channels=[{"kind": "email", "to": [*prefix, "x@1.test"]}]
    )
    two = automation(
        org=org, owner=owner, name="two", channels=[{"kind": "email", "to": [*prefix, "y@2.test"]}]
    )
    (ch1,) = one.delivery_channels.all()
    (ch2,) = two.delivery_channels.all()
    assert ch1.pk != ch2.pk
    assert "y@2.test" not in ch1.config["to"] and "x@1.test" not in ch2.config["to"]


@pytest.mark.parametrize(
    "args",
    [
        ["0 9 * * *", "--after", "9999-12-31T23:00"],
        ["0 9 * * *", "--after", "0001-01-01T00:00", "--timezone", "Asia/Tokyo"],
        ["0 9 * * *", "--after", "0001-01-01T00:00+14:00"],
        ["0 9 * * *", "--timezone", "A" * 300],
        ["0 9 * * *", "--timezone", "localtime"],
        ["0 9 * * *", "--timezone", "right/UTC"],
        ["61 * * * *"],
        ["0 9 * * *" + " " * 10_000],
        ["0 9 * * *", "--count", str(10**9)],
        ["0 9 * * *", "--count", "-5"],
        ["0 9 * * *", "--count", "0"],
        ["0 9 * * *", "--count", "²"],
        ["0 9 * * *", "--count", "abc"],
    ],
    ids=lambda a: " ".join(a)[:50],
)
def test_cron_preview_bad_input_is_a_command_error_with_status_2(args):
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("cron_preview", *args, stdout=out, stderr=io.StringIO())
    assert excinfo.value.returncode == 2 and str(excinfo.value)
    assert "\n" not in str(excinfo.value) and out.getvalue() == ""


def test_cron_math_stops_before_the_end_of_time():
    late = datetime(8999, 12, 30, tzinfo=UTC)
    assert len(cron.fires("0 9 * * *", "America/New_York", late, 10)) <= 2
    with pytest.raises(cron.CronError):
        cron.next_fire("0 9 * * *", "UTC", datetime(9999, 12, 31, 23, tzinfo=UTC))
    with pytest.raises(cron.CronError):
        cron.next_fire("0 9 * * *", "Asia/Tokyo", datetime.min.replace(tzinfo=UTC))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ref",
    ["²", "-1", "abc", str(10**30), "3f2b8c1e-0d4a-4b5e-9c7f-1a2b3c4d5e6f", "0", " ", "١٢"],
    ids=repr,
)
def test_run_automation_bad_reference_is_a_command_error_with_status_2(ref):
    org = OrganizationFactory()
    automation(org=org, owner=cheap_member(org))
    with pytest.raises(CommandError) as excinfo:
        call_command("run_automation", "--", ref, stdout=io.StringIO(), stderr=io.StringIO())
    assert excinfo.value.returncode == 2 and "no automation" in str(excinfo.value)


def manage(*args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "test-only-secret-key-for-a-subprocess-0123456789",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_commands_exit_2_without_a_traceback():
    for args in [
        ["cron_preview", "0 9 * * *", "--after", "9999-12-31T23:00"],
        ["cron_preview", "0 9 * * *", "--timezone", "A" * 300],
        ["run_automation", "²"],
    ]:
        out = manage(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert "Traceback" not in out.stderr and out.stderr.strip(), (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr
