"""Hostile input against every receiver endpoint: never a 5xx, always the documented status,
and nothing stored for a refused delivery. Hostile bodies are sent signed correctly (so the
parser and the normaliser are really reached) and unsigned (so the signature is checked
first wherever the provider signs the raw body). Runs on SQLite and on PostgreSQL (which,
unlike SQLite, refuses NUL and lone surrogates in text and jsonb)."""

from __future__ import annotations

import copy
import http.client
import io
import json
import time
import urllib.parse
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.ats import FIXTURES, SECRET, connection, hexmac, signed, url
from tests.factories import OrganizationFactory
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db

PROVIDERS = ("greenhouse", "lever", "ashby", "workable", "zoho", "smartrecruiters")
# Providers that sign the raw body (or headers and body): refused at the signature, unparsed.
SIGN_RAW = ("greenhouse", "ashby", "workable", "smartrecruiters")
ACCEPTED = {"smartrecruiters": 202}
LEVER_TOKEN = "hostile-test-token-0123456789abcdef0123456789ab"

# --- building deliveries ---------------------------------------------------------------------

# Per provider, a realistic body with @@ where a hostile value goes (a date field where the
# provider has one, so the date reader is reached too).
TEMPLATES = {
    "greenhouse": '{"action": "candidate_stage_change", "payload": {"application": '
    '{"id": 1, "current_stage": {"name": "Onsite"}, "last_activity_at": @@}}}',
    "lever": '{"event": "interviewCreated", "triggeredAt": @T@, "token": "@K@", '
    '"signature": "@S@", "data": {"interviewId": "i-1", "date": @@}}',
    "ashby": '{"webhookActionId": "a-1", "action": "candidateStageChange", '
    '"data": {"application": {"id": "app-1", "updatedAt": @@}}}',
    "workable": '{"id": "evt-1", "event_type": "candidate_moved", '
    '"data": {"id": "c-1", "stage": "interview", "updated_at": @@}}',
    "zoho": '{"event": "interview_scheduled", "interview_id": "i-1", "interview_start": @@}',
    "smartrecruiters": '{"job_id": "j-1", "candidate_id": @@}',
}


def lever_text(text: str, *, token: str = LEVER_TOKEN, sign: bool = True) -> str:
    """Fill a Lever template's signature fields (Lever signs token + triggeredAt only)."""
    triggered_at = int(time.time() * 1000)
    signature = hexmac(SECRET, f"{token}{triggered_at}".encode()) if sign else "0" * 64
    return text.replace("@T@", str(triggered_at)).replace("@K@", token).replace("@S@", signature)


def deliver(client, conn, provider: str, body: bytes, *, sign: bool, **extra):
    """POST `body` as `provider` sends it, signed with the connection's secret or not."""
    headers, query = {}, ""
    if sign and provider != "lever":
        body, headers, query = signed(provider, body)
    elif provider == "smartrecruiters":  # unsigned, but otherwise a complete delivery
        _, headers, _ = signed(provider, body)
        headers["smartrecruiters-signature"] = "v1=" + "0" * 64
    headers.update(extra.pop("headers", {}))
    return client.generic(
        extra.pop("method", "POST"),
        url(conn, extra.pop("query", query)),
        body,
        content_type=extra.pop("content_type", "application/json"),
        headers=headers,
    )


def check(response, expected: int | tuple[int, ...], before: int) -> None:
    expected = (expected,) if isinstance(expected, int) else expected
    assert response.status_code < 500, response.content
    assert response.status_code in expected, response.content
    assert "error" in response.json()
    assert InboundEvent.objects.count() == before, "a refused delivery was stored"


def unsigned_status(provider: str) -> tuple[int, ...]:
    # Lever signs fields inside the body and Zoho's token may be in it: both must parse a
    # body before they can check it, so a body that does not parse is 400 there.
    return (401,) if provider in SIGN_RAW else (400, 401)


# --- hostile values inside a realistic body --------------------------------------------------

