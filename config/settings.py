"""Settings: everything from the environment, with defaults that run locally on SQLite and
kombu's filesystem broker with nothing else installed."""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.secrets_check import require_production_keys

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / ".data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# -- Metrics (/metrics; config/metrics.py, automations/metrics_view.py) -----------------------
# prometheus_client chooses how it stores values when it is first imported: with
# PROMETHEUS_MULTIPROC_DIR set, in files per process, which /metrics adds up. So it is set
# here, before anything imports prometheus_client, in every gunicorn worker, Celery process
# and beat. /metrics reads METRICS_DIR and every folder inside it: a service may write to a
# folder of its own there (docs/systemd/), which it can empty when it starts without
# touching the files of processes still running.
METRICS_DIR = Path(env_str("METRICS_DIR", str(DATA_DIR / "prometheus")))
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(METRICS_DIR))
_metrics_process_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
if not _metrics_process_dir.resolve().is_relative_to(METRICS_DIR.resolve()):
    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR ({_metrics_process_dir}) must be METRICS_DIR "
        f"({METRICS_DIR}) or a folder inside it, or /metrics would not see its counts"
    )
_metrics_process_dir.mkdir(parents=True, exist_ok=True)
# With a token, /metrics answers only `Authorization: Bearer <token>`; without one, only
# clients on these networks (loopback by default).
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
try:  # a typo here is refused at start, not a 500 on every scrape
    for _network in METRICS_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_exc}") from None

# Off unless asked for: a deployment that forgets DEBUG must not run on the development keys
# below or show debug pages. `make run` (the local demo) turns it on.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY")
if not DEBUG:
    # At settings load, so `manage.py check`, the web server, workers and beat all refuse to
    # start, rather than the first webhook answering 500.
    require_production_keys(secret_key=SECRET_KEY, field_encryption_key=FIELD_ENCRYPTION_KEY)
elif not SECRET_KEY:
    SECRET_KEY = "insecure-local-development-key-never-used-with-debug-off"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # The API's OpenAPI schema and docs page, with the docs' assets served from our static.
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_beat",
    "django_htmx",
    # {% partialdef %}: a dashboard page and the fragments htmx swaps are one template.
    "template_partials",
    # Login throttling: failed sign-ins are counted per username and address (AXES_* below).
    "axes",
    "accounts",
    "skills",
    "webhooks",
    "delivery",
    "automations",
]

# Webhook bodies up to 1 MiB are read; the receiver answers 413 above that.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024 + 1
# Lever signs only `token + triggeredAt`: a delivery whose triggeredAt is further than this
# from now (either way) is refused as a possible replay (webhooks/providers/lever.py).
LEVER_REPLAY_TOLERANCE_SECONDS = env_int("LEVER_REPLAY_TOLERANCE_SECONDS", 300)
# A worker's claim on a batch of stored events: past this, the events are given back to the
# queue (the worker died mid-batch); longer than any batch takes (Lever's API included).
INBOUND_CLAIM_LEASE_SECONDS = env_int("INBOUND_CLAIM_LEASE_SECONDS", 600)

