"""More than one beat process, for real: two `celery beat` processes running
AutomationScheduler share a herd with no duplicate run and no missed slot, even when one is
killed in the middle of it; edits made just before a herd are honoured."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.models import Organization
from automations import services
from automations.maintenance import runs_sweep_pending
from automations.models import Automation, AutomationRun
from automations.scheduling.due import automations_fire_due
from tests.factories import OrganizationFactory, automation, member
from tests.live import Stack, wait_for

HERD = 150


@pytest.fixture
def stack(celery_queue, tmp_path):
    live = Stack(queue=celery_queue, smtp_port=1, tmp=tmp_path)
    live.env["SCHEDULER_BATCH_SIZE"] = "10"  # many small batches: a kill lands mid-herd
    yield live
    live.stop()


def herd(org, owner, n: int, due) -> list[Automation]:
    autos = [
        automation(org=org, owner=owner, name=f"a{i}", cron_expression="0 9 * * 1", time_zone="UTC")
        for i in range(n)
    ]
    Automation.objects.filter(pk__in=[a.pk for a in autos]).update(next_run_at=due)
    return autos


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_beats_share_a_herd_and_one_is_killed_mid_herd(stack, settings):
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    owner = member(org)
    due = timezone.now().replace(microsecond=0) + timedelta(seconds=6)
    herd(org, owner, HERD, due)

    stack.beat("beat-a")
    stack.beat("beat-b")
    while timezone.now() < due + timedelta(milliseconds=150):
        time.sleep(0.01)
    stack.kill("beat-b")  # dies somewhere in the herd

    wait_for(
        lambda: AutomationRun.objects.count() >= HERD,
        timeout=60,
        what="every slot to have its run",
        stack=stack,
    )
    time.sleep(2)  # the survivor keeps ticking: still no duplicates
    per_automation = AutomationRun.objects.values("automation").annotate(n=Count("pk"))
    assert len(per_automation) == HERD and {row["n"] for row in per_automation} == {1}

    # Runs the killed beat had claimed but not yet sent go out with the sweeper; then a
    # worker runs every one of them.
    settings.RUN_RESEND_AFTER_SECONDS = 0
    stack.worker()
    runs_sweep_pending()
    wait_for(
        lambda: AutomationRun.objects.filter(status="completed").count() == HERD,
        timeout=120,
        what="every run to complete",
        stack=stack,
    )


@pytest.mark.django_db
def test_edits_just_before_a_herd_are_honoured():
    org = OrganizationFactory(plan=Organization.Plan.PRO)
    owner = member(org)
    due = timezone.now() - timedelta(seconds=1)
    autos = herd(org, owner, 10, due)
    services.automation_pause(automation=autos[0], by=owner)
    services.automation_update(automation=autos[1], by=owner, cron_expression="0 9 1 1 *")
    services.automation_delete(automation=autos[2], by=owner)
    stats = automations_fire_due(batch_size=3)
    assert stats.fired == 7
    assert not AutomationRun.objects.filter(automation_id__in=[autos[0].pk, autos[1].pk]).exists()
