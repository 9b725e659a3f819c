"""`manage.py run_automation ID [--dry-run] [--queue]`: run one automation now.

By default the run is created and executed here, through the same engine the workers use,
and the outcome printed. --queue hands it to the workers instead. --dry-run renders the
result and prints it, delivering nothing and recording no run. For an LLM skill it also prints
the model, the tokens and the cost (which is added to the org's month: the provider bills it),
or why the skill's template made the result instead."""

from __future__ import annotations

import sys
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from automations.engine import run_execute, skill_run
from automations.firing import run_fire
from automations.llm_gate import llm_spend_add
from automations.models import Automation, AutomationRun
from automations.run_keys import manual_key
from automations.time_limit import RunTimeLimitExceeded, time_limit
from skills.llm.fallbacks import reason_words
from skills.results import LlmError, LlmUsage, SkillError

# BigAutoField's range: a larger number would overflow the database's integer.
MAX_ID = 2**63 - 1


class Command(BaseCommand):
    help = "Run one automation now (by id or public id)."

    def add_arguments(self, parser):
        parser.add_argument("automation", help="The automation's id or public id (UUID)")
        parser.add_argument("--dry-run", action="store_true", help="Render and print only")
        parser.add_argument("--queue", action="store_true", help="Send to the workers")

    def handle(self, *args, automation: str, dry_run: bool, queue: bool, **options):
        found = self._find(automation)
        if found is None:
            raise CommandError(f"no automation {automation[:80]!r}", returncode=2)
        if dry_run:
            limit = settings.RUN_TIMEOUT_SECONDS
            try:
                with time_limit(limit):  # the same limit as every run (see engine.run_execute)
                    result = skill_run(automation=found, trigger={}, now=timezone.now())
            except SkillError as exc:
                usage = exc.usage if isinstance(exc, LlmError) else None
                if usage is not None:
                    llm_spend_add(org_id=found.organization_id, usage=usage)
                    self._print_usage(usage)
                self.stderr.write(f"error ({exc.code}): {exc}")
                sys.exit(1)
            except RunTimeLimitExceeded:
                self.stderr.write(f"error: the skill took longer than the time limit ({limit} s)")
                sys.exit(1)
            self.stdout.write(f"# {result.title}\n\n{result.body_markdown}")
            if result.llm is not None:
                llm_spend_add(org_id=found.organization_id, usage=result.llm)
                self._print_usage(result.llm)
            elif result.fallback_reason:
                why = reason_words(result.fallback_reason)
                self.stdout.write(f"made from the template, without the AI model: {why}")
            self.stderr.write(f"summary: {result.summary} (dry run: nothing delivered)")
            return
        run, _ = run_fire(
            automation=found,
            key=manual_key(),
            triggered_by=AutomationRun.TriggeredBy.MANUAL,
            send=queue,
        )
        if queue:
            self.stdout.write(f"run {run.pk} queued for the workers")
            return
        status = run_execute(run_id=run.pk)
        run.refresh_from_db()
        self.stdout.write(f"run {run.pk}: {run.status}")
        if run.output_summary:
            self.stdout.write(f"summary: {run.output_summary}")
        if run.llm_model:
            self.stdout.write(
                f"model: {run.llm_model}; tokens: {run.input_tokens} in, {run.output_tokens} "
                f"out, {run.cache_write_tokens} cache write, {run.cache_read_tokens} cache "
                f"read; cost: ${run.cost_usd:.6f}"
            )
        elif run.fallback_reason:
            why = reason_words(run.fallback_reason)
            self.stdout.write(f"made from the template, without the AI model: {why}")
        for delivery in run.deliveries:
            self.stdout.write(
                f"  {delivery['kind']}: {delivery['status']} "
                f"{delivery.get('detail') or delivery.get('error', '')}"
            )
        if run.error_message:
            self.stderr.write(f"error ({run.error_code}): {run.error_message}")
        if status == AutomationRun.Status.PENDING:
            self.stdout.write(f"retry scheduled for {run.scheduled_for.isoformat()}")
        if run.status == AutomationRun.Status.FAILED:
            sys.exit(1)

    def _print_usage(self, usage: LlmUsage) -> None:
        self.stdout.write(
            f"model: {usage.model}, {usage.rounds} round(s); tokens: {usage.input_tokens} in, "
            f"{usage.output_tokens} out, {usage.cache_write_tokens} cache write, "
            f"{usage.cache_read_tokens} cache read; cost: ${usage.cost_usd:.6f}"
        )

    @staticmethod
    def _find(ref: str) -> Automation | None:
        """By id (ASCII digits, within the id column's range) or public id (a UUID); anything
        else is no automation. str.isdigit() alone accepted "²", which int() refuses."""
        qs = Automation.objects.select_related("skill", "organization", "owner")
        ref = ref.strip()
        if ref.isascii() and ref.isdigit():
            pk = int(ref)
            return qs.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
        try:
            public_id = uuid.UUID(ref)
        except ValueError:
            return None
        return qs.filter(public_id=public_id).first()
