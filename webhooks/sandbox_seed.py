"""Realistic demo ATS data for the sandbox provider, the same on every run (seeded random),
with times relative to now so reports always have something recent to say."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction

from accounts.models import Organization
from webhooks.models import SandboxApplication, SandboxCandidate, SandboxJob

STAGES = ["Applied", "Phone Screen", "Technical Interview", "Onsite Interview", "Offer"]
JOBS = [
    ("Senior Backend Engineer", "Engineering"),
    ("Product Designer", "Design"),
    ("Account Executive", "Sales"),
    ("Data Engineer", "Engineering"),
]
FIRST = [
    "Amara",
    "Lukas",
    "Priya",
    "Mateo",
    "Chen",
    "Sofia",
    "Kwame",
    "Ingrid",
    "Hiroshi",
    "Zoë",
    "Olusegun",
    "Elena",
    "Rafael",
    "Aisha",
    "Noah",
    "Mei",
    "Jonas",
    "Fatima",
    "Diego",
    "Freya",
]
LAST = [
    "Okafor",
    "Schneider",
    "Raman",
    "García",
    "Wei",
    "Rossi",
    "Mensah",
    "Larsen",
    "Tanaka",
    "Dubois",
    "Adeyemi",
    "Popescu",
    "Silva",
    "Haddad",
    "Müller",
    "Lin",
    "Berg",
    "Khan",
]
SOURCES = ["LinkedIn", "Referral", "Careers page", "Indeed", "Agency", "Sourced"]


@transaction.atomic
def seed_sandbox(
    org: Organization, *, now: datetime, candidates: int = 48, owners: list[str] | None = None
) -> int:
    """Create the org's demo jobs, candidates and applications if missing. Returns how many
    applications exist afterwards. `owners`: email addresses given the jobs in turn as their
    recruiter (so org-wide reports can be scoped per member); none: the jobs have no owner."""
    rng = random.Random(f"sandbox:{org.slug}")
    jobs = []
    for index, (name, department) in enumerate(JOBS):
        owner_emails = [owners[index % len(owners)].lower()] if owners else []
        job, _ = SandboxJob.objects.get_or_create(
            organization=org,
            name=name,
            defaults={
                "department": department,
                "stages": STAGES,
                "opened_at": now - timedelta(days=rng.randint(20, 60)),
                "owner_emails": owner_emails,
            },
        )
        jobs.append(job)
    for i in range(candidates):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}.{i}@example.com".lower().replace("ë", "e").replace("ü", "u")
        email = email.replace("í", "i")
        sourced = now - timedelta(days=rng.randint(0, 45), hours=rng.randint(0, 23))
        candidate, _ = SandboxCandidate.objects.get_or_create(
            organization=org,
            email=email,
            defaults={
                "name": f"{first} {last}",
                "source": rng.choice(SOURCES),
                "sourced_at": sourced,
            },
        )
        job = jobs[i % len(jobs)]
        roll = rng.random()
        status = "active" if roll < 0.8 else ("rejected" if roll < 0.93 else "hired")
        stage = "Offer" if status == "hired" else rng.choice(STAGES)
        applied = candidate.sourced_at + timedelta(hours=rng.randint(1, 48))
        applied = min(applied, now)
        last_activity = min(now, applied + timedelta(days=rng.randint(0, 30)))
        SandboxApplication.objects.get_or_create(
            candidate=candidate,
            job=job,
            defaults={
                "organization": org,
                "stage": stage,
                "status": status,
                "applied_at": applied,
                "last_activity_at": last_activity,
            },
        )
    return SandboxApplication.objects.filter(organization=org).count()
