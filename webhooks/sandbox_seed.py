"""Realistic demo ATS data for the sandbox provider, the same on every run (seeded random),
with times relative to now so reports always have something recent to say."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction

from accounts.models import Organization
from webhooks.models import (
    SandboxApplication,
    SandboxCandidate,
    SandboxInterview,
    SandboxJob,
    SandboxNote,
)

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
# Per job: the headline and the few lines a candidate writes about themselves.
PROFILES = {
    "Senior Backend Engineer": (
        "Backend engineer, {years} years in Python and Go",
        "I have built payment and booking services that handle {scale} requests a day. I led "
        "a migration from a monolith to services and care about testing and on-call health.",
    ),
    "Product Designer": (
        "Product designer, {years} years in B2B SaaS",
        "I design workflows for busy professionals and run usability tests every sprint. My "
        "last project cut onboarding time by {scale} percent.",
    ),
    "Account Executive": (
        "Account executive, {years} years selling to HR teams",
        "I closed {scale} mid-market deals last year and built our outbound playbook.",
    ),
    "Data Engineer": (
        "Data engineer, {years} years with Spark and dbt",
        "I own pipelines that move {scale} million rows a day and the warehouse's tests.",
    ),
}
INTERVIEW_STAGES = {
    "Phone Screen": ("Recruiter screen", 30),
    "Technical Interview": ("Technical interview", 60),
    "Onsite Interview": ("Onsite loop", 180),
}
INTERVIEWERS = [
    ("Sam Rivera", "sam.rivera@example.com"),
    ("Jordan Lee", "jordan.lee@example.com"),
    ("Taylor Brooks", "taylor.brooks@example.com"),
    ("Morgan Price", "morgan.price@example.com"),
]
NOTES = [
    "Strong on system design; wants to hear more about the team's on-call setup.",
    "Asked about the hybrid policy; prefers two office days a week.",
    "Great communication in the screen. Follow up on their notice period.",
    "Portfolio review went well; check references before the onsite.",
]


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
        application, _ = SandboxApplication.objects.get_or_create(
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
        # Its own random stream, so the rows above stay what they were before these existed.
        _seed_llm_material(
            random.Random(f"sandbox-more:{org.slug}:{i}"), org, candidate, application, now
        )
    return SandboxApplication.objects.filter(organization=org).count()


def _seed_llm_material(
    rng: random.Random,
    org: Organization,
    candidate: SandboxCandidate,
    application: SandboxApplication,
    now: datetime,
) -> None:
    """What the LLM skills read: the candidate's own words, colleagues' notes, and an
    interview for applications at an interview stage (upcoming for most, one just past)."""
    headline, text = PROFILES.get(application.job.name, PROFILES["Senior Backend Engineer"])
    if not candidate.profile_text:
        years, scale = rng.randint(3, 12), rng.choice([10, 25, 40, 200])
        candidate.headline = headline.format(years=years)
        candidate.profile_text = text.format(scale=scale)
        candidate.save(update_fields=["headline", "profile_text", "updated_at"])
    if application.status != "active" or application.stage not in INTERVIEW_STAGES:
        return
    if not SandboxNote.objects.filter(candidate=candidate).exists():
        author = rng.choice(INTERVIEWERS)[0]
        SandboxNote.objects.create(
            organization=org,
            candidate=candidate,
            author=author,
            body=rng.choice(NOTES),
            written_at=application.last_activity_at,
        )
    title, minutes = INTERVIEW_STAGES[application.stage]
    if SandboxInterview.objects.filter(application=application, stage=application.stage).exists():
        return
    past = rng.random() < 0.25
    start = (
        (now - timedelta(days=rng.randint(1, 3)))
        if past
        else (now + timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 8)))
    )
    start = start.replace(minute=0 if rng.random() < 0.5 else 30, second=0, microsecond=0)
    panel = rng.sample(INTERVIEWERS, 2 if minutes < 180 else 3)
    SandboxInterview.objects.create(
        organization=org,
        application=application,
        stage=application.stage,
        title=title,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        status="completed" if past else "scheduled",
        interviewers=[
            {"name": name, "email": email, "feedback_submitted": past and index == 0}
            for index, (name, email) in enumerate(panel)
        ],
    )
