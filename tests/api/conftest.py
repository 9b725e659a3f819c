from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.api.access import World


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counts live in the cache, keyed by user or token pk, which the test database
    reuses from test to test: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(org, other_org, owner, member, org_admin, outsider, other_org_admin) -> World:
    """The people of the isolation matrix; each endpoint's tests add the rows they need to
    `world.rows`."""
    return World(
        org=org,
        other_org=other_org,
        people={
            "owner": owner,
            "member": member,
            "org_admin": org_admin,
            "outsider": outsider,
            "other_org_admin": other_org_admin,
            "anonymous": None,
        },
    )


@pytest.fixture
def api():
    """A JSON client: api(user) is signed in as user (a session), api() as nobody."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make
