"""Every way of executing a run stops it at RUN_TIMEOUT_SECONDS (the engine enforces it, not
only Celery), so the reaper never takes back a run that is still going."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command

from automations.engine import run_execute
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.run_keys import manual_key
from automations.services import automation_create
from config.celery import app
from skills.models import Skill
from tests.factories import OrganizationFactory, member

SLOW = 8  # seconds the skill would take; the limit below is 2


@pytest.fixture
def limit(settings):
    settings.RUN_TIMEOUT_SECONDS = 2
    return 2


def slow_automation(slug: str = "test-slow", **kwargs) -> Automation:
    skill, _ = Skill.objects.get_or_create(
        slug=slug,
        defaults={"name": slug, "description": "test", "mode": "deterministic"},
    )
    org = OrganizationFactory()
    return automation_create(
        org=org,
        owner=member(org),
        skill=skill,
        name="Slow one",
        trigger_type="cron",
        cron_expression="0 9 * * 1",
        params={"seconds": SLOW},
        **kwargs,
    )


def the_run(auto: Automation) -> AutomationRun:
    return AutomationRun.objects.get(automation=auto)


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["test-slow", "test-slow-swallows"])
def test_run_automation_command_stops_at_the_limit_and_retries(limit, slug, capsys):
    auto = slow_automation(slug)
    started = time.monotonic()
    call_command("run_automation", str(auto.pk))
    elapsed = time.monotonic() - started
    assert elapsed < limit + 2, f"ran {elapsed:.1f} s with a {limit} s limit"
    run = the_run(auto)
    assert run.status == "pending" and run.error_code == "timeout"
    assert "run time limit (2 s)" in run.error_message
    assert run.started_at is None and run.attempt == 1  # taken back by the engine, not reaped
    assert "error (timeout)" in capsys.readouterr().err


@pytest.mark.django_db
def test_a_run_with_no_retries_left_fails_with_the_timeout(limit):
    auto = slow_automation(retry_limit=0)
    with pytest.raises(SystemExit) as exited:
        call_command("run_automation", str(auto.pk))
    assert exited.value.code == 1
    run = the_run(auto)
    assert run.status == "failed" and run.error_code == "timeout" and run.finished_at


@pytest.mark.django_db
def test_the_dry_run_stops_at_the_limit_too(limit, capsys):
    auto = slow_automation()
    started = time.monotonic()
    with pytest.raises(SystemExit):
        call_command("run_automation", str(auto.pk), "--dry-run")
    assert time.monotonic() - started < limit + 2
    assert "time limit (2 s)" in capsys.readouterr().err
    assert not AutomationRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_executed_outside_the_main_thread_stops_at_the_limit(limit):
    auto = slow_automation("test-slow-swallows")
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(run_execute(run_id=run.pk)))
    started = time.monotonic()
    thread.start()
    thread.join(SLOW + 5)
    assert outcome == ["pending"]
    assert time.monotonic() - started < limit + 2
    assert the_run(auto).error_code == "timeout"


def test_celery_limits_are_backstops_behind_the_engine_and_before_the_reaper(settings):
    timeout = settings.RUN_TIMEOUT_SECONDS
    reaper_threshold = timeout + 60  # automations.maintenance.runs_reap_stuck
    assert timeout < app.conf.task_soft_time_limit < app.conf.task_time_limit < reaper_threshold
