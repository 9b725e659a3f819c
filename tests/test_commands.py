"""manage.py cron_preview, run_automation and seed_demo, as an operator runs them."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization
from automations.models import Automation, AutomationRun
from delivery.models import Notification
from tests.factories import automation
from webhooks.models import SandboxApplication

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cron_preview_prints_times_with_offsets_and_describes_on_stderr():
    out = manage(
        "cron_preview",
        "30 1 * * *",
        "--timezone",
        "America/New_York",
        "--after",
        "2026-10-31T12:00:00",
        "--count",
        "3",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
        "2026-11-03T01:30:00-05:00",
    ]
    assert "At 01:30 every day" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["61 * * * *", "--timezone", "UTC"], "not a valid cron expression"),
        (["0 9 * *", "--timezone", "UTC"], "5 fields"),
        (["0 9 * * *", "--timezone", "Nowhere/Town"], "not a known time zone"),
        (["0 9 * * *", "--after", "yesterday"], "not an ISO 8601 time"),
        (["0 9 * * *", "--count", "0"], "--count"),
    ],
)
def test_cron_preview_bad_input_exits_2_with_a_clear_message(args, message):
    out = manage("cron_preview", *args)
    assert out.returncode == 2
    assert message in out.stderr and out.stdout == ""


@pytest.mark.django_db
def test_run_automation_dry_run_prints_and_records_nothing(sandbox_org):
    auto = automation(org=sandbox_org)
    out, err = io.StringIO(), io.StringIO()
    call_command("run_automation", str(auto.pk), "--dry-run", stdout=out, stderr=err)
    assert "# Pipeline report" in out.getvalue() and "dry run" in err.getvalue()
    assert not AutomationRun.objects.exists() and not Notification.objects.exists()


@pytest.mark.django_db
def test_run_automation_runs_now_and_delivers(sandbox_org):
    auto = automation(org=sandbox_org)
    out = io.StringIO()
    call_command("run_automation", str(auto.public_id), stdout=out, stderr=io.StringIO())
    run = AutomationRun.objects.get()
    assert run.status == "completed" and run.triggered_by == "manual"
    assert f"run {run.pk}: completed" in out.getvalue()
    assert Notification.objects.filter(run=run, user=auto.owner).exists()


@pytest.mark.django_db
def test_run_automation_unknown_id_exits_2():
    with pytest.raises(CommandError) as exc:
        call_command("run_automation", "999", stdout=io.StringIO(), stderr=io.StringIO())
    assert exc.value.returncode == 2


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo", "--quiet")
    counts = (
        Organization.objects.count(),
        Membership.objects.count(),
        Automation.objects.count(),
        SandboxApplication.objects.count(),
    )
    call_command("seed_demo", "--quiet")
    assert counts == (
        Organization.objects.count(),
        Membership.objects.count(),
        Automation.objects.count(),
        SandboxApplication.objects.count(),
    )
    org = Organization.objects.get(slug="demo")
    assert counts[2] == 2 and counts[3] == 48
    assert Membership.objects.filter(organization=org, role="admin").count() == 1
    assert all(a.next_run_at for a in Automation.objects.all())
