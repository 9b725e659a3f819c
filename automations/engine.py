"""Executing a run: claim it, run its skill, deliver, record the outcome, and retry or give
up. Every state change is a conditional update, so two workers (or a worker and the reaper)
can never both act on the same run."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Organization
from automations.dispatch import EXECUTE_TASK
from automations.llm_gate import llm_gate_for, llm_spend_add
from automations.models import Automation, AutomationRun
from automations.run_caps import Held, concurrency_hold, running_runs_sql
from automations.services import automation_pause
from automations.time_limit import RunTimeLimitExceeded, time_limit
from config import logs, plain_sql
from config.celery import app as celery_app
from config.metrics import observe_llm_usage, observe_run_finished
from delivery.notify import notify_automation_paused
from delivery.services import deliver_result
from skills.models import Skill
from skills.registry import implementation_for
from skills.results import LlmError, LlmUsage, SkillContext, SkillError, SkillResult
from webhooks.ats_clients import OrgAtsClient

logger = logging.getLogger(__name__)

# A run's message may arrive a moment before its time (clock skew between machines).
CLAIM_SKEW = timedelta(seconds=5)
BACKOFF_CAP_MINUTES = 60
PAUSE_AFTER_FAILED_RUNS = 3
ALWAYS_RUN = (AutomationRun.TriggeredBy.MANUAL, AutomationRun.TriggeredBy.TEST)


def backoff(attempt: int) -> timedelta:
    """Delay before retry number `attempt` (1-based): 1, 2, 4, 8 ... minutes, capped."""
    return timedelta(minutes=min(2 ** (attempt - 1), BACKOFF_CAP_MINUTES))


def build_context(
    *, automation: Automation, trigger: dict, now: datetime, for_user=None
) -> SkillContext:
    """`for_user`: the member a run of an org-wide automation is for (None: the owner's
    own run). The skill is told whose pipeline it is as plain values (skills import nothing
    of automations)."""
    member = for_user if for_user is not None else automation.owner
    skill = automation.skill
    # LLM skills: whether this run may call the model (AI on, a key, the month's budget);
    # raises SkillError when the org chose to fail rather than use the template.
    llm = (
        llm_gate_for(org=automation.organization, slug=skill.slug, now=now)
        if skill.mode == Skill.Mode.LLM
        else None
    )
    return SkillContext(
        org=automation.organization,
        params=automation.params,
        client=OrgAtsClient(automation.organization),
        now=now,
        time_zone=automation.time_zone,
        since=automation.last_run_at,
        trigger=trigger,
        # Only an org-wide automation's runs are scoped to one member's pipeline; an owner's
        # own automation reports as it always has.
        for_user_email=(member.email or "") if for_user is not None else "",
        for_user_name=(member.get_full_name() or member.get_username())
        if for_user is not None
        else "",
        recruiter_name=(member.get_full_name() or member.get_username()) if member else "",
        llm=llm,
    )


def skill_run(
    *, automation: Automation, trigger: dict, now: datetime, for_user=None
) -> SkillResult:
    implementation = implementation_for(automation.skill)
    return implementation(
        build_context(automation=automation, trigger=trigger, now=now, for_user=for_user)
    )


OnResult = Callable[[SkillResult], None]


def run_execute(
    *, run_id: int, on_result: OnResult | None = None, limit_seconds: float | None = None
) -> str:
    """Execute one run if it is still pending and due. Returns the status it ended in, or
    'not-claimed' when there was nothing to do (a duplicate or early message). `on_result`
    is handed the skill's full result, which is never stored (only its summary is).
    `limit_seconds`: a shorter limit than RUN_TIMEOUT_SECONDS (a test inside a web request)."""
    now = timezone.now()
    # The claim: one conditional UPDATE, so of two workers given the same run one changes
    # the row and the other changes nothing.
    claimed = plain_sql.update(
        AutomationRun,
        values={
            "status": AutomationRun.Status.RUNNING,
            "started_at": now,
            "attempt": _ATTEMPT_PLUS_ONE,
            "updated_at": now,
        },
        pk=run_id,
        status=AutomationRun.Status.PENDING,
        scheduled_for__lte=now + CLAIM_SKEW,
    )
    if not claimed:
        logger.info("run %s not claimed: already taken, finished or not yet due", run_id)
        return "not-claimed"

    run, running = _claimed_run(run_id)
    held = concurrency_hold(run=run, running=running)
    if held is not None:
        return _wait_for_slot(run, now, held)
    limit = min(limit_seconds or settings.RUN_TIMEOUT_SECONDS, settings.RUN_TIMEOUT_SECONDS)
    try:
        # The same limit on every path (worker, command, any synchronous caller), so a run
        # the reaper takes back (running past the limit plus a margin) is never still going.
        with time_limit(limit):
            return _execute(run, now, on_result=on_result)
    except (RunTimeLimitExceeded, SoftTimeLimitExceeded):
        if not connection.in_atomic_block:
            # The limit may have interrupted a query; start afresh rather than reuse a
            # connection left mid-command.
            connection.close()
        logger.warning("run %s: over the run time limit (%s s)", run.pk, limit)
        outcome = run_fail_attempt(
            run=run,
            code="timeout",
            message=f"The run took longer than the run time limit ({limit} s).",
            retryable=True,
            deliveries=[],
        )
        if outcome == "lost":  # the limit struck just after the outcome was recorded
            return AutomationRun.objects.values_list("status", flat=True).get(pk=run.pk)
        return outcome


@functools.cache
def _run_readers() -> tuple[plain_sql.Reader, ...]:
    user = get_user_model()
    return (
        plain_sql.Reader(AutomationRun, "r"),
        plain_sql.Reader(Automation, "a"),
        plain_sql.Reader(Skill, "s"),
        plain_sql.Reader(Organization, "o"),
        plain_sql.Reader(user, "u"),
        plain_sql.Reader(user, "f"),
    )


# Both backends quote names alike ("attempt"), so the fragments are the same for both.
_ATTEMPT_PLUS_ONE = plain_sql.Sql('"attempt" + 1')
_FINISHED_AUTOMATION = plain_sql.Sql('(SELECT "automation_id" FROM finished)')


def _claimed_run(run_id: int) -> tuple[AutomationRun, int]:
    """The run just claimed with its automation, skill, org, owner and member, and how many
    runs its org has running now (this one included): one statement, sent after the claim
    committed, so the count sees every claim that committed before it (run_caps'
    concurrency_hold says why that is what makes the cap hold)."""
    readers = _run_readers()
    sql = plain_sql.cached(("engine.claimed_run",), lambda: _claimed_run_sql(readers))
    (row,) = plain_sql.fetch(sql, [run_id, run_id])
    at = 0
    found = []
    for reader in readers:
        found.append(reader.read(row, at))
        at += len(reader)
    run, automation, skill, org, owner, for_user = found
    automation.skill, automation.organization, automation.owner = skill, org, owner
    run.automation, run.for_user = automation, for_user
    if run.organization_id == org.pk:
        run.organization = org
    return run, row[at]


def _claimed_run_sql(readers: tuple[plain_sql.Reader, ...]) -> str:
    run_r, auto_r, skill_r, org_r, owner_r, for_r = readers
    q, col = plain_sql.qn, plain_sql.column
    user = get_user_model()
    return (
        f"SELECT {run_r.columns}, {auto_r.columns}, {skill_r.columns}, {org_r.columns}, "
        f"{owner_r.columns}, {for_r.columns}, ({running_runs_sql()}) "
        f"FROM {plain_sql.table(AutomationRun)} {q('r')} "
        f"JOIN {plain_sql.table(Automation)} {q('a')} "
        f"ON {col(Automation, 'pk', 'a')} = {col(AutomationRun, 'automation', 'r')} "
        f"JOIN {plain_sql.table(Skill)} {q('s')} "
        f"ON {col(Skill, 'pk', 's')} = {col(Automation, 'skill', 'a')} "
        f"JOIN {plain_sql.table(Organization)} {q('o')} "
        f"ON {col(Organization, 'pk', 'o')} = {col(Automation, 'organization', 'a')} "
        f"JOIN {plain_sql.table(user)} {q('u')} "
        f"ON {col(user, 'pk', 'u')} = {col(Automation, 'owner', 'a')} "
        f"LEFT JOIN {plain_sql.table(user)} {q('f')} "
        f"ON {col(user, 'pk', 'f')} = {col(AutomationRun, 'for_user', 'r')} "
        f"WHERE {col(AutomationRun, 'pk', 'r')} = %s"
    )


def _wait_for_slot(run: AutomationRun, now: datetime, held: Held) -> str:
    """The org is at its cap on concurrent runs: this run is not lost but put back, pending,
    and sent again in a few seconds (the attempt it took is given back). Once it has waited
    past RUN_CAP_MAX_WAIT_SECONDS since it came due it is skipped with the reason."""
    waited = (now - run.scheduled_for).total_seconds()
    if waited > settings.RUN_CAP_MAX_WAIT_SECONDS:
        logger.warning("run %s skipped: org at its concurrent-run cap for %d s", run.pk, waited)
        return _finish(
            run, AutomationRun.Status.SKIPPED, error_code=held.code, error_message=held.message
        )
    back = AutomationRun.objects.filter(
        pk=run.pk, status=AutomationRun.Status.RUNNING, started_at=run.started_at
    ).update(
        status=AutomationRun.Status.PENDING,
        started_at=None,
        attempt=F("attempt") - 1,
        # Marked sent: the sweeper sends it again should this message be lost.
        dispatched_at=now,
        updated_at=now,
    )
    if not back:
        return "lost"
    try:
        celery_app.send_task(
            EXECUTE_TASK,
            args=[run.pk],
            countdown=settings.RUN_CAP_RETRY_SECONDS,
            queue=celery_app.conf.task_default_queue,
        )
    except Exception as exc:  # the sweeper re-sends it
        logger.warning("run %s: could not re-send (%s); the sweeper will", run.pk, exc)
    logger.info("run %s waits: org at its concurrent-run cap", run.pk)
    return "waiting"


@dataclass(frozen=True)
class RunTestOutcome:
    """A test run's end: its status, and the full result to show once (None if the skill
    failed; the run's error_code and error_message say why)."""

    run: AutomationRun
    status: str
    result: SkillResult | None


