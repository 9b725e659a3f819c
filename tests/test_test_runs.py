"""Test runs (the builder's "Test"): whichever process executes one, it delivers nothing,
records its summary and hash, fails without retrying and never counts towards pausing."""

from __future__ import annotations

import pytest

from automations import run_keys
from automations.engine import run_execute, run_execute_test
from automations.firing import run_fire
from automations.models import AutomationRun
from delivery.models import Delivery, Notification
from tests.factories import automation

pytestmark = pytest.mark.django_db


def _test_run(auto):
    run, _ = run_fire(
        automation=auto,
        key=run_keys.test_key(),
        triggered_by=AutomationRun.TriggeredBy.TEST,
        send=False,
    )
    return run


def test_a_test_run_executed_by_a_worker_delivers_nothing(org, owner):
    auto = automation(org=org, owner=owner)
    run = _test_run(auto)
    assert run_execute(run_id=run.pk) == AutomationRun.Status.COMPLETED
    run.refresh_from_db()
    assert run.output_hash and "nothing was delivered" in run.output_summary
    assert run.deliveries == []
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_run_execute_test_hands_back_the_full_result_once(org, owner):
    auto = automation(org=org, owner=owner)
    outcome = run_execute_test(run_id=_test_run(auto).pk)
    assert outcome.status == AutomationRun.Status.COMPLETED
    assert outcome.result is not None and outcome.result.title
    # Only the summary stays on the run, never the body.
    assert outcome.result.body_markdown not in (outcome.run.output_summary or "")


def test_a_failed_test_is_not_retried_and_not_counted(org, owner):
    auto = automation(org=org, owner=owner, skill_slug="test-fails", retry_limit=3)
    outcome = run_execute_test(run_id=_test_run(auto).pk)
    assert outcome.status == AutomationRun.Status.FAILED and outcome.result is None
    auto.refresh_from_db()
    assert auto.consecutive_failures == 0


def test_test_keys_are_new_each_time():
    assert run_keys.test_key() != run_keys.test_key()
    assert run_keys.test_key().startswith("test:")