MIDDLEWARE = [
    # First: a request id (and later org/user ids) bound to every log line of the request.
    "config.request_logging.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app itself, compressed and cached, with no web server in front.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The content security policy and the other headers the pages are built to pass.
    "config.security_headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Changes made in a request are audited as made from that URL's surface.
    "accounts.audit_context.AuditSurfaceMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in itself.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username or address is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five wrong passwords for one username from one address lock that pair out for 15 minutes;
# a right one resets the count. Per pair, so a stranger cannot lock a recruiter out from
# elsewhere by guessing at their username.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "dashboard/locked.html"
# Behind a proxy, set AXES_IPWARE_META_PRECEDENCE_ORDER (django-axes' docs) so the client's
# address is counted, not the proxy's.
AXES_VERBOSE = False
# Lockouts are an operator's matter (`manage.py axes_reset_username <name>`), not pages of the
# org-scoped admin, where every model must be scoped to the viewer's org.
AXES_ENABLE_ADMIN = False

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "automations.dashboard.context.dashboard",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
# Seconds a request thread keeps its connection open (config/gunicorn.py sets 0 for gevent).
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
}
# Django's backends, sending every datetime in UTC (see config/db_time.py).
DATABASES["default"]["ENGINE"] = {
    "django.db.backends.postgresql": "config.postgresql",
    "django.db.backends.sqlite3": "config.sqlite3",
}.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])
if DATABASES["default"]["ENGINE"] == "config.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # Web, worker and beat share the file: wait for locks instead of failing, take the
        # write lock at BEGIN so two writers never deadlock on a lock upgrade, and use WAL so
        # readers never block the writer.
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Integration tests start worker and beat processes that must see the test database,
    # so it lives in a file rather than in memory.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "config.postgresql":
    # A database host that does not answer fails a connection in seconds, not minutes (the
    # kernel's TCP timeout): /status reports it down and the processes retry.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise looks there first, even when it is empty
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies, no manifest: pages work before (and without) collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Served straight from the apps' and static/ folders, so `make run` and the tests need no
# collectstatic step; `collectstatic` still works for a deployment that wants it.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "dashboard:sign-in"
LOGIN_REDIRECT_URL = "dashboard:home"
# A session lasts two weeks of inactivity at most, and its cookie is not readable by scripts.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Email ------------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587 if EMAIL_HOST else 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", bool(EMAIL_HOST) and EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Skillomatic <automations@skillomatic.local>")
# How long the run link in an email opens that run's page for its recipient without a login
# (the page holds no personal data; a week covers a result read after the weekend).
RUN_LINK_MAX_AGE_HOURS = env_int("RUN_LINK_MAX_AGE_HOURS", 7 * 24)
# An email service provider through django-anymail, by settings alone: set EMAIL_BACKEND to
# e.g. anymail.backends.postmark.EmailBackend and its credentials as ANYMAIL_<NAME>
# (ANYMAIL_POSTMARK_SERVER_TOKEN=..., ANYMAIL_SENDGRID_API_KEY=...).
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}

# --- Outbound HTTP (Slack, Teams, webhooks, ATS APIs: config/outbound.py) ----------------------
# Hosts that may be reached even though they resolve to private or loopback addresses (an
# on-premises ATS, tests on 127.0.0.1). Everything else private is refused (no SSRF).
ALLOWED_OUTBOUND_HOSTS = env_list("ALLOWED_OUTBOUND_HOSTS", [])
OUTBOUND_CONNECT_TIMEOUT = env_int("OUTBOUND_CONNECT_TIMEOUT", 5)
OUTBOUND_READ_TIMEOUT = env_int("OUTBOUND_READ_TIMEOUT", 15)
# The whole exchange (connect, TLS, headers, body, redirects) ends by then, however slowly the
# other side drips its answer.
OUTBOUND_TOTAL_TIMEOUT = env_int("OUTBOUND_TOTAL_TIMEOUT", 15)
# How much of an answer is read: a delivery needs only the start (for the error message); an
# ATS API page is JSON that must be whole, so it has its own, larger cap.
OUTBOUND_MAX_RESPONSE_BYTES = env_int("OUTBOUND_MAX_RESPONSE_BYTES", 64 * 1024)
OUTBOUND_ATS_MAX_RESPONSE_BYTES = env_int("OUTBOUND_ATS_MAX_RESPONSE_BYTES", 32 * 1024 * 1024)
# A CA bundle (file or directory) to verify HTTPS against instead of certifi's, e.g. for an
# on-premises receiver with a private CA. Certificates are always verified.
OUTBOUND_CA_BUNDLE = env_str("OUTBOUND_CA_BUNDLE") or None
# Waits between a delivery's tries within one run (so 3 tries), and the longest Retry-After
# honoured in place; after that the run's own retry (minutes later) tries again.
DELIVERY_BACKOFF_SECONDS = [1.0, 3.0]
DELIVERY_MAX_RETRY_AFTER_SECONDS = 30.0
# ATS API calls: waits between retries of a 429/5xx (so 4 tries), longest Retry-After honoured.
ATS_API_BACKOFF_SECONDS = [0.5, 1.0, 2.0]
ATS_API_MAX_RETRY_AFTER_SECONDS = 60.0
# Each API key's token bucket (webhooks/rate_limit.py): how long a call may wait for a token
# before it fails as rate_limited (retryable), and per-provider overrides of the documented
# sizes, {provider: [limit, seconds]} or {provider: {"capacity": c, "per_second": r}}.
ATS_RATE_MAX_WAIT_SECONDS = env_int("ATS_RATE_MAX_WAIT_SECONDS", 30)
ATS_RATE_LIMITS: dict = {}

