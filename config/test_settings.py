"""Settings for the test suite: the production defaults (DEBUG off) with throwaway keys that
exist only here. Set in the environment, so the worker, beat and web processes that
integration tests start load the same ones."""

import os

TEST_SECRET_KEY = "test-only-secret-key-that-signs-nothing-outside-tests"
TEST_FIELD_ENCRYPTION_KEY = "q9Ns0ZyXU0nq3QvlvB6qrp1W7w0j2dP1lJ3mXkqkS1E="
os.environ.setdefault("SECRET_KEY", TEST_SECRET_KEY)
os.environ.setdefault("FIELD_ENCRYPTION_KEY", TEST_FIELD_ENCRYPTION_KEY)
# The web servers tests start listen on 127.0.0.1 (with DEBUG off no host is allowed by default).
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")

# Each test session counts metrics in a folder of its own (config/metrics.py), removed when it
# ends; the processes a test starts get their own again (tests/live.py).
if "METRICS_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["METRICS_DIR"] = tempfile.mkdtemp(prefix="skillomatic-metrics-")
    atexit.register(shutil.rmtree, os.environ["METRICS_DIR"], True)

from config.settings import *  # noqa: E402, F403

# Users are made by the hundred in tests; full-strength password hashing is seconds each on a
# busy 2-core machine and proves nothing here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# ATS API buckets off, and wide open, by default: tests against fake servers make calls by the
# dozen, many without database access, and (with Redis) would share a bucket across tests.
# tests/test_run_caps.py turns them on with real sizes.
ATS_RATE_LIMITS_ENABLED = False
ATS_RATE_LIMITS = {
    provider: {"capacity": 10_000, "per_second": 10_000}
    for provider in ("greenhouse", "lever", "workable", "smartrecruiters", "zoho", "ashby")
}

# Each pytest-xdist worker keeps its cache in a Redis database of its own: rate-limit counts
# are keyed by org and token pks, which every worker's test database hands out alike, and a
# test that clears the cache must not empty another worker's. (The processes a test starts
# inherit PYTEST_XDIST_WORKER, so they share their worker's database.)
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _xdist_worker.startswith("gw") and _xdist_worker[2:].isdigit():  # noqa: F405
    from urllib.parse import urlsplit, urlunsplit

    _redis = urlsplit(REDIS_URL)  # noqa: F405
    CACHES["default"]["LOCATION"] = urlunsplit(  # noqa: F405
        _redis._replace(path=f"/{10 + int(_xdist_worker[2:])}")
    )

# No test may reach the real Messages API, whatever the environment holds: no key, and an
# address on loopback where nothing listens (port 9, discard). The fake_llm fixture points
# both at the fake server (tests/llm_fake.py) for the tests that need the model.
ANTHROPIC_API_KEY = ""
ANTHROPIC_BASE_URL = "http://127.0.0.1:9"

# No background alert evaluation in the processes tests start (it would email and notify in
# the middle of other tests' assertions): tests/test_alerts.py runs the evaluator itself, and
# sets ALERT_EVALUATE_SECONDS in a Stack's environment where it tests the background one.
ALERT_EVALUATE_SECONDS = env_int("ALERT_EVALUATE_SECONDS", 0)  # noqa: F405
