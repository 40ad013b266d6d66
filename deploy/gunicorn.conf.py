"""gunicorn settings for the control center (`gunicorn -c deploy/gunicorn.conf.py factory.wsgi`).

Every value can be changed from the environment (deploy/production.env.example) without editing this file.
"""

import multiprocessing
import os

# Behind a reverse proxy on the same host by default; set GUNICORN_BIND=0.0.0.0:8000 when the proxy (or a load
# balancer) is on another machine.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: every view is short and database-bound, and a sync worker holds one request, so a slow one cannot
# starve others in its process. gunicorn's rule of thumb, 2 x cores + 1.
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"

# Longer than the slowest page (a quote runs the forward simulation: a few seconds), short enough that a stuck
# worker is replaced before the proxy gives up on it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# A restart lets a request in flight finish for this long; systemd's TimeoutStopSec is longer.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
# The proxy keeps connections open to us; a little longer than nothing saves a handshake per request.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))

# Recycle workers now and then (jittered, so they do not all restart at once): bounds any slow leak.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = max_requests // 10

# Only these proxies' X-Forwarded-* headers are believed (the client's address for django-axes, https for
# SECURE_PROXY_SSL_HEADER); anyone else could spoof them.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to stderr, which systemd's journal keeps; the access log names the client behind the proxy.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Import the application once in the master, so a broken deployment fails at start, not in each worker.
preload_app = True