# --- Secrets and integrations ------------------------------------------------------------------
ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY")

# --- LLM skills (skills/llm) ---------------------------------------------------------------------
# The Messages API's address: empty for the SDK's default (api.anthropic.com); tests point it at
# a fake server on 127.0.0.1.
ANTHROPIC_BASE_URL = env_str("ANTHROPIC_BASE_URL")
LLM_TIMEOUT_SECONDS = env_int("LLM_TIMEOUT_SECONDS", 60)  # one request
# Retries of one request on 429, 529 (overloaded), 5xx and connection errors, with
# exponential backoff, honouring retry-after (the runner's own loop: skills/llm/runner.py).
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 3)
# The first retry's wait (doubled each retry, with jitter) when the API gives no retry-after; a
# retry-after longer than LLM_MAX_RETRY_AFTER_SECONDS is not slept in the worker: the run fails
# retryable and the engine tries it again later.
LLM_RETRY_BASE_SECONDS = 1.0
LLM_MAX_RETRY_AFTER_SECONDS = 30.0
LLM_MAX_ROUNDS = env_int("LLM_MAX_ROUNDS", 6)  # tool-use rounds of one run
LLM_MAX_TOKENS_PER_RUN = env_int("LLM_MAX_TOKENS_PER_RUN", 60_000)  # input + output, all rounds
# The model per skill (an org may override it per skill, Organization.llm_models).
LLM_DEFAULT_MODEL = env_str("LLM_DEFAULT_MODEL", "claude-haiku-5-5")
LLM_MODELS = {
    "interview-prep": env_str("LLM_MODEL_INTERVIEW_PREP", "claude-sonnet-5-5"),
    "interview-briefing": env_str("LLM_MODEL_INTERVIEW_BRIEFING", "claude-haiku-5-5"),
    "interview-followup": env_str("LLM_MODEL_INTERVIEW_FOLLOWUP", "claude-haiku-5-5"),
    "candidate-email-draft": env_str("LLM_MODEL_CANDIDATE_EMAIL_DRAFT", "claude-sonnet-5-5"),
}
# USD per million tokens, by model, each price from the date it took effect (prices change:
# a run is costed at the price in effect when it ran). Check the provider's price list and
# override with LLM_PRICES_JSON (the same shape) when it changes.
LLM_PRICES = [
    {
        "model": "claude-haiku-5-5",
        "effective": "2026-01-01",
        "input": "1.00",
        "output": "5.00",
        "cache_write": "1.25",
        "cache_read": "0.10",
    },
    {
        "model": "claude-sonnet-5-5",
        "effective": "2026-01-01",
        "input": "3.00",
        "output": "15.00",
        "cache_write": "3.75",
        "cache_read": "0.30",
    },
]
if env_str("LLM_PRICES_JSON"):
    import json as _json

    LLM_PRICES = _json.loads(env_str("LLM_PRICES_JSON"))
# FIELD_ENCRYPTION_KEY is read at the top, with SECRET_KEY (checked together at load).

# Extra modules of deterministic skills to load (comma-separated dotted paths).
SKILL_PLUGIN_MODULES = env_list("SKILL_PLUGIN_MODULES", [])

# --- Celery -------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# The cache holds counts that must be shared by every web process (the receiver's cap on
# recorded refusals, webhooks/refusals.py): the same Redis when there is one.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
BROKER_DIR = Path(env_str("BROKER_DIR", str(DATA_DIR / "broker")))
CELERY_QUEUE = env_str("CELERY_QUEUE", "skillomatic")

