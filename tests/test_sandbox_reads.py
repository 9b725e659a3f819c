"""The sandbox ATS answers what the LLM skills read: a candidate's own words, their
interviews with the panel and whose feedback is in, colleagues' notes, a job by id and its
pipeline counts; always only the org's own rows, and nothing (never an error) for an id that
is not one."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.factories import OrganizationFactory
from webhooks.models import SandboxApplication, SandboxInterview, SandboxNote
from webhooks.providers.sandbox import SandboxClient
from webhooks.sandbox_seed import seed_sandbox


def test_seeded_candidates_have_words_interviews_and_notes(sandbox_org):
    org = sandbox_org
    client = SandboxClient(org)
    at_interview = SandboxApplication.objects.filter(
        organization=org,
        status="active",
        stage__in=["Phone Screen", "Technical Interview", "Onsite Interview"],
    )
    assert at_interview.exists()
    app = at_interview.order_by("pk").first()
    candidate = client.get_candidate(str(app.candidate_id))
    assert candidate.headline and candidate.profile_text
    interviews = client.list_interviews(candidate_id=str(app.candidate_id))
    assert [i.application_id for i in interviews] == [str(app.pk)]
    interview = interviews[0]
    assert interview.stage == app.stage and interview.job_id == str(app.job_id)
    assert interview.start_at.tzinfo is not None and interview.end_at > interview.start_at
    assert len(interview.interviewers) >= 2 and all(p.email for p in interview.interviewers)
    # Only a finished interview can have feedback in.
    assert interview.status == "completed" or not any(
        p.feedback_submitted for p in interview.interviewers
    )
    notes = client.list_notes(candidate_id=str(app.candidate_id))
    assert notes and notes[0].body and notes[0].author
    assert client.list_interviews(application_id=str(app.pk)) == interviews


def test_seeding_twice_adds_nothing(sandbox_org):
    org = sandbox_org
    counts = (SandboxInterview.objects.count(), SandboxNote.objects.count())
    seed_sandbox(org, now=timezone.now())
    assert (SandboxInterview.objects.count(), SandboxNote.objects.count()) == counts


def test_notes_newest_first_and_limited(sandbox_org):
    org = sandbox_org
    app = SandboxApplication.objects.filter(organization=org).first()
    for day in (1, 3, 2):
        SandboxNote.objects.create(
            organization=org,
            candidate=app.candidate,
            author="Sam",
            body=f"day {day}",
            written_at=timezone.now() - timedelta(days=10 - day),
        )
    notes = SandboxClient(org).list_notes(candidate_id=str(app.candidate_id), limit=2)
    assert [n.body for n in notes][:2] == ["day 3", "day 2"]
    assert len(notes) == 2


def test_job_by_id_and_pipeline_counts(sandbox_org):
    org = sandbox_org
    client = SandboxClient(org)
    job = client.list_jobs()[0]
    assert client.get_job(job.id) == job
    counts = client.pipeline_counts(job_id=job.id)
    assert list(counts)[: len(job.stages)] == list(job.stages)
    assert (
        sum(counts.values())
        == SandboxApplication.objects.filter(job_id=int(job.id), status="active").count()
    )


def test_another_orgs_rows_and_non_ids_are_nothing(sandbox_org):
    org = sandbox_org
    other = OrganizationFactory(name="Other")
    seed_sandbox(other, now=timezone.now())
    theirs = SandboxApplication.objects.filter(organization=other).first()
    client = SandboxClient(org)
    assert client.get_candidate(str(theirs.candidate_id)) is None
    assert client.get_job(str(theirs.job_id)) is None
    assert client.list_interviews(candidate_id=str(theirs.candidate_id)) == []
    assert client.list_notes(candidate_id=str(theirs.candidate_id)) == []
    for bad in ("abc", "-1", "1.5", "٣", "9" * 40, "", "1; drop table"):
        assert client.get_candidate(bad) is None
        assert client.get_job(bad) is None
        assert client.list_interviews(candidate_id=bad) == []
        assert client.list_notes(candidate_id=bad) == []


def test_interviews_in_a_window_of_start_times_even_with_years_of_history(sandbox_org):
    app = SandboxApplication.objects.filter(organization=sandbox_org).first()
    now = timezone.now()
    SandboxInterview.objects.bulk_create(
        SandboxInterview(
            organization=sandbox_org,
            application=app,
            stage="Phone Screen",
            start_at=now - timedelta(days=400 + n),
            status="completed",
        )
        for n in range(80)
    )
    client = SandboxClient(sandbox_org)
    upcoming = client.list_interviews(starts_after=now)
    assert upcoming and all(i.start_at >= now for i in upcoming)
    assert [i.start_at for i in upcoming] == sorted(i.start_at for i in upcoming)
    soonest = SandboxInterview.objects.filter(organization=sandbox_org, start_at__gte=now)
    assert upcoming[0].id == str(soonest.order_by("start_at").first().pk)
    # Before a bound: the latest ones before it (not the oldest of the 80), soonest first.
    past = client.list_interviews(starts_before=now)
    latest = SandboxInterview.objects.filter(organization=sandbox_org, start_at__lte=now)
    assert past[-1].start_at == latest.order_by("-start_at").first().start_at
    assert all(i.start_at <= now for i in past)
