"""ATS data. For now the sandbox provider's tables: a demo ATS kept in our own database so
every skill works without an external ATS."""

from __future__ import annotations

from django.db import models

from accounts.models import Organization
from config.models import TimeStampedModel


class SandboxJob(TimeStampedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    department = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    stages = models.JSONField(default=list, help_text="Stage names in pipeline order.")
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # seed_demo is idempotent by job name within an org.
            models.UniqueConstraint(
                fields=["organization", "name"], name="sandboxjob_org_name_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SandboxCandidate(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    source = models.CharField(max_length=80, blank=True)
    sourced_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"], name="sandboxcandidate_org_email_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SandboxApplication(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        HIRED = "hired", "Hired"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    candidate = models.ForeignKey(SandboxCandidate, on_delete=models.CASCADE)
    job = models.ForeignKey(SandboxJob, on_delete=models.CASCADE)
    stage = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    applied_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "job"], name="sandboxapp_candidate_job_uniq"
            ),
        ]
        indexes = [
            # Skills list an org's applications changed since a time (new-candidate alerts,
            # stale candidates): WHERE organization_id = ? AND last_activity_at >= ?.
            models.Index(
                fields=["organization", "last_activity_at"], name="sandboxapp_org_activity_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} for {self.job} ({self.stage})"