def run_execute_test(*, run_id: int) -> RunTestOutcome:
    """Execute a TEST run now, in the caller's process (the builder's "Test" button): the
    skill runs and its outcome is recorded on the run like any other, but nothing is
    delivered, a failure is not retried and does not count towards pausing the automation."""
    kept: list[SkillResult] = []
    status = run_execute(
        run_id=run_id, on_result=kept.append, limit_seconds=settings.TEST_RUN_TIMEOUT_SECONDS
    )
    run = AutomationRun.objects.select_related("automation").get(pk=run_id)
    return RunTestOutcome(run=run, status=status, result=kept[0] if kept else None)


def _execute(run: AutomationRun, now: datetime, *, on_result: OnResult | None = None) -> str:
    automation = run.automation
    # Lines written deeper down (skills, delivery) say which run they belong to.
    logs.bind(run_id=run.pk, automation_id=automation.pk, org_id=run.organization_id)
    if automation.status != Automation.Status.ACTIVE and run.triggered_by not in ALWAYS_RUN:
        return _finish(
            run,
            AutomationRun.Status.CANCELLED,
            error_code="automation_not_active",
            error_message=f"The automation is {automation.get_status_display().lower()}, "
            "so this run was cancelled.",
        )

    try:
        result = skill_run(
            automation=automation, trigger=run.trigger_data, now=now, for_user=run.for_user
        )
    except LlmError as exc:
        # What the model spent before failing is billed: it stays on the run and the month.
        if exc.usage is not None:
            _record_llm_usage(run, exc.usage, now=now)
        retry_after = (
            timedelta(seconds=exc.retry_after_seconds) if exc.retry_after_seconds else None
        )
        return run_fail_attempt(
            run=run,
            code=exc.code,
            message=str(exc),
            retryable=exc.retryable,
            deliveries=[],
            not_before=retry_after,
        )
    except SkillError as exc:
        return run_fail_attempt(
            run=run, code=exc.code, message=str(exc), retryable=exc.retryable, deliveries=[]
        )
    except SoftTimeLimitExceeded:
        raise  # Celery's backstop limit: handled with the engine's own in run_execute
    except Exception as exc:
        logger.exception("run %s: skill %s raised", run.pk, automation.skill.slug)
        return run_fail_attempt(
            run=run,
            code="skill_crashed",
            message=f"{type(exc).__name__}: {exc}",
            retryable=True,
            deliveries=[],
        )

    if result.llm is not None:
        _record_llm_usage(run, result.llm, now=now)
    if result.fallback_reason:
        AutomationRun.objects.filter(pk=run.pk).update(fallback_reason=result.fallback_reason[:40])
    if on_result is not None:
        on_result(result)
    digest = result_digest(result)
    if run.triggered_by == AutomationRun.TriggeredBy.TEST:
        # A test shows its result to the person testing and sends it to nobody, whichever
        # process executes it.
        return _finish(
            run,
            AutomationRun.Status.COMPLETED,
            output_summary=f"{result.summary} Test: nothing was delivered.",
            output_hash=digest,
            deliveries=[],
        )
    nothing_new = result.empty or (
        run.triggered_by == AutomationRun.TriggeredBy.POLL and _same_as_last_poll(run, digest)
    )
    deliveries = (
        [] if nothing_new else deliver_result(run=run, automation=automation, result=result)
    )
    failed = [d for d in deliveries if d["status"] == "failed"]
    passing = [d for d in failed if not d.get("permanent")]
    errors = "; ".join(f"{d['channel']}: {d['error']}" for d in failed)
    if passing and run.attempt <= automation.retry_limit:
        # Some channel may accept it later: retry the run; channels that already have the
        # result are not sent it again.
        return run_fail_attempt(
            run=run,
            code="delivery_failed",
            message=f"Not delivered yet ({errors}).",
            retryable=True,
            deliveries=deliveries,
        )
    if deliveries and len(failed) == len(deliveries):
        return run_fail_attempt(
            run=run,
            code="delivery_failed",
            message=f"No channel accepted the result ({errors}).",
            retryable=False,
            deliveries=deliveries,
        )

    summary = result.summary if not nothing_new else f"{result.summary} Nothing new to deliver."
    return _finish(
        run,
        AutomationRun.Status.COMPLETED,
        # A completed run resets the failure count and is the next run's `since`.
        automation_values={"consecutive_failures": 0, "last_run_at": run.started_at},
        output_summary=summary,
        output_hash=digest,
        deliveries=deliveries,
    )


