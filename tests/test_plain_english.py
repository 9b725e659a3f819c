"""The plain-English parser (issue 15): phrasings a recruiter types -> the draft they mean.
Cron drafts are checked by their next 20 fire times in the zone (cronsim, from a fixed start),
not by the expression's text: "0 9 * * 1-5" and "0 9 * * MON-FRI" are the same schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from django.core.management import CommandError, call_command

from automations.plain_english import EXAMPLES, Draft, NotUnderstood, SkillInfo, parse

ROOT = Path(__file__).resolve().parent.parent
ZONE = "America/Los_Angeles"
# A Monday, 00:30 wall time; each expectation is evaluated in the draft's own zone.
START = (2026, 1, 5, 0, 30)


def fires(expression: str, zone: str, count: int = 20) -> list[datetime]:
    start = datetime(*START, tzinfo=ZoneInfo(zone))
    return list(islice(CronSim(expression, start), count))


def draft(text: str, zone: str = ZONE) -> Draft:
    result = parse(text, time_zone=zone)
    assert isinstance(result, Draft), f"{text!r}: {result}"
    return result


# (text, the cron it means, the zone it names or None for the default, the skill)
CRON = [
    ("Every Monday at 9am, send me a summary of my pipeline", "0 9 * * 1", None, "pipeline-report"),
    ("every monday at 9am send me a summary of my pipeline", "0 9 * * 1", None, "pipeline-report"),
    ("EVERY MONDAY AT 9AM SEND ME A SUMMARY OF MY PIPELINE!!!", "0 9 * * 1", None,
     "pipeline-report"),
    ("evry monady at 9 send me a summery of my pipline", "0 9 * * 1", None, "pipeline-report"),
    ("Pipeline report every Monday 9 a.m.", "0 9 * * 1", None, "pipeline-report"),
    ("Mondays at 09:00: pipeline report", "0 9 * * 1", None, "pipeline-report"),
    ("Every day at 8am, email me the pipeline report", "0 8 * * *", None, "pipeline-report"),
    ("daily pipeline summary at 7:30", "30 7 * * *", None, "pipeline-report"),
    ("Every weekday at 9, how does my pipeline look", "0 9 * * 1-5", None, "pipeline-report"),
    ("weekdays 8:15am pipeline overview", "15 8 * * 1-5", None, "pipeline-report"),
    ("Monday to Friday at 6pm send the pipeline report", "0 18 * * 1-5", None, "pipeline-report"),
    ("mon-fri at 10 pipeline report", "0 10 * * 1-5", None, "pipeline-report"),
    ("every weekend at 10am pipeline report", "0 10 * * 6,0", None, "pipeline-report"),
    ("Saturdays and Sundays at noon, pipeline summary", "0 12 * * 6,0", None, "pipeline-report"),
    ("Mondays and Thursdays at 9am send me my pipeline", "0 9 * * 1,4", None, "pipeline-report"),
    ("Mon, Wed and Fri at 4pm pipeline report", "0 16 * * 1,3,5", None, "pipeline-report"),
    ("tuesdays, thursdays at 11 pipeline report", "0 11 * * 2,4", None, "pipeline-report"),
    ("every tuesdy and thrusday at 10am pipline report", "0 10 * * 2,4", None, "pipeline-report"),
    ("Every wendesday at 2pm, pipeline report", "0 14 * * 3", None, "pipeline-report"),
    ("fridy at 5pm pipeline report", "0 17 * * 5", None, "pipeline-report"),
    ("Every Friday at 17:30 send me the pipeline summary", "30 17 * * 5", None, "pipeline-report"),
    ("every sunday evening at 7 pipeline report", "0 19 * * 0", None, "pipeline-report"),
    ("twice a day at 9am and 5pm send me my pipeline", "0 9,17 * * *", None, "pipeline-report"),
    ("every day at 9 and 5 pipeline report", "0 9,17 * * *", None, "pipeline-report"),
    ("three times a day at 9, 1 and 5 pipeline report", "0 9,13,17 * * *", None, "pipeline-report"),
    ("every morning at 8 send me my pipeline", "0 8 * * *", None, "pipeline-report"),
    ("every mornign at 7 pipeline report", "0 7 * * *", None, "pipeline-report"),
    ("every evening at 6, pipeline summary", "0 18 * * *", None, "pipeline-report"),
    ("every night at 10 pipeline report", "0 22 * * *", None, "pipeline-report"),
    ("each afternoon at 3 pipeline report", "0 15 * * *", None, "pipeline-report"),
    ("pipeline report at noon every day", "0 12 * * *", None, "pipeline-report"),
    ("pipeline report at midnight every day", "0 0 * * *", None, "pipeline-report"),
    ("every day at half past nine pipeline report", "30 9 * * *", None, "pipeline-report"),
    ("daily at quarter past 8 pipeline report", "15 8 * * *", None, "pipeline-report"),
    ("daily at quarter to 5 pipeline report", "45 16 * * *", None, "pipeline-report"),
    ("every day at 9.30 pipeline report", "30 9 * * *", None, "pipeline-report"),
    ("daily at 13:45 pipeline report", "45 13 * * *", None, "pipeline-report"),
    ("every day at 1730 pipeline report", "30 17 * * *", None, "pipeline-report"),
    ("every day at 9 o'clock pipeline report", "0 9 * * *", None, "pipeline-report"),
    ("every day at 12 pipeline report", "0 12 * * *", None, "pipeline-report"),
    ("every day at 3 pipeline report", "0 15 * * *", None, "pipeline-report"),
    ("every day at 0:15 pipeline report", "15 0 * * *", None, "pipeline-report"),
    ("daily pipeline report", "0 9 * * *", None, "pipeline-report"),
    ("Every Monday pipeline report", "0 9 * * 1", None, "pipeline-report"),
    ("first day of every month at 9am pipeline report", "0 9 1 * *", None, "pipeline-report"),
    ("on the first of the month, pipeline report", "0 9 1 * *", None, "pipeline-report"),
    ("monthly pipeline report", "0 9 1 * *", None, "pipeline-report"),
    ("on the 15th at 10am pipeline report", "0 10 15 * *", None, "pipeline-report"),
    ("pipeline report on the 15th of every month at 9am", "0 9 15 * *", None, "pipeline-report"),
    ("last day of the month at 5pm pipeline report", "0 17 L * *", None, "pipeline-report"),
    ("last Friday of the month at 4pm pipeline report", "0 16 * * 5L", None, "pipeline-report"),
    ("first Monday of every month at 9 pipeline report", "0 9 * * 1#1", None, "pipeline-report"),
    ("second tuesday of each month at 11am pipeline", "0 11 * * 2#2", None, "pipeline-report"),
    ("quarterly pipeline report", "0 9 1 1,4,7,10 *", None, "pipeline-report"),
    ("every day except weekends at 9 pipeline report", "0 9 * * 1-5", None, "pipeline-report"),
    ("every day except fridays at 8am pipeline", "0 8 * * 0-4,6", None, "pipeline-report"),
    ("weekdays except monday at 9 pipeline", "0 9 * * 2-5", None, "pipeline-report"),
    ("At the end of each day, send me a summary of my pipeline", "0 17 * * *", None,
     "pipeline-report"),
    ("pipeline report on the 1st and 15th", "0 9 1,15 * *", None, "pipeline-report"),
    ("which sources are bringing candidates - weekly on mondays", "0 9 * * 1", None,
     "sourcing-recap"),
    ("every 15 minutes send me new applicants", "*/15 * * * *", None, "new-candidate-alert"),
    ("every 30 minutes new candidates on slack", "*/30 * * * *", None, "new-candidate-alert"),
    ("every half hour tell me who applied", "*/30 * * * *", None, "new-candidate-alert"),
    ("every 2 hours during working hours, new applicants", "0 9-17/2 * * 1-5", None,
     "new-candidate-alert"),
    ("hourly new applicants", "0 * * * *", None, "new-candidate-alert"),
    ("every hour new candidates", "0 * * * *", None, "new-candidate-alert"),
    ("every 4 hours pipeline report", "0 */4 * * *", None, "pipeline-report"),
    ("every hour between 9am and 5pm new applicants", "0 9-17 * * *", None,
     "new-candidate-alert"),
    ("Every Monday at 9am Pacific, pipeline report", "0 9 * * 1", "America/Los_Angeles",
     "pipeline-report"),
    ("Every Monday at 9am ET pipeline report", "0 9 * * 1", "America/New_York", "pipeline-report"),
    ("every monday 9am eastern pipeline report", "0 9 * * 1", "America/New_York",
     "pipeline-report"),
    ("every day at 8 am PST pipeline report", "0 8 * * *", "America/Los_Angeles",
     "pipeline-report"),
    ("every day at 8am Central pipeline report", "0 8 * * *", "America/Chicago",
     "pipeline-report"),
    ("every day at 8am mountain time pipeline report", "0 8 * * *", "America/Denver",
     "pipeline-report"),
    ("every day at 9:00 CET pipeline report", "0 9 * * *", "Europe/Berlin", "pipeline-report"),
    ("every day at 9 UTC pipeline report", "0 9 * * *", "UTC", "pipeline-report"),
    ("every day at 9am GMT pipeline report", "0 9 * * *", "Etc/GMT", "pipeline-report"),
    ("every day at 9am London time pipeline report", "0 9 * * *", "Europe/London",
     "pipeline-report"),
    ("every weekday 8am UK time pipeline report", "0 8 * * 1-5", "Europe/London",
     "pipeline-report"),
    ("every monday at 9 Sydney time pipeline report", "0 9 * * 1", "Australia/Sydney",
     "pipeline-report"),
    ("every monday at 9am Tokyo pipeline report", "0 9 * * 1", "Asia/Tokyo", "pipeline-report"),
    ("mondays 10am Berlin time, sourcing recap", "0 10 * * 1", "Europe/Berlin", "sourcing-recap"),
    ("mondays 10am paris time pipeline report", "0 10 * * 1", "Europe/Paris", "pipeline-report"),
    ("every day at 9am New York time, pipeline report", "0 9 * * *", "America/New_York",
     "pipeline-report"),
    ("every day at 10am Bangalore time pipeline report", "0 10 * * *", "Asia/Kolkata",
     "pipeline-report"),
    ("every day at 10am India time pipeline report", "0 10 * * *", "Asia/Kolkata",
     "pipeline-report"),
    ("every day at 9am Europe/Madrid pipeline report", "0 9 * * *", "Europe/Madrid",
     "pipeline-report"),
    ("every friday at 4pm sourcing recap", "0 16 * * 5", None, "sourcing-recap"),
    ("every Friday show me where candidates come from", "0 9 * * 5", None, "sourcing-recap"),
    ("weekly sourcing report on mondays at 8", "0 8 * * 1", None, "sourcing-recap"),
    ("every day at 9 email me stale candidates", "0 9 * * *", None, "stale-candidates"),
    ("every morning at 9, candidates stuck in a stage", "0 9 * * *", None, "stale-candidates"),
    ("every monday at 8am, candiates with no activity", "0 8 * * 1", None, "stale-candidates"),
    ("every day at 5pm new applicants", "0 17 * * *", None, "new-candidate-alert"),
    ("every weekday at 9 tell me who applied", "0 9 * * 1-5", None, "new-candidate-alert"),
    ("daily at 9am, offers accepted", "0 9 * * *", None, "offer-accepted-alert"),
    ("every friday at 3pm chase feedback from interviewers", "0 15 * * 5", None,
     "interview-followup"),
    ("every day at 4pm remind the interviewers about missing scorecards", "0 16 * * *", None,
     "interview-followup"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected", "zone", "skill"), CRON)
def test_schedules_fire_when_the_words_say(text, expected, zone, skill):
    result = draft(text)
    trigger = result.trigger
    assert trigger["type"] == "cron"
    assert trigger["timezone"] == (zone or ZONE)
    assert len(trigger["cron"].split()) == 5
    assert fires(trigger["cron"], trigger["timezone"]) == fires(expected, trigger["timezone"])
    assert result.skill == skill


# (text, event, filter, skill)
EVENTS = [
    ("When a candidate moves to Onsite, send me a prep pack", "ats.candidate.stage_changed",
     {"stage.to": "Onsite"}, "interview-prep"),
    ("when someone is moved to the phone screen stage, prepare the panel",
     "ats.candidate.stage_changed", {"stage.to": "Phone Screen"}, "interview-prep"),
    ("When a candidate reaches the onsite stage, interview prep on Slack",
     "ats.candidate.stage_changed", {"stage.to": "Onsite"}, "interview-prep"),
    ("whenever a candidate moves to Interview send the hiring manager a prep pack",
     "ats.candidate.stage_changed", {"stage.to": "Interview"}, "interview-prep"),
    ("when a candidate moves into final round, brief me", "ats.candidate.stage_changed",
     {"stage.to": "Final Round"}, "interview-briefing"),
    ("if a candidate advances to technical interview, prep pack", "ats.candidate.stage_changed",
     {"stage.to": "Technical Interview"}, "interview-prep"),
    ("When a candidate accepts an offer, email me", "ats.offer.accepted", {},
     "offer-accepted-alert"),
    ("when an offer is accepted tell me on slack", "ats.offer.accepted", {},
     "offer-accepted-alert"),
    ("as soon as someone accepts their offer, notify me in the app", "ats.offer.accepted", {},
     "offer-accepted-alert"),
    ("when a candidate gets an offer, draft an email to the candidate", "ats.offer.created", {},
     "candidate-email-draft"),
    ("when an offer is created, draft a formal email to the candidate", "ats.offer.created",
     {}, "candidate-email-draft"),
    ("when a candidate is hired, send me the pipeline report", "ats.candidate.hired", {},
     "pipeline-report"),
    ("when someone gets hired, pipeline summary on teams", "ats.candidate.hired", {},
     "pipeline-report"),
    ("when a candidate is rejected, draft a brief email to the candidate",
     "ats.candidate.rejected", {}, "candidate-email-draft"),
    ("New application? Alert me", "ats.application.created", {}, "new-candidate-alert"),
    ("alert me when someone applies", "ats.application.created", {}, "new-candidate-alert"),
    ("whenever there is a new applicant, tell me on Slack", "ats.application.created", {},
     "new-candidate-alert"),
    ("when a new application comes in, email me", "ats.application.created", {},
     "new-candidate-alert"),
    ("new candidate for the Engineering jobs -> slack #eng-hiring", "ats.application.created",
     {"application.job_name": {"contains": "Engineering"}}, "new-candidate-alert"),
    ("let me know as soon as a new application comes in for the Designer role",
     "ats.application.created", {"application.job_name": {"contains": "Designer"}},
     "new-candidate-alert"),
    ("New applicant alert on slack #eng-hiring for Engineering jobs", "ats.application.created",
     {"application.job_name": {"contains": "Engineering"}}, "new-candidate-alert"),
    ("send the candidate a formal email draft when they reach the final interview stage",
     "ats.candidate.stage_changed", {"stage.to": "Final Interview"}, "candidate-email-draft"),
    ("when someone applies to the Sales roles, email me", "ats.application.created",
     {"application.job_name": {"contains": "Sales"}}, "new-candidate-alert"),
    ("when an interview is scheduled, send the panel a prep pack", "ats.interview.scheduled",
     {}, "interview-prep"),
    ("whenever an intervew is booked, prep pack please", "ats.interview.scheduled", {},
     "interview-prep"),
    ("when an interview is cancelled, draft an email to the candidate",
     "ats.interview.cancelled", {}, "candidate-email-draft"),
    ("When a candidate is added, new candidate alert", "ats.candidate.created", {},
     "new-candidate-alert"),
    ("when a candidate moves stage send me a briefing", "ats.candidate.stage_changed", {},
     "interview-briefing"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "event", "event_filter", "skill"), EVENTS)
def test_events_trigger_with_their_filter(text, event, event_filter, skill):
    result = draft(text)
    assert result.trigger == {"type": "event", "event": event, "filter": event_filter}
    assert result.skill == skill


# (text, offset_minutes, skill)
RELATIVE = [
    ("30 minutes before each interview, brief me", -30, "interview-briefing"),
    ("30 mins before every interview send me a briefing", -30, "interview-briefing"),
    ("an hour after every interview, chase feedback", 60, "interview-followup"),
    ("1 hour after each interview remind the interviewers to submit scorecards", 60,
     "interview-followup"),
    ("the day before an interview, send me a prep pack", -1440, "interview-prep"),
    ("2 hours ahead of interviews, interview prep", -120, "interview-prep"),
    ("15 minutes before my interviews", -15, "interview-briefing"),
    ("half an hour before each interview", -30, "interview-briefing"),
    ("45 minutes prior to each interview, brief me on slack", -45, "interview-briefing"),
    ("2 days before every interview, prep pack for the panel", -2880, "interview-prep"),
    ("10 minutes after each interview, follow up", 10, "interview-followup"),
    ("interview prep 1 hour before each interview on Teams", -60, "interview-prep"),
    ("when an interview is scheduled brief the interviewer 10 minutes before", -10,
     "interview-briefing"),
    ("3 days before each interview send a prep pack", -4320, "interview-prep"),
    ("one week before each interview send a prep pack", -10080, "interview-prep"),
    ("an hour after each interview", 60, "interview-followup"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "offset", "skill"), RELATIVE)
def test_times_relative_to_interviews(text, offset, skill):
    result = draft(text)
    assert result.trigger == {
        "type": "relative",
        "event": "ats.interview.scheduled",
        "offset_minutes": offset,
    }
    assert result.skill == skill


# (text, every_minutes, skill)
POLL = [
    ("check for new applicants every 15 minutes", 15, "new-candidate-alert"),
    ("Check for new applicants every 15 minutes and post to #hiring", 15, "new-candidate-alert"),
    ("poll for new candidates every 5 minutes", 5, "new-candidate-alert"),
    ("check every hour for new applications", 60, "new-candidate-alert"),
    ("check hourly for new applicants", 60, "new-candidate-alert"),
    ("monitor new applicants every 2 hours", 120, "new-candidate-alert"),
    ("check for stale candidates every day", 1440, "stale-candidates"),
    ("check for new applicants every 7 minutes", 7, "new-candidate-alert"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "minutes", "skill"), POLL)
def test_polling(text, minutes, skill):
    result = draft(text)
    assert result.trigger == {"type": "poll", "every_minutes": minutes}
    assert result.skill == skill


# (text, channel, channel_config)
CHANNELS = [
    ("every monday at 9 email me the pipeline report", "email", {}),
    ("every monday at 9 send me the pipeline report", "email", {}),
    ("every monday at 9 pipeline report", "email", {}),
    ("every monday at 9 email ana@x.com the pipeline report", "email", {"to": ["ana@x.com"]}),
    ("every monday at 9 pipeline report to ana@x.com and bo@y.org", "email",
     {"to": ["ana@x.com", "bo@y.org"]}),
    ("every monday at 9 pipeline report on Slack", "slack", {}),
    ("every monday at 9 pipeline report on slak", "slack", {}),
    ("every monday at 9 pipeline report to #hiring", "slack", {"channel": "#hiring"}),
    ("every monday at 9 post the pipeline report in #recruiting on slack", "slack",
     {"channel": "#recruiting"}),
    ("every monday at 9 pipeline report on Teams", "teams", {}),
    ("every monday at 9 pipeline report in Microsoft Teams", "teams", {}),
    ("every monday at 9 post the pipeline report to https://hooks.example.com/in/abc",
     "webhook", {"url": "https://hooks.example.com/in/abc"}),
    ("every monday at 9 pipeline report in the app", "in_app", {}),
    ("every monday at 9 pipeline report to my inbox", "in_app", {}),
    ("every monday at 9 pipeline report, notify me here", "in_app", {}),
    ("every monday at 9 pipeline report in-app", "in_app", {}),
    ("every monday at 9 pipeline report, send me a notification", "in_app", {}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "channel", "config"), CHANNELS)
def test_channels(text, channel, config):
    result = draft(text)
    assert (result.channel, result.channel_config) == (channel, config)


# (text, skill, params)
PARAMS = [
    ("every day at 9 candidates not contacted in 5 days", "stale-candidates", {"days": 5}),
    ("every monday, candidates idle for more than 10 days", "stale-candidates", {"days": 10}),
    ("every monday at 9 stale candidates (no activity for 2 weeks)", "stale-candidates",
     {"days": 14}),
    ("daily at 8 candidates stuck for a week", "stale-candidates", {"days": 7}),
    ("Every day at 8:00 send me stale candidates older than 10 days", "stale-candidates",
     {"days": 10}),
    ("every day at 9 stale candidates", "stale-candidates", {}),
    ("every friday sourcing recap for the last 30 days", "sourcing-recap", {"days": 30}),
    ("every monday sourcing recap of the past 14 days", "sourcing-recap", {"days": 14}),
    ("first of every month sourcing recap for the last month", "sourcing-recap", {"days": 30}),
    ("every day at 9 new applicants from the last 48 hours", "new-candidate-alert",
     {"lookback_hours": 48}),
    ("when an offer is created, draft a formal email to the candidate",
     "candidate-email-draft", {"tone": "formal"}),
    ("when a candidate is rejected, write a short email to the candidate",
     "candidate-email-draft", {"tone": "brief"}),
    ("when a candidate moves to Onsite, draft an email to the candidate",
     "candidate-email-draft", {}),
    ("every monday at 9 pipeline report", "pipeline-report", {}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "skill", "params"), PARAMS)
def test_skill_params_within_the_schema(text, skill, params):
    result = draft(text)
    assert (result.skill, result.params) == (skill, params)


# Ambiguity is asked: a suggested draft with a question (text, suggested cron, in the question)
QUESTIONS = [
    ("every other Monday at 9 pipeline report", "0 9 * * 1", "every other week"),
    ("fortnightly pipeline report on fridays", "0 9 * * 5", "every other week"),
    ("biweekly pipeline report", "0 9 * * 1", "every other week"),
    ("weekly pipeline report at 9", "0 9 * * 1", "which day"),
    ("every 7 minutes new applicants", "*/7 * * * *", ":56"),
    ("every day at 9am at 10am pipeline report", "0 9 * * *", "Two different times"),
    ("every day at 9 or 10 pipeline report", "0 9 * * *", "which one"),
    ("every monday at 9am Narnia time pipeline report", "0 9 * * 1", "Narnia"),
    ("every day at 9:30 and 5pm pipeline report", "30 9 * * *", "second automation"),
    ("twice a week pipeline report", "0 9 * * 1,4", "which days"),
    ("every monday at 9 and friday at 5 pipeline report", "0 9 * * 1,5", "one automation each"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "suggested", "asked"), QUESTIONS)
def test_ambiguity_is_asked_with_a_suggestion(text, suggested, asked):
    result = draft(text)
    assert result.questions, "an ambiguous request must ask"
    assert any(asked.lower() in q.lower() for q in result.questions), result.questions
    assert fires(result.trigger["cron"], result.trigger["timezone"]) == fires(
        suggested, result.trigger["timezone"]
    )


@pytest.mark.parametrize(
    ("text", "offset", "asked"),
    [
        ("send me a briefing before each interview", -30, "how long before"),
        ("follow up after each interview", 60, "how long after"),
    ],
)
def test_before_or_after_an_interview_without_how_long_is_asked(text, offset, asked):
    result = draft(text)
    assert result.trigger["offset_minutes"] == offset
    assert any(asked in q.lower() for q in result.questions)


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ("When a candidate moves to Offer, tell me on slack", "ats.candidate.stage_changed"),
        ("when a candidate is hired, email me", "ats.candidate.hired"),
        ("when an interview is cancelled, notify me in the app", "ats.interview.cancelled"),
    ],
)
def test_an_event_with_no_skill_said_alerts_about_its_candidate_and_says_so(text, event):
    result = draft(text)
    assert (result.trigger["event"], result.skill) == (event, "new-candidate-alert")
    assert any("suits this trigger" in n for n in result.notes)


def test_an_event_keeps_the_trigger_when_the_text_also_says_before_the_interview():
    result = draft("when a candidate moves to Onsite, send a prep pack before the interview")
    assert result.trigger["type"] == "event" and result.skill == "interview-prep"


def test_unknown_zone_keeps_the_default_zone_in_the_suggestion():
    result = draft("every monday at 9am Narnia time pipeline report", zone="Europe/Paris")
    assert result.trigger["timezone"] == "Europe/Paris"


# (text, words the message must have)
REFUSED = [
    ("", "Say what"),
    ("   ", "Say what"),
    ("asdf", "could not tell"),
    ("hello", "could not tell"),
    ("make me a sandwich", "could not tell"),
    ("qwerty uiop", "could not tell"),
    ("what is the weather", "could not tell"),
    ("send me the pipeline report", "When should it run"),
    ("every monday at 9am", "What should it run"),
    ("text me the pipeline report every monday", "SMS is not a supported channel"),
    ("every day at 9 SMS me new applicants", "SMS is not a supported channel"),
    ("whatsapp me the pipeline every monday", "WhatsApp is not a supported channel"),
    ("call me when someone applies", "phone call is not a supported channel"),
    ("every monday post the pipeline to http://example.com/hook", "https"),
    ("every monday pipeline report to a webhook", "URL"),
    ("60 days before each interview, brief me", "at most 30 days"),
    ("5 weeks before each interview send a prep pack", "at most 30 days"),
    ("check for new applicants every 30 seconds", "once a minute"),
    ("every 30 seconds send me new applicants", "once a minute"),
    ("check for new applicants every 60 days", "30 days"),
    ("every day candidates not contacted in 900 days", "between 1 and 365"),
    ("every day at 25:00 pipeline report", "no time 25:00"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_not_understood_says_why_with_examples(text, message):
    result = parse(text, time_zone=ZONE)
    assert isinstance(result, NotUnderstood), result
    assert message.lower() in result.message.lower(), result.message
    assert 3 <= len(result.examples) <= 5


def test_supported_channels_are_named_when_one_is_refused():
    result = parse("text me the pipeline report every monday", time_zone=ZONE)
    for kind in ("email", "Slack", "Teams", "webhook", "inbox"):
        assert kind in result.message


def test_not_understood_says_what_was_understood():
    result = parse("text me the pipeline report every monday at 9", time_zone=ZONE)
    assert result.understood == (
        f"Trigger: Every Monday at 9:00 AM ({ZONE})",
        "Action: Run 'Pipeline report'",
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_offered_is_understood(example):
    result = draft(example)
    assert not result.questions


def test_the_issues_example_in_the_issues_shape_and_words():
    result = draft("Every Monday at 9am, send me a summary of my pipeline")
    data = result.to_json()
    assert {k: data[k] for k in ("trigger", "skill", "params", "channel", "channel_config")} == {
        "trigger": {"type": "cron", "cron": "0 9 * * 1", "timezone": ZONE},
        "skill": "pipeline-report",
        "params": {},
        "channel": "email",
        "channel_config": {},
    }
    assert result.trigger_words == "Every Monday at 9:00 AM (America/Los_Angeles)"
    assert result.action_words == "Run 'Pipeline report'"
    assert result.output_words == "Email to you"
    assert data["summary"].startswith("Every Monday at 9:00 AM")
    json.dumps(data)  # plain JSON


def test_assumptions_are_said_in_notes():
    assert any("9:00 AM assumed" in n for n in draft("daily pipeline report").notes)
    assert any("3 PM" in n for n in draft("every day at 3 pipeline report").notes)
    assert any("'evry' as 'every'" in n for n in draft("evry day at 9am pipeline").notes)
    assert any("suits" in n for n in draft("when an interview is scheduled, email me").notes)
    assert not draft("every monday at 9am pipeline report").notes


@pytest.mark.parametrize("word", ["reach", "early", "match", "bringing", "booking", "sale"])
def test_ordinary_words_are_not_corrected_into_the_vocabulary(word):
    from automations.plain_english.vocabulary import correct

    assert correct(word) == word


def test_a_draft_uses_only_the_skills_it_is_given():
    skills = [SkillInfo("weekly-digest", "Weekly digest", "A digest", {})]
    result = parse("every monday at 9 weekly digest", time_zone=ZONE, skills=skills)
    assert isinstance(result, Draft) and result.skill == "weekly-digest"
    refused = parse("every monday at 9 pipeline report", time_zone=ZONE, skills=skills)
    assert isinstance(refused, NotUnderstood) and "'Weekly digest'" in refused.message


def test_a_bad_default_zone_is_a_caller_error():
    with pytest.raises(ValueError, match="time zone"):
        parse("daily pipeline report", time_zone="Nowhere/Town")


def test_every_cron_drafted_is_a_valid_five_field_expression():
    texts = [c[0] for c in CRON] + [q[0] for q in QUESTIONS]
    for text in texts:
        expression = draft(text).trigger["cron"]
        assert len(expression.split()) == 5, text
        assert fires(expression, ZONE, 3), text


def test_the_parser_core_imports_no_django():
    code = (
        "import sys; import automations.plain_english as p; "
        "p.parse('every monday at 9 pipeline report', time_zone='UTC'); "
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "False", out.stderr


# -- manage.py parse_automation ---------------------------------------------------------------


def test_command_prints_the_draft_as_one_json_object(capsys):
    call_command(
        "parse_automation",
        "Every Monday at 9am, send me a summary of my pipeline",
        "--timezone",
        "America/Los_Angeles",
    )
    data = json.loads(capsys.readouterr().out)
    assert data["trigger"] == {"type": "cron", "cron": "0 9 * * 1", "timezone": ZONE}
    assert (data["skill"], data["channel"]) == ("pipeline-report", "email")


def test_command_zone_defaults_to_the_settings_zone(capsys, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    call_command("parse_automation", "daily pipeline report")
    assert json.loads(capsys.readouterr().out)["trigger"]["timezone"] == "Europe/Berlin"


def test_command_text_naming_a_zone_wins_over_the_option(capsys):
    call_command("parse_automation", "daily at 9am Tokyo pipeline", "--timezone", "UTC")
    assert json.loads(capsys.readouterr().out)["trigger"]["timezone"] == "Asia/Tokyo"


def test_command_exits_2_with_the_message_and_examples_when_not_understood():
    with pytest.raises(CommandError) as caught:
        call_command("parse_automation", "make me a sandwich")
    assert caught.value.returncode == 2
    assert "could not tell" in str(caught.value)
    assert EXAMPLES[0] in str(caught.value)


def test_command_exit_status_is_2_from_the_shell():
    out = subprocess.run(
        [sys.executable, "manage.py", "parse_automation", "asdf"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"},
    )
    assert out.returncode == 2
    assert "Try, for example" in out.stderr
    assert out.stdout == ""


# -- the drafts pass the one validation path ---------------------------------------------------


def _spec_raw(result: Draft) -> dict:
    """The draft's trigger, skill and params as automation_spec_clean's raw input (channels
    are for the drafts work: a Slack channel needs a connected workspace)."""
    from skills.models import Skill

    trigger = result.trigger
    raw = {
        "name": result.summary[:100],
        "skill": Skill.objects.get(slug=result.skill),
        "params": result.params,
        "trigger_type": trigger["type"],
    }
    if trigger["type"] == "cron":
        raw.update(cron_expression=trigger["cron"], time_zone=trigger["timezone"])
    elif trigger["type"] == "poll":
        raw["poll_interval_seconds"] = trigger["every_minutes"] * 60
    elif trigger["type"] == "event":
        raw.update(event_type=trigger["event"], event_filter=trigger["filter"])
    else:
        raw.update(event_type=trigger["event"], offset_minutes=trigger["offset_minutes"])
    return raw


@pytest.mark.django_db
def test_every_draft_in_the_tables_passes_automation_spec_clean(org):
    from django.core.exceptions import ValidationError

    from automations.validation import automation_spec_clean

    tables = [CRON, EVENTS, RELATIVE, POLL, CHANNELS, PARAMS, QUESTIONS]
    failures = []
    for row in (row for table in tables for row in table):
        result = draft(row[0])
        try:
            automation_spec_clean(org=org, raw=_spec_raw(result))
        except ValidationError as exc:
            failures.append((row[0], exc.message_dict))
    assert failures == []
