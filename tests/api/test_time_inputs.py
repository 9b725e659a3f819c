"""Every time the API accepts, in a query or a body, is read in UTC: an offset PostgreSQL
refuses (past ±15:59) is still a valid ISO 8601 time and must answer, and a time with no UTC
form (year 1 at +05:00) is a 400, never a 500. The inputs are read from docs/openapi.yaml, so
a new date-time filter or field is covered the day it is added."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from tests.api.access import assert_error
from tests.api.test_runs_access import make_run
from tests.api.test_schema import SCHEMA_FILE
from tests.factories import automation as make_automation

# Offsets ISO 8601 and Python accept and PostgreSQL's timestamptz does not.
FAR_OFFSETS = ["2026-06-01T18:53:00+18:53", "2026-05-31T00:01:00-23:59"]
NO_UTC_FORM = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]


def _time_inputs() -> list[tuple[str, str, str, str]]:
    schema = yaml.safe_load(SCHEMA_FILE.read_text())
    components = schema["components"]["schemas"]

    def body_fields(body: dict) -> list[str]:
        if "$ref" in body:
            body = components[body["$ref"].rsplit("/", 1)[-1]]
        return [
            name
            for name, field in (body.get("properties") or {}).items()
            if field.get("format") == "date-time" and not field.get("readOnly")
        ]

    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("format") == "date-time":
                    found.append((method, path, "query", parameter["name"]))
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for name in body_fields(content["application/json"]["schema"]):
                    found.append((method, path, "body", name))
    return found


TIME_INPUTS = _time_inputs()


def test_the_schema_types_the_time_filters():
    """Without a type in the schema, clients and schemathesis cannot know a filter is a time
    (a method filter typed from its hint showed as `{}`)."""
    names = {(path.rsplit("/", 2)[-2], name) for _, path, _, name in TIME_INPUTS}
    for expected in [
        ("runs", "created_since"),
        ("runs", "created_until"),
        ("events", "received_since"),
        ("audit-events", "since"),
        ("audit-events", "until"),
        ("rerun-batches", "created_since"),
    ]:
        assert expected in names


def _send(client, method: str, path: str, where: str, name: str, value: str, org):
    url = path.replace("{org}", org.slug)
    if where == "query":
        return getattr(client, method)(url, {name: value})
    return getattr(client, method)(url, {"name": "Batch", name: value}, format="json")


@pytest.mark.parametrize(
    "method,path,where,name", TIME_INPUTS, ids=[f"{m} {p} {n}" for m, p, _, n in TIME_INPUTS]
)
def test_every_time_input_takes_any_offset_and_refuses_what_utc_cannot_hold(
    api, org, org_admin, method, path, where, name
):
    assert "{" not in path.replace("{org}", ""), "extend this test for path parameters"
    make_run(make_automation(org=org, owner=org_admin, name="Mine"))
    client = api(org_admin)
    for value in FAR_OFFSETS:
        response = _send(client, method, path, where, name, value, org)
        assert response.status_code < 500, (value, response.content[:300])
        if response.status_code >= 400:
            assert_error(response)
            assert name not in response.json()["error"].get("fields", {}), value
    for value in NO_UTC_FORM:
        response = _send(client, method, path, where, name, value, org)
        assert response.status_code == 400, (value, response.content[:300])
        assert name in response.json()["error"]["fields"], value


def test_a_far_offset_means_the_same_instant(api, org, owner):
    """18:53 at +18:53 is midnight UTC: the run at 00:30 UTC is after it, the one at 23:30
    the day before is not."""
    auto = make_automation(org=org, owner=owner, name="Mine")
    after = make_run(auto, created_at=datetime(2026, 6, 1, 0, 30, tzinfo=UTC))
    make_run(auto, created_at=datetime(2026, 5, 31, 23, 30, tzinfo=UTC))
    response = api(owner).get(
        f"/api/v1/orgs/{org.slug}/runs/", {"created_since": "2026-06-01T18:53:00+18:53"}
    )
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [str(after.public_id)]