# How long one run may take before the worker kills it and the reaper takes it back.
RUN_TIMEOUT_SECONDS = env_int("RUN_TIMEOUT_SECONDS", 15 * 60)
# The dashboard's "Test" runs the skill inside the web request: it must end well before the
# web server's own worker timeout (config/gunicorn.py, 30 s) kills the request.
TEST_RUN_TIMEOUT_SECONDS = env_int("TEST_RUN_TIMEOUT_SECONDS", 20)
# Runaway protection (automations/run_caps.py): a run that finds its org at the plan's cap on
# concurrent runs is sent again after RUN_CAP_RETRY_SECONDS, and skipped once it has waited
# RUN_CAP_MAX_WAIT_SECONDS since it came due.
RUN_CAP_RETRY_SECONDS = env_int("RUN_CAP_RETRY_SECONDS", 15)
RUN_CAP_MAX_WAIT_SECONDS = env_int("RUN_CAP_MAX_WAIT_SECONDS", 10 * 60)
# A pending run whose message was sent this long ago and never picked up is sent again.
RUN_RESEND_AFTER_SECONDS = env_int("RUN_RESEND_AFTER_SECONDS", 10 * 60)
# A schedule slot older than this when the scheduler reaches it counts as missed (downtime)
# and follows the automation's catch-up policy (automations/scheduling/slots.py); a late
# tick that finds several slots inside it fires the newest once (catch-up "all": up to the
# newest ten).
SCHEDULER_MISFIRE_GRACE_SECONDS = env_int("SCHEDULER_MISFIRE_GRACE_SECONDS", 5 * 60)
SCHEDULER_BATCH_SIZE = env_int("SCHEDULER_BATCH_SIZE", 500)
# How long the scheduler sleeps at most between ticks when nothing is due sooner: also the
# longest a stored ATS event waits to be sent for processing, and how soon an edit counts.
SCHEDULER_MAX_SLEEP_SECONDS = env_int("SCHEDULER_MAX_SLEEP_SECONDS", 1)
# Summaries and raw inbound bodies are purged after this many hours.
RETENTION_HOURS = env_int("RETENTION_HOURS", 24)
# A plain-English draft (automations/drafts.py) can be confirmed for this long; the retention
# purge deletes it after.
AUTOMATION_DRAFT_TTL_MINUTES = env_int("AUTOMATION_DRAFT_TTL_MINUTES", 60)

# --- Operations (automations/ops/) ------------------------------------------------------------
# /status calls the beat (the scheduler) down when its newest heartbeat is older than this, and
# the workers down when none has written one within STATUS_WORKER_MAX_AGE_SECONDS. The beat
# writes one at most every 5 s from its tick, each worker's main process every 10 s.
STATUS_BEAT_MAX_AGE_SECONDS = env_int("STATUS_BEAT_MAX_AGE_SECONDS", 60)
STATUS_WORKER_MAX_AGE_SECONDS = env_int("STATUS_WORKER_MAX_AGE_SECONDS", 60)
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
# The alert evaluator (automations/ops/alerts.py) runs this often, in whichever beat or worker
# process takes the lease first: so the alerts still fire when the beat is the part that
# died. 0 turns the background evaluation off (`manage.py check_alerts` still runs it).
ALERT_EVALUATE_SECONDS = env_int("ALERT_EVALUATE_SECONDS", 60)
# An open alert is told again this often while it lasts.
ALERT_REMIND_HOURS = env_int("ALERT_REMIND_HOURS", 24)
# Runs due but not started for this long: the workers are not keeping up (or not running).
ALERT_BACKLOG_SECONDS = env_int("ALERT_BACKLOG_SECONDS", 5 * 60)
# An ATS connection is silent when nothing came for 3x its usual gap between deliveries, and
# at least this long (a quiet weekend is not an outage).
ALERT_CONNECTION_SILENT_MIN_HOURS = env_int("ALERT_CONNECTION_SILENT_MIN_HOURS", 24)
# Refused deliveries in the last hour above which a connection counts as refusing (refusals
# are recorded at most a few a minute per status code: webhooks/refusals.py).
ALERT_CONNECTION_REFUSALS_PER_HOUR = env_int("ALERT_CONNECTION_REFUSALS_PER_HOUR", 10)

