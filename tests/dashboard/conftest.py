from __future__ import annotations

import pytest
from django.test import Client

from tests.dashboard.access import World


@pytest.fixture
def world(org, other_org, owner, member, org_admin, outsider, other_org_admin) -> World:
    """The people of the access matrix; each area's tests add the rows they need to
    `world.rows` (an automation of `owner`, a run, a channel, ...)."""
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
def client_factory():
    return Client