def _record_llm_usage(run: AutomationRun, usage: LlmUsage, *, now: datetime) -> None:
    """Add an attempt's tokens and cost to the run (a retried run shows all it spent) and
    to its org's month (which the budget check reads)."""
    AutomationRun.objects.filter(pk=run.pk).update(
        input_tokens=F("input_tokens") + usage.input_tokens,
        output_tokens=F("output_tokens") + usage.output_tokens,
        cache_write_tokens=F("cache_write_tokens") + usage.cache_write_tokens,
        cache_read_tokens=F("cache_read_tokens") + usage.cache_read_tokens,
        cost_usd=F("cost_usd") + usage.cost_usd,
        llm_model=usage.model[:80],
        fallback_reason="",
    )
    llm_spend_add(org_id=run.automation.organization_id, usage=usage, now=now)
    observe_llm_usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cost_usd=usage.cost_usd,
    )


def result_digest(result: SkillResult) -> str:
    """The run's output_hash: what a result said, for spotting the same result again."""
    return hashlib.sha256(
        json.dumps({"title": result.title, "body": result.body_markdown}, sort_keys=True).encode()
    ).hexdigest()


def _same_as_last_poll(run: AutomationRun, digest: str) -> bool:
    """A poll automation delivers only when its result differs from its last delivered one."""
    last = (
        AutomationRun.objects.filter(
            automation_id=run.automation_id,
            status=AutomationRun.Status.COMPLETED,
            triggered_by=AutomationRun.TriggeredBy.POLL,
            # Each member of an org-wide automation has their own last result.
            for_user_id=run.for_user_id,
        )
        .exclude(pk=run.pk)
        .order_by("-finished_at")
        .values_list("output_hash", flat=True)
        .first()
    )
    return last == digest


