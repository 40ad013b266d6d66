"""gunicorn settings for the control center (`gunicorn -c deploy/gunicorn.conf.py factory.wsgi`).

Every value can be changed from the environment (deploy/production.env.example) without editing this file.
"""

import multiprocessing
import os


def _number(name: str, default: int) -> int:
    """An integer from the environment; unset or empty (as .env.example leaves some) means the default."""
    return int(os.environ.get(name) or default)


# Behind a reverse proxy on the same host by default; set GUNICORN_BIND=0.0.0.0:8000 when the proxy (or a load
# balancer) is on another machine.
bind = os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"

# Sync workers: every view is short and database-bound, and a sync worker holds one request, so a slow one cannot
# starve others in its process. gunicorn's rule of thumb, 2 x cores + 1.
workers = _number("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1)
worker_class = "sync"

# Longer than the slowest page (a quote runs the forward simulation: a few seconds), short enough that a stuck
# worker is replaced before the proxy gives up on it.
timeout = _number("GUNICORN_TIMEOUT", 30)
# A restart lets a request in flight finish for this long; systemd's TimeoutStopSec is longer.
graceful_timeout = _number("GUNICORN_GRACEFUL_TIMEOUT", 20)
# The proxy keeps connections open to us; a little longer than nothing saves a handshake per request.
keepalive = _number("GUNICORN_KEEPALIVE", 5)

# Recycle workers now and then (jittered, so they do not all restart at once): bounds any slow leak.
max_requests = _number("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

# Only these proxies' X-Forwarded-* headers are believed (the client's address for django-axes, https for
# SECURE_PROXY_SSL_HEADER); anyone else could spoof them.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

# Logs go to stderr, which systemd's journal keeps; the access log names the client behind the proxy.
accesslog = "-"
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
access_log_format = '%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Import the application once in the master, so a broken deployment fails at start, not in each worker.
preload_app = True
