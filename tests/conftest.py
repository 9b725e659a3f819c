from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest

# The suite runs with DEBUG off, as production does, on throwaway keys that
# config/test_settings.py puts in the environment (so worker processes get them too).
from config.test_settings import TEST_FIELD_ENCRYPTION_KEY as TEST_ENCRYPTION_KEY

# Captures every log line of the suite and greps it for secrets and emails at the end.
pytest_plugins = ["tests.plugins.log_capture"]

# Test-only skills (tests/plugins/skills.py) load in this process and in the worker
# processes integration tests start.
os.environ.setdefault("SKILL_PLUGIN_MODULES", "tests.plugins.skills")


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.SKILL_PLUGIN_MODULES = ["tests.plugins.skills"]
    settings.FIELD_ENCRYPTION_KEY = TEST_ENCRYPTION_KEY
    settings.DELIVERY_BACKOFF_SECONDS = [0.05, 0.1]  # the same retries, without the waiting


@pytest.fixture(autouse=True)
def _restore_catalog_after_flush(request, django_db_blocker):
    """A transactional test ends with a flush that empties every table, the skill catalog
    (written by a data migration) included; put it back for the tests that follow."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or "transactional_db" in request.fixturenames):
        from skills.catalog import catalog_sync
        from skills.models import Skill

        with django_db_blocker.unblock():
            catalog_sync(Skill)


# -- the people every permission test is about ------------------------------------------------
# One org (`org`) with its admin, a member who owns things (`owner`) and a colleague who owns
# nothing of theirs (`member`); a user in no org (`outsider`); the admin of another org
# (`other_org_admin`, of `other_org`); and a superuser. A module that needs its own org
# (another name, plan or time zone) defines its own `org` fixture: these people then join it.


@pytest.fixture
def org(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory(name="Org A")


@pytest.fixture
def other_org(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory(name="Org B")


@pytest.fixture
def owner(org):
    """A plain member of `org`: the one who owns the rows a test makes."""
    from tests.factories import member

    return member(org, username="owner")


@pytest.fixture
def member(org):
    """Another plain member of `org`: a colleague of the owner, owning none of their rows."""
    from tests.factories import member as make_member

    return make_member(org, username="colleague")


@pytest.fixture
def org_admin(org):
    from accounts.models import Membership
    from tests.factories import member

    return member(org, role=Membership.Role.ADMIN, username="org_admin")


@pytest.fixture
def outsider(db):
    """A user of no org at all."""
    from tests.factories import UserFactory

    return UserFactory(username="outsider")


@pytest.fixture
def other_org_admin(other_org):
    from accounts.models import Membership
    from tests.factories import member

    return member(other_org, role=Membership.Role.ADMIN, username="other_org_admin")


@pytest.fixture
def superuser(db):
    """An operator: a superuser who belongs to no org."""
    from tests.factories import UserFactory

    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def celery_queue(settings):
    """A queue of this test's own, so tests running in parallel on one broker never take each
    other's messages."""
    from config.celery import app

    name = f"test-{uuid.uuid4().hex[:12]}"
    old = app.conf.task_default_queue
    app.conf.task_default_queue = name
    settings.CELERY_QUEUE = name
    yield name
    app.conf.task_default_queue = old
    try:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(name)
    except Exception:  # the queue may never have been declared
        pass


@pytest.fixture
def sandbox_org(db):
    """An org with the seeded sandbox ATS (4 jobs, 48 candidates)."""
    from django.utils import timezone

    from tests.factories import OrganizationFactory
    from webhooks.sandbox_seed import seed_sandbox

    org = OrganizationFactory(slug="sandbox-tests")
    seed_sandbox(org, now=timezone.now())
    return org


@pytest.fixture(scope="session", autouse=True)
def _close_the_event_store_connection(django_db_setup):
    """The receiver's group commit keeps a connection of its own
    (webhooks/event_store.py); close it before the test database is dropped."""
    yield
    from webhooks.event_store import store_close

    store_close()


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver on 127.0.0.1 (its URLs say so too), on a free port."""
    return ("127.0.0.1", 0)


@contextmanager
def broker_down():
    """Publishing fails while inside: the broker is a Redis port where nothing listens."""
    from config.celery import app

    saved = app.conf.broker_write_url, app.conf.broker_transport
    app.conf.broker_write_url, app.conf.broker_transport = "redis://127.0.0.1:1/0", None
    try:
        yield
    finally:
        app.conf.broker_write_url, app.conf.broker_transport = saved


@pytest.fixture
def fake_llm(settings):
    """A fake Anthropic Messages API on 127.0.0.1 (tests/llm_fake.py), one per test, with the
    SDK pointed at it, a test key, and the runner's retry waits made short."""
    from tests.llm_fake import FakeMessagesApi

    fake = FakeMessagesApi().start()
    settings.ANTHROPIC_BASE_URL = fake.url
    settings.ANTHROPIC_API_KEY = "test-key"
    settings.LLM_RETRY_BASE_SECONDS = 0.01
    yield fake
    fake.close()
