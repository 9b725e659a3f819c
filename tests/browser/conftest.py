"""Browser tests: Playwright driving the system's Chromium (Debian's `chromium`; .ci/run
installs it) against pytest-django's live server, with a real Celery worker taking the runs
the pages start.

Without a Chromium these tests are skipped, loudly (the reason names what to install);
with REQUIRE_BROWSER=1 (set by .ci/run) a missing Chromium fails them instead, so CI never
skips them."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from tests.live import Stack

# Playwright's sync API runs an event loop in the test's thread; the ORM calls a test makes
# between page actions (and the database flush after it) are plain synchronous calls all the
# same. Set for the process, since the flush runs after function fixtures are undone.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"


def chromium_path() -> str | None:
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = chromium_path()
    if path is None:
        message = (
            "BROWSER TESTS SKIPPED: no Chromium found (install Debian's `chromium` or set "
            "CHROMIUM_PATH)"
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message.replace("SKIPPED", "FAILED") + "; REQUIRE_BROWSER=1 is set")
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": path, "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture(autouse=True)
def _browser_test_settings(settings):
    # The live server speaks plain http on 127.0.0.1.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(autouse=True)
def _pages_pass_the_csp(page):
    """Every page a browser test opens must pass the content security policy and raise no
    script error: Chromium reports each blocked script or style on the console."""
    problems: list[str] = []

    def on_console(message) -> None:
        # An HTTP error status is logged as "Failed to load resource": the tests check
        # statuses themselves (a refused action is meant to answer 403 or 422).
        reported = "Content Security Policy" in message.text or message.type == "error"
        if reported and "Failed to load resource" not in message.text:
            problems.append(f"console {message.type} at {page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    yield
    assert not problems, "the page broke its CSP or raised:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def browser_queue() -> str:
    return f"browser-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def run_worker(django_db_setup, django_db_blocker, browser_queue, tmp_path_factory):
    """One real Celery worker for this session's browser tests, on a queue of its own, using
    the test database. Tests that need runs executed ask for `worker` (below)."""
    stack = Stack(queue=browser_queue, smtp_port=1, tmp=tmp_path_factory.mktemp("browser-stack"))
    with django_db_blocker.unblock():
        stack.worker()
    yield stack
    stack.stop()


@pytest.fixture
def worker(run_worker, browser_queue, settings):
    """Runs the pages start are published to the session's worker."""
    from config.celery import app

    old = app.conf.task_default_queue
    app.conf.task_default_queue = browser_queue
    settings.CELERY_QUEUE = browser_queue
    yield run_worker
    app.conf.task_default_queue = old


@pytest.fixture
def site(live_server, transactional_db):
    """The live server's base URL (its database is the test database, flushed after each
    test)."""
    return live_server.url


def sign_in(page, site: str, user, password: str = "pw-for-tests") -> None:
    """Sign in through the form, as a person does; lands on the dashboard."""
    page.goto(f"{site}/sign-in/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in/" not in url)


def screenshot(page, name: str) -> None:
    """docs/screenshots/<name>.png, linked from README: the page as a user sees it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page, *, what: str) -> None:
    """axe-core on the page as it is now: no serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    detail = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        for v in bad
    )
    assert not bad, f"{what}: accessibility violations\n{detail}"
