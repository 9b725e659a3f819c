"""No input gives a 500: bad JSON, wrong types, huge strings, NUL bytes, unknown fields, a
body that is not an object, the wrong content type, odd query strings. Every answer is a 2xx
or a 4xx in the error format."""

from __future__ import annotations

import pytest

from automations.models import Automation
from tests.api.access import assert_error
from tests.factories import automation as make_automation

HUGE = "x" * 200_000
BODIES = [
    b"{not json",
    b"",
    b"null",
    b"[]",
    b'"a string"',
    b"12",
    b'{"name": null, "skill": null, "trigger_type": null}',
    b'{"name": 5, "skill": ["pipeline-report"], "trigger_type": {"a": 1}}',
    b'{"name": "' + HUGE.encode() + b'", "skill": "pipeline-report", "trigger_type": "cron"}',
    b'{"name": "nul\\u0000", "skill": "pipe\\u0000", "trigger_type": "cron\\u0000",'
    b' "cron_expression": "0 9 * * \\u0000"}',
    b'{"unknown": 1, "\\u0000": 2}',
    b'{"name": "n", "skill": "pipeline-report", "trigger_type": "cron",'
    b' "cron_expression": "0 9 * * 1", "params": {"days": 1e400}}',
    b'{"name": "n", "skill": "pipeline-report", "trigger_type": "poll",'
    b' "poll_interval_seconds": 99999999999999999999999}',
    b'{"name": "n", "skill": "pipeline-report", "trigger_type": "relative",'
    b' "offset_minutes": -1.5, "event_type": 7}',
    b'{"name": "n", "skill": "pipeline-report", "trigger_type": "cron",'
    b' "cron_expression": "0 9 * * 1", "channels": ["not-a-uuid", 5, {"kind": "slack"}, null]}',
    b'{"name": "n", "skill": "pipeline-report", "trigger_type": "cron",'
    b' "cron_expression": "0 9 * * 1", "channels": "in_app", "time_zone": "../../etc"}',
    b'{"name": "n", "skill": "pipeline-report", "trigger_type": "event",'
    b' "event_type": "ats.candidate.hired", "event_filter": [1, 2]}',
    b'{"reason": ' + b"[" * 2000 + b"]" * 2000 + b"}",
]


def _check(response) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_error(response)


@pytest.fixture
def mine(org, owner):
    return make_automation(org=org, owner=owner, name="Mine")


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_hostile_bodies_never_500(api, org, owner, mine, body):
    client = api(owner)
    base = f"/api/v1/orgs/{org.slug}/automations/"
    one = f"{base}{mine.public_id}/"
    for method, path in [
        ("post", base),
        ("patch", one),
        ("post", one + "pause/"),
        ("post", one + "resume/"),
        ("post", one + "run-now/"),
    ]:
        _check(getattr(client, method)(path, body, content_type="application/json"))
    assert Automation.objects.count() == 1 or Automation.objects.filter(name="n").exists()


def test_wrong_content_type_is_415(api, org, owner):
    response = api(owner).post(
        f"/api/v1/orgs/{org.slug}/automations/", "name=x", content_type="text/plain"
    )
    assert response.status_code == 415
    assert_error(response, "unsupported_media_type")


def test_malformed_json_is_400_parse_error(api, org, owner):
    response = api(owner).post(
        f"/api/v1/orgs/{org.slug}/automations/", b"{oops", content_type="application/json"
    )
    assert response.status_code == 400
    assert_error(response, "parse_error")


@pytest.mark.parametrize(
    "query",
    [
        "?status=%00",
        "?q=%00%00",
        "?q=" + "y" * 5000,
        "?owner=" + "z" * 1000,
        "?skill[]=a&skill=b",
        "?page_size=-1",
        "?page_size=abc",
        "?cursor=%00",
        "?cursor=" + "A" * 3000,
        "?trigger_type=cron&trigger_type=poll",
    ],
)
def test_hostile_list_queries_never_500(api, org, owner, mine, query):
    _check(api(owner).get(f"/api/v1/orgs/{org.slug}/automations/{query}"))


@pytest.mark.parametrize(
    "tail",
    [
        "not-a-uuid/",
        "00000000-0000-0000-0000-000000000000/",
        "{id}/schedule-preview/?count=99999999999999999999",
        "{id}/schedule-preview/?count=-3&viewer_zone=%00",
        "{id}/schedule-preview/?viewer_zone=" + "Q" * 500,
    ],
)
def test_hostile_ids_and_params_never_500(api, org, owner, mine, tail):
    _check(api(owner).get(f"/api/v1/orgs/{org.slug}/automations/{tail.format(id=mine.public_id)}"))


def test_hostile_org_slugs_and_keys_never_500(api, org, owner):
    client = api(owner)
    for slug in ("%00", "x" * 500, "..", "org%2Fother"):
        _check(client.get(f"/api/v1/orgs/{slug}/automations/"))
    for key in ("", " ", "k" * 300, "bad\x01key"):
        response = client.post(
            f"/api/v1/orgs/{org.slug}/automations/",
            b"{}",
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        _check(response)