def _finish(
    run: AutomationRun, status: str, *, automation_values: dict | None = None, **fields
) -> str:
    """Record a final outcome, if the run is still ours (not reaped meanwhile), and then
    (only then) set `automation_values` on its automation."""
    now = timezone.now()
    duration = int((now - run.started_at).total_seconds() * 1000) if run.started_at else None
    values = {
        "status": status,
        "finished_at": now,
        "duration_ms": duration,
        "updated_at": now,
        **fields,
    }
    ours = {"pk": run.pk, "status": AutomationRun.Status.RUNNING, "started_at": run.started_at}
    if automation_values and connection.vendor == "postgresql":
        # One statement: the automation is updated only if the run's update matched.
        finish, finish_params = plain_sql.update_sql(AutomationRun, values=values, conditions=ours)
        touch, touch_params = plain_sql.update_sql(
            Automation,
            values=automation_values,
            conditions={"pk": _FINISHED_AUTOMATION},
        )
        key = plain_sql.column(AutomationRun, "automation")
        ((updated,),) = plain_sql.fetch(
            f"WITH finished AS ({finish} RETURNING {key}), touched AS ({touch} RETURNING 1) "
            "SELECT COUNT(*) FROM finished",
            [*finish_params, *touch_params],
        )
    else:
        updated = plain_sql.update(AutomationRun, values=values, **ours)
        if updated and automation_values:
            plain_sql.update(Automation, values=automation_values, pk=run.automation_id)
    if not updated:
        logger.warning("run %s was taken back (reaped) before it finished; outcome dropped", run.pk)
        return "lost"
    logger.info("run %s %s in %s ms", run.pk, status, duration)
    observe_run_finished(
        status=status,
        trigger=run.triggered_by,
        duration_seconds=(now - run.started_at).total_seconds() if run.started_at else None,
        lateness_seconds=(
            (run.started_at - run.scheduled_for).total_seconds() if run.started_at else None
        ),
    )
    return status