PARSE_HOSTILE = {
    "deep_arrays": "[" * 100_000 + "]" * 100_000,
    "deep_objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "deep_unclosed": "[" * 100_000,
    "depth_65": "[" * 65 + "]" * 65,
    "1e400": "1e400",
    "-1e400": "-1e400",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "400_digits": "9" * 400,
    "5000_digits": "9" * 5000,
    "long_float": "0." + "1" * 200,
    "lone_high_surrogate": '"\\ud800"',
    "lone_low_surrogate": '"\\udfff x"',
    "reversed_pair": '"\\udc00\\ud800"',
    "nul_escape": '"a\\u0000b"',
    "nul_in_key": '{"\\u0000": 1}',
}
# Valid JSON, but not a time: refused by the date reader (SmartRecruiters has no date field).
DATE_HOSTILE = {
    "9_x_25": "9" * 25,
    "huge_epoch_ms": "99999999999999999999",
    "huge_float": "1.5e300",
    "year_99999": '"99999-01-01T00:00:00Z"',
    "year_1_east": '"0001-01-01T00:00:00+05:00"',
    "iso_garbage": '"2026-13-45T99:99:99Z"',
    "not_a_date": '"next tuesday"',
    "date_object": '{"date": "2026-01-12"}',
    "date_list": '["2026-01-12"]',
    "date_bool": "true",
}


def value_cases():
    for provider in PROVIDERS:
        for name in PARSE_HOSTILE:
            yield provider, "parse", name, True
            yield provider, "parse", name, False
        if provider != "smartrecruiters":  # valid JSON: unsigned is the signature case again
            for name in DATE_HOSTILE:
                yield provider, "date", name, True


@pytest.mark.parametrize(("provider", "group", "name", "sign"), list(value_cases()))
def test_hostile_value_in_a_real_body(client, provider, group, name, sign):
    conn = connection(OrganizationFactory(), provider)
    value = (PARSE_HOSTILE if group == "parse" else DATE_HOSTILE)[name]
    text = TEMPLATES[provider].replace("@@", value)
    if provider == "lever":
        text = lever_text(text, sign=sign)
    before = InboundEvent.objects.count()
    response = deliver(client, conn, provider, text.encode(), sign=sign)
    check(response, 400 if sign else unsigned_status(provider), before)


# --- hostile whole bodies --------------------------------------------------------------------

BODY_HOSTILE = {
    "invalid_utf8": b'{"action": "\xff\xfe"}',
    "utf16_bom": '{"action": "ping", "event": "x"}'.encode("utf-16"),
    "utf8_bom": b'\xef\xbb\xbf{"action": "ping"}',
    "latin1": '{"action": "café"}'.encode("latin-1"),
    "raw_nul": b'{"action": "a\x00b"}',
    "raw_nul_outside": b'{"action": "x"}\x00',
    "encoded_surrogate": b'{"action": "\xed\xa0\x80"}',
    "empty": b"",
    "null": b"null",
    "list": b"[]",
    "string": b'"str"',
    "number": b"123",
    "true": b"true",
    "truncated": b'{"action": ',
    "trailing_garbage": b'{"action": "x"} x',
    "not_json": b"this is not json",
}


@pytest.mark.parametrize("sign", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("name", list(BODY_HOSTILE))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_hostile_body(client, provider, name, sign):
    conn = connection(OrganizationFactory(), provider)
    before = InboundEvent.objects.count()
    response = deliver(client, conn, provider, BODY_HOSTILE[name], sign=sign)
    if provider == "smartrecruiters" and name == "empty" and sign:
        # SmartRecruiters' body is optional (the ids are in headers and the Link): accepted.
        assert response.status_code == 202
        return
    check(response, 400 if sign else unsigned_status(provider), before)


# --- every documented field with the wrong JSON type -----------------------------------------

TEXT, ID, OBJECT, LIST, TIME, FLAG, SIGNED = "text", "id", "object", "list", "time", "flag", "s"
# Per provider: the fixture and the fields the adapter reads from it, with their type.
FIELDS = {
    "greenhouse": (
        "candidate_stage_change.json",
        {
            "action": TEXT,
            "payload": OBJECT,
            "payload.application": OBJECT,
            "payload.application.id": ID,
            "payload.application.last_activity_at": TIME,
            "payload.application.current_stage": OBJECT,
            "payload.application.current_stage.name": TEXT,
            "payload.application.candidate": OBJECT,
            "payload.application.candidate.id": ID,
            "payload.application.candidate.first_name": TEXT,
            "payload.application.candidate.email_addresses": LIST,
            "payload.application.candidate.email_addresses.0": OBJECT,
            "payload.application.candidate.email_addresses.0.value": TEXT,
            "payload.application.jobs": LIST,
            "payload.application.jobs.0": OBJECT,
            "payload.application.jobs.0.id": ID,
            "payload.application.jobs.0.name": TEXT,
        },
    ),
    "lever": (
        "candidateStageChange.json",
        {
            "event": TEXT,
            "token": SIGNED,
            "triggeredAt": SIGNED,
            "signature": SIGNED,
            "data": OBJECT,
            "data.opportunityId": ID,
            "data.contactId": ID,
            "data.fromStageId": ID,
            "data.toStageId": ID,
        },
    ),
    "ashby": (
        "candidateStageChange.json",
        {
            "action": TEXT,
            "webhookActionId": ID,
            "data": OBJECT,
            "data.application": OBJECT,
            "data.application.id": ID,
            "data.application.status": TEXT,
            "data.application.updatedAt": TIME,
            "data.application.candidate": OBJECT,
            "data.application.candidate.name": TEXT,
            "data.application.candidate.primaryEmailAddress": OBJECT,
            "data.application.candidate.primaryEmailAddress.value": TEXT,
            "data.application.currentInterviewStage": OBJECT,
            "data.application.currentInterviewStage.title": TEXT,
            "data.application.job": OBJECT,
            "data.application.job.title": TEXT,
        },
    ),
    "workable": (
        "candidate_moved.json",
        {
            "id": ID,
            "event_type": TEXT,
            "data": OBJECT,
            "data.id": ID,
            "data.name": TEXT,
            "data.email": TEXT,
            "data.disqualified": FLAG,
            "data.updated_at": TIME,
            "data.job": OBJECT,
            "data.job.shortcode": ID,
            "data.job.title": TEXT,
        },
    ),
    "zoho": (
        "stage_changed.json",
        {
            "event": TEXT,
            "candidate_id": ID,
            "candidate_name": TEXT,
            "candidate_email": TEXT,
            "stage": TEXT,
            "modified_time": TIME,
        },
    ),
    "smartrecruiters": ("application_created.json", {"candidate_id": ID, "job_id": ID}),
}
WRONG = {"list": [], "object": {}, "string": "s", "int": 7, "bool": True}


def accepted(kind: str, value) -> bool:
    if kind == SIGNED:
        return False
    if kind == OBJECT:
        return isinstance(value, dict)
    if kind == LIST:
        return isinstance(value, list)
    if kind == TEXT:
        return isinstance(value, str)
    if kind == ID:
        return isinstance(value, str | int) and not isinstance(value, bool)
    if kind == TIME:  # epoch milliseconds, or an ISO-8601 string ("s" is not one)
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, bool)  # FLAG


def put(document: dict, path: str, value) -> dict:
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    target = document
    for step in parents:
        target = target[int(step)] if step.isdigit() else target[step]
    target[int(last) if last.isdigit() else last] = value
    return document


def wrong_type_cases():
    for provider, (_, fields) in FIELDS.items():
        for path, kind in fields.items():
            for name in WRONG:
                yield provider, path, kind, name


@pytest.mark.parametrize(("provider", "path", "kind", "wrong"), list(wrong_type_cases()))
def test_wrong_json_type_at_every_level(client, provider, path, kind, wrong):
    conn = connection(OrganizationFactory(), provider, stage_names={"x": "y"})
    fixture, _ = FIELDS[provider]
    document = json.loads((FIXTURES / provider / fixture).read_bytes())
    value = WRONG[wrong]
    if provider == "lever":  # signed now; a SIGNED field replaced below breaks it
        document["triggeredAt"] = int(time.time() * 1000)
        document["signature"] = hexmac(
            SECRET, f"{document['token']}{document['triggeredAt']}".encode()
        )
    document = put(document, path, value)
    before = InboundEvent.objects.count()
    response = deliver(client, conn, provider, json.dumps(document).encode(), sign=True)
    assert response.status_code < 500, response.content
    if accepted(kind, value):
        assert response.status_code == ACCEPTED.get(provider, 200), response.content
    else:
        check(response, 401 if kind == SIGNED else 400, before)


# --- signatures, methods, routes, sizes, headers ---------------------------------------------

GOOD = {
    "greenhouse": "candidate_stage_change.json",
    "lever": "candidateStageChange.json",
    "ashby": "candidateStageChange.json",
    "workable": "candidate_moved.json",
    "zoho": "stage_changed.json",
    "smartrecruiters": "application_created.json",
}


def good_body(provider: str) -> bytes:
    return (FIXTURES / provider / GOOD[provider]).read_bytes()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_and_wrong_signatures_are_401(client, provider):
    conn = connection(OrganizationFactory(), provider)
    body = good_body(provider)
    variants = [
        (body, {}, ""),  # no signature at all
        signed(provider, body, secret="not-the-secret"),  # Lever: in the body
    ]
    for payload, headers, query in variants:
        before = InboundEvent.objects.count()
        response = client.generic(
            "POST", url(conn, query), payload, content_type="application/json", headers=headers
        )
        check(response, 401, before)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_connection_without_a_secret_is_401(client, provider):
    conn = connection(OrganizationFactory(), provider, secrets={})
    body, headers, query = signed(provider, good_body(provider))
    response = client.generic(
        "POST", url(conn, query), body, content_type="application/json", headers=headers
    )
    check(response, 401, 0)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_method_is_405(client, provider, method):
    if provider == "zoho" and method == "GET":
        pytest.skip("Zoho may send GET (test_zoho_get_without_token_is_401)")
    conn = connection(OrganizationFactory(), provider)
    body, headers, query = signed(provider, good_body(provider))
    response = client.generic(method, url(conn, query), body, headers=headers)
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert not InboundEvent.objects.exists()


def test_zoho_get_without_token_is_401(client):
    conn = connection(OrganizationFactory(), "zoho")
    check(client.get(url(conn, "event=stage_changed&candidate_id=1")), 401, 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_provider_unknown_and_malformed_connection_ids_are_404(client, provider):
    conn = connection(OrganizationFactory(), provider)
    body, headers, query = signed(provider, good_body(provider))
    other = next(p for p in PROVIDERS if p != provider)
    suffix = f"?{query}" if query else ""
    paths = [
        f"/webhooks/ats/{other}/{conn.public_id}/",
        f"/webhooks/ats/bamboohr/{conn.public_id}/",
        f"/webhooks/ats/{provider}/00000000-0000-0000-0000-000000000000/",
        f"/webhooks/ats/{provider}/not-a-uuid/",
        f"/webhooks/ats/{provider}/{'9' * 500}/",
        f"/webhooks/ats/{provider}/%00/",
        f"/webhooks/ats/{provider.upper()}/{conn.public_id}/",
    ]
    for path in paths:
        response = client.generic(
            "POST", path + suffix, body, content_type="application/json", headers=headers
        )
        check(response, 404, 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_one_mebibyte_and_one_byte_is_413(client, provider):
    conn = connection(OrganizationFactory(), provider)
    big = b'{"pad": "' + b"x" * (1024 * 1024 - 10) + b'"}'
    assert len(big) == 1024 * 1024 + 1
    response = deliver(client, conn, provider, big, sign=True)
    check(response, 413, 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_nul_in_a_stored_header_is_400_not_a_database_error(client, provider):
    conn = connection(OrganizationFactory(), provider)
    body = good_body(provider)
    if provider == "lever":
        body = lever_text(TEMPLATES["lever"].replace("@@", '"2026-01-12T17:03:00Z"')).encode()
    response = deliver(
        client, conn, provider, body, sign=True, headers={"User-Agent": "ats\x00agent"}
    )
    check(response, 400, 0)


def test_smartrecruiters_hook_secret_that_cannot_be_a_header_is_400(client):
    conn = connection(OrganizationFactory(), "smartrecruiters")
    for value in ("a\nb", "a\rX-Injected: 1", "x" * 201, "é"):
        response = client.post(
            url(conn), b"", content_type="application/json", headers={"X-Hook-Secret": value}
        )
        check(response, 400, 0)


def test_zoho_nul_or_bad_utf8_in_parameters_is_400(client):
    conn = connection(OrganizationFactory(), "zoho")
    for query in (
        f"token={SECRET}&event=stage_changed&candidate_name=a%00b",
        f"token={SECRET}&event=stage%00changed",
    ):
        check(client.get(url(conn, query)), 400, 0)
    for form in (b"event=stage_changed&candidate_name=%ff", b"event=x&candidate_name=a%00b"):
        response = client.generic(
            "POST",
            url(conn, f"token={SECRET}"),
            form,
            content_type="application/x-www-form-urlencoded",
        )
        check(response, 400, 0)


def test_a_hostile_zoho_form_with_nested_json_values_is_400(client):
    conn = connection(OrganizationFactory(), "zoho")
    body = json.dumps({"event": "stage_changed", "candidate_name": {"a": [1]}}).encode()
    check(deliver(client, conn, "zoho", body, sign=True), 400, 0)


# --- Content-Length that the test client cannot send: a real server -------------------------


def raw_post(live_server, path: str, content_length: str, body: bytes = b"{}") -> int:
    address = urllib.parse.urlsplit(live_server.url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", content_length)
        conn.endheaders()
        conn.send(body)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("content_length", "status"),
    [
        ("abc", 400),
        ("-1", 400),
        ("1e3", 400),
        ("²", 400),
        ("99999999999999999999999", 413),
        (str(1024 * 1024 + 1), 413),
    ],
)
@pytest.mark.parametrize("provider", ["greenhouse", "zoho"])
def test_malformed_content_length_on_a_live_server(live_server, provider, content_length, status):
    conn = connection(OrganizationFactory(), provider)
    path = url(conn, f"token={SECRET}" if provider == "zoho" else "")
    assert raw_post(live_server, path, content_length) == status
    assert not InboundEvent.objects.exists()


# --- manage.py ats_normalize on the same inputs ----------------------------------------------


@pytest.mark.parametrize(
    "name", ["deep_arrays", "deep_objects", "1e400", "NaN", "400_digits", "lone_high_surrogate"]
)
@pytest.mark.parametrize("provider", ["greenhouse", "lever", "ashby", "workable"])
def test_ats_normalize_exits_2_with_a_message(tmp_path, provider, name):
    text = TEMPLATES[provider].replace("@@", PARSE_HOSTILE[name])
    if provider == "lever":
        text = lever_text(text)
    path = tmp_path / "body.json"
    path.write_text(text)
    status, err = _ats_normalize(provider, path)
    assert status == 2 and err.startswith("error: malformed payload:"), err


@pytest.mark.parametrize("provider", ["greenhouse", "ashby", "workable", "zoho"])
def test_ats_normalize_on_a_huge_date_exits_2(tmp_path, provider):
    path = tmp_path / "body.json"
    path.write_text(TEMPLATES[provider].replace("@@", "9" * 25))
    status, err = _ats_normalize(provider, path, "--header", "Content-Type: application/json")
    assert status == 2 and "out of range" in err, err


def _ats_normalize(provider: str, path: Path, *args: str) -> tuple[int, str]:
    """The command's exit status and its standard error (any other exception fails the test)."""
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("ats_normalize", provider, str(path), *args, stdout=io.StringIO(), stderr=err)
    return exited.value.code, err.getvalue().strip()
