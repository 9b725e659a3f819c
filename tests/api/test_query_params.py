"""Every typed query parameter the schema declares (a time, a UUID, a choice, a number, a
yes/no) refuses an empty value with a 400 naming it: `?created_until=` from a client's unset
variable is a bug to tell, not "no filter" silently widened to every row. Read from
docs/openapi.yaml, so a new filter is covered the day it is added."""

from __future__ import annotations

import pytest
import yaml

from tests.api.access import assert_error
from tests.api.test_schema import SCHEMA_FILE


def _typed_query_parameters() -> list[tuple[str, str]]:
    schema = yaml.safe_load(SCHEMA_FILE.read_text())
    found = []
    for path, operations in schema["paths"].items():
        if "{" in path.replace("{org}", ""):
            continue  # lists only; an object's own parameters are tested with it
        operation = operations.get("get")
        for parameter in (operation or {}).get("parameters", []):
            kind = parameter.get("schema", {})
            typed = kind.get("format") or kind.get("enum") or kind.get("type") != "string"
            if parameter["in"] == "query" and typed:
                found.append((path, parameter["name"]))
    return found


TYPED = _typed_query_parameters()


def test_the_lists_typed_filters_are_found():
    assert ("/api/v1/orgs/{org}/runs/", "created_until") in TYPED
    assert ("/api/v1/orgs/{org}/events/", "received_since") in TYPED
    assert len(TYPED) >= 15


@pytest.mark.parametrize("path,name", TYPED, ids=[f"{p} {n}" for p, n in TYPED])
def test_a_typed_filter_sent_empty_is_a_400_naming_it(api, org, org_admin, path, name):
    response = api(org_admin).get(path.replace("{org}", org.slug), {name: ""})
    assert response.status_code == 400, response.content[:300]
    assert_error(response)
    assert name in response.json()["error"]["fields"]