def run_fail_attempt(
    *,
    run: AutomationRun,
    code: str,
    message: str,
    retryable: bool,
    deliveries: list,
    not_before: timedelta | None = None,
) -> str:
    """Retry the run later (backoff, or `not_before` when the failure said when: an API's
    retry-after) or record it failed."""
    now = timezone.now()
    automation = run.automation
    # A test is someone waiting for its answer now: it fails at once rather than later.
    testing = run.triggered_by == AutomationRun.TriggeredBy.TEST
    if retryable and not testing and run.attempt <= automation.retry_limit:
        retry_at = now + max(backoff(run.attempt), not_before or timedelta(0))
        updated = AutomationRun.objects.filter(
            pk=run.pk, status=AutomationRun.Status.RUNNING, started_at=run.started_at
        ).update(
            status=AutomationRun.Status.PENDING,
            scheduled_for=retry_at,
            dispatched_at=None,
            started_at=None,
            error_code=code,
            error_message=message[:2000],
            deliveries=deliveries,
            updated_at=now,
        )
        if updated:
            logger.warning(
                "run %s attempt %s failed (%s); retrying at %s", run.pk, run.attempt, code, retry_at
            )
            return AutomationRun.Status.PENDING
        return "lost"

    status = _finish(
        run,
        AutomationRun.Status.FAILED,
        error_code=code,
        error_message=message[:2000],
        deliveries=deliveries,
    )
    if status == AutomationRun.Status.FAILED and run.triggered_by != AutomationRun.TriggeredBy.TEST:
        _count_failed_run(automation)
    return status


def _count_failed_run(automation: Automation) -> None:
    with transaction.atomic():
        Automation.objects.filter(pk=automation.pk).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        automation = Automation.objects.select_for_update().get(pk=automation.pk)
        if (
            automation.consecutive_failures < PAUSE_AFTER_FAILED_RUNS
            or automation.status != Automation.Status.ACTIVE
        ):
            return
        last_error = (
            automation.runs.filter(status=AutomationRun.Status.FAILED)
            .order_by("-finished_at")
            .values_list("error_message", flat=True)
            .first()
        )
        reason = (
            f"Paused after {automation.consecutive_failures} failed runs in a row. "
            f"Last error: {last_error}"
        )
        automation_pause(automation=automation, by=None, reason=reason)
        transaction.on_commit(
            lambda: notify_automation_paused(automation=automation, reason=reason)
        )
    logger.warning("automation %s paused after repeated failures", automation.pk)