# How often the beat sends the sweeper (unsent and stale runs, unprocessed events), the
# reaper (runs whose worker died) and the poller. A minute suits production; the fault suite
# (tests/faults/) turns it down so a recovery is seen in seconds.
MAINTENANCE_EVERY_SECONDS = env_int("MAINTENANCE_EVERY_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "runs-sweep-pending": {
        "task": "automations.sweep_pending_runs",
        "schedule": timedelta(seconds=MAINTENANCE_EVERY_SECONDS),
        "options": {"expire_seconds": MAINTENANCE_EVERY_SECONDS},
    },
    "runs-reap-stuck": {
        "task": "automations.reap_stuck_runs",
        "schedule": timedelta(seconds=MAINTENANCE_EVERY_SECONDS),
        "options": {"expire_seconds": MAINTENANCE_EVERY_SECONDS},
    },
    "webhooks-sweep-received": {
        "task": "webhooks.sweep_received_events",
        "schedule": timedelta(seconds=MAINTENANCE_EVERY_SECONDS),
        "options": {"expire_seconds": MAINTENANCE_EVERY_SECONDS},
    },
    "webhooks-poll-connections": {
        "task": "webhooks.poll_connections",
        "schedule": timedelta(seconds=MAINTENANCE_EVERY_SECONDS),
        "options": {"expire_seconds": MAINTENANCE_EVERY_SECONDS},
    },
    "runs-purge-expired": {
        "task": "automations.purge_expired_data",
        "schedule": timedelta(hours=1),
        "options": {"expire_seconds": 600},
    },
}

# Structured logs (config/logs.py): every library's records through structlog's
# ProcessorFormatter: JSON lines unless DEBUG (then the console renderer), with the ids bound
# for the request or task, secrets and emails redacted.
from config.logs import configure_structlog, formatter_config  # noqa: E402

configure_structlog()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": formatter_config(debug=DEBUG)},
    # Webhook URLs may carry a secret in their query string (Zoho's token): the loggers that
    # write request lines (runserver's django.server, django.request) cut it off; the
    # formatter's redaction does the same for every other line.
    "filters": {"webhook_query": {"()": "config.log_redaction.WebhookQueryFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "structured",
            "filters": ["webhook_query"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"filters": ["webhook_query"], "propagate": True},
        "django.request": {"filters": ["webhook_query"]},
    },
}

# Error reports (debug pages, admin emails) hide settings and request variables whose name
# says they hold credentials, URLs with passwords (DATABASE_URL, REDIS_URL) included.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.reporting.CredentialHidingFilter"

# The JSON API under /api/ (automations/api/: its package docstring says how to add an endpoint).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Integrators: personal API tokens (Authorization: Bearer), hashed at rest.
        "accounts.api_auth.TokenAuthentication",
        # The dashboard's own calls: the session, with CSRF enforced by DRF.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: no browsable API (its forms and inline scripts are a second surface).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["automations.api.parsers.ApiJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "automations.api.pagination.CursorPage",
    "DEFAULT_FILTER_BACKENDS": ["automations.api.filtering.StrictFilterBackend"],
    "EXCEPTION_HANDLER": "automations.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "automations.api.throttling.TokenRateThrottle",
        "automations.api.throttling.OrgRateThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "automations.api.schema.ApiAutoSchema",
}
# Requests allowed per minute (or /s, /hour, /day), counted in the shared cache (CACHES): per
# API token (per user for a session) and per org in the URL. Tests lower them.
API_RATE_PER_TOKEN = env_str("API_RATE_PER_TOKEN", "600/min")
API_RATE_PER_ORG = env_str("API_RATE_PER_ORG", "3000/min")
# How long an Idempotency-Key's first answer is kept and replayed (then purged).
API_IDEMPOTENCY_HOURS = 24
SPECTACULAR_SETTINGS = {
    "TITLE": "Skillomatic Automations API",
    "DESCRIPTION": (
        "Recruiting automations: create, run and watch them. Every 4xx answer has the body "
        '{"error": {"code", "message", "fields"}}. Lists are cursor-paginated.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The checked-in docs/openapi.yaml must not change from run to run.
    "SORT_OPERATIONS": True,
    "SORT_OPERATION_PARAMETERS": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": True,
    # Several models have a `status`: each choice set gets its own stable name.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "automations.models.AutomationRun.Status",
        "AutomationStatusEnum": "automations.models.Automation.Status",
        "DeliveryStatusEnum": "delivery.models.Delivery.Status",
        "ChannelKindEnum": "delivery.models.DeliveryChannel.Kind",
        "ChannelStatusEnum": "delivery.models.DeliveryChannel.Status",
        "NotificationKindEnum": "delivery.models.Notification.Kind",
        "EventStatusEnum": "webhooks.models.InboundEvent.Status",
        "SkillModeEnum": "skills.models.Skill.Mode",
        "ConnectionModeEnum": "webhooks.models.AtsConnection.Mode",
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
