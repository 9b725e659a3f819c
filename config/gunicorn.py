"""The web server's settings: `gunicorn -c config/gunicorn.py config.wsgi`.

gevent workers: a request waiting on the database or on an outside service lets its process
serve others, without an OS thread per request. It is what lets the webhook receiver's group
commit (webhooks/event_store.py) fill its batches while one is being written. WEB_BIND,
WEB_WORKERS and WEB_CONNECTIONS override the defaults below; gunicorn's own flags override
any of them.
"""

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS") or os.cpu_count() or 2)
worker_class = "gevent"
# Concurrent connections per worker process.
worker_connections = int(os.environ.get("WEB_CONNECTIONS", "1000"))
keepalive = 5
# Each worker listens on its own socket, so the kernel spreads connections over them (with
# one shared socket a busy worker can take every keep-alive connection while the others idle).
reuse_port = True
timeout = 30
# Django's database connections are per thread, which means per greenlet here: close them
# at the end of each request rather than keeping one open per greenlet that ever asked.
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
# The access log writes the path without its query string (%(U)s, never %(r)s or %(q)s):
# webhook URLs may carry a secret there (Zoho's token). Otherwise gunicorn's default format.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'


# -- Metrics (config/metrics.py) ------------------------------------------------------------
# The master never loads settings, so it is told the workers' metrics folder here (the same
# default as settings: METRICS_DIR, else DATA_DIR/prometheus); the workers inherit it.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.environ.get("METRICS_DIR")
    or os.path.join(
        os.environ.get("DATA_DIR", os.path.join(os.path.dirname(__file__), "..", ".data")),
        "prometheus",
    ),
)


def child_exit(server, worker) -> None:
    """A worker exited (or was killed): its live gauges stop counting towards /metrics."""
    from prometheus_client import multiprocess

    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.path.isdir(path):
        multiprocess.mark_process_dead(worker.pid, path)


# -- Logs (config/logs.py) --------------------------------------------------------------------
# gunicorn's own lines (gunicorn.error, gunicorn.access) go through the same JSON formatter as
# Django's, so a log shipper reads one format. Under DEBUG gunicorn keeps its plain text.
# The access line's message is access_log_format above (path without its query string).
if os.environ.get("DEBUG", "").lower() not in ("1", "true", "yes", "on"):
    from config.logs import formatter_config

    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter_config(debug=False)},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
    accesslog = "-"
