"""One settings module, driven by the environment (see .env.example for every variable).

Production is the default: DEBUG is off and the secrets have no defaults. Development and tests
turn DEBUG on, which also enables the embedded Postgres and filesystem broker when
DATABASE_URL / CELERY_BROKER_URL are not set.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("FACTORY_DATA_DIR", default=str(BASE_DIR / ".data")))

# Fail at start-up, naming every missing variable, rather than run production half-configured.
_REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")
if not DEBUG:
    missing = [name for name in _REQUIRED_IN_PRODUCTION if not env.str(name, default="")]
    if missing:
        raise ImproperlyConfigured(
            "Missing required production settings: "
            + ", ".join(missing)
            + ". Set them in the environment, or set DEBUG=true for development."
        )

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Postgres' index operator classes (the trigram indexes of factory.db.text_search_index) and lookups.
    "django.contrib.postgres",
    "factory.lockout.SignInLockoutConfig",  # django-axes, named in both languages
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "factory",
    "notifications",
    "catalog",
    "orders",
    "dispatch",
    "security",
    "aftersales",
    "webhooks",
    "statements",
    "dashboard",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Outside the 503 answer below, which may come after an API call was counted.
    "factory.throttling.RateLimitHeadersMiddleware",
    "factory.middleware.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it answers locked-out sign-ins before they reach the login view.
    "axes.middleware.AxesMiddleware",
]

# --- Content Security Policy ------------------------------------------------------------------------
# Everything comes from this site: scripts only from files (no inline script, no eval), so an injected
# <script> does not run. Inline styles stay allowed: progress bars set their width inline and plotly
# styles its own SVG.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF],
        "style-src": [csp_constants.SELF, csp_constants.UNSAFE_INLINE],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.SELF],
        "form-action": [csp_constants.SELF],
        "frame-ancestors": [csp_constants.NONE],
    }
}

# --- Sign-in ----------------------------------------------------------------------------------------
# django-axes counts failed sign-ins (pages, admin and POST /api/v1/auth/token/) and locks the username
# from that address after AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME: a brute-force defence that
# per-request throttling is not. A successful sign-in clears the count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "factory.views.sign_in_locked_out"
# Every attempt while locked (even with the right password) starts the cool-off again, so the lockout's answer
# can say exactly when to try again: a whole AXES_COOLOFF_TIME later (its Retry-After). django-axes' default, said.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
# Behind a proxy set this to the number of trusted proxies in front of the app, so the client's address counts.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0) or None

ROOT_URLCONF = "factory.urls"
WSGI_APPLICATION = "factory.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.control_center",
            ],
        },
    },
]

# --- Cache ----------------------------------------------------------------------------------
# Shared by every web worker and the Celery worker: a change made in one process (a revoked tracking link, the
# dispatch tick's figures) must refuse the copies the others keep (factory.kept). So production names a Redis
# database (not the broker's). Without one (development), each process has its own cache in memory and no
# copies are kept, unless asked for (the tests, in one process, keep them as production does).
_cache_url = env.str("CACHE_URL", default="locmem://")
_shared_cache = not _cache_url.startswith("locmem://")
if _shared_cache:
    CACHES = {
        "default": {
            "BACKEND": "factory.cache.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "factory",
            # An unreachable cache costs a page half a second at most: it is then answered from the database.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long the tracking page and an order's API representation may be served from a copy (orders.read_cache),
# and an API token's user and roles (factory.authentication). 0: never.
ORDER_READ_CACHE_SECONDS = env.int("ORDER_READ_CACHE_SECONDS", default=60 if _shared_cache else 0)
API_TOKEN_CACHE_SECONDS = env.int("API_TOKEN_CACHE_SECONDS", default=60 if _shared_cache else 0)

# --- Database -------------------------------------------------------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from devrun import embedded  # development only: production names its DATABASE_URL

    DATABASES = {"default": environ.Env.db_url_config(embedded.database_url(DATA_DIR))}
    # The server's socket folder comes as ?host=, which django-environ files among the options: HOST is where
    # Django's own tools and ours (tests and benches that open a second connection) read it.
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host", "")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
# Postgres notices a client that died mid-query (a killed worker) within 2 s and ends its session, releasing
# its locks (e.g. the dispatch tick's advisory lock) instead of holding them until the query's wait ends. A host
# that vanished (power, network) closes no socket: the keepalives find it gone in about 25 s instead of the
# kernel's two hours, so its locks do not stop every other host's ticks meanwhile.
DATABASES["default"]["OPTIONS"]["options"] = (
    "-c client_connection_check_interval=2000"
    " -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalization -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our English date formats (factory/formats/en); other names fall back to Django's locale formats.
FORMAT_MODULE_PATH = ["factory.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js comes from the installed plotly package, never from a CDN or a committed copy.
    "factory.staticfinders.PlotlyFinder",
]
# Development and tests serve static files straight from the finders; production from collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
# Every static URL names its file's content, so browsers keep the files (4.8 MB of plotly.js) instead of asking
# again on every page: production's hashed names get WhiteNoise's far-future lifetime (immutable, 10 years);
# development's `?v=<hash>` URLs (factory.staticstorage) get a year. Production's unhashed names keep a minute.
WHITENOISE_MAX_AGE = 365 * 24 * 3600 if DEBUG else 60
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "factory.staticstorage.VersionedStaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (safe by default; relaxed only by DEBUG) -------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that sets this header itself; otherwise clients could spoof HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API -------------------------------------------------------------------------------


def _rate(name: str, default: str) -> str:
    """A rate limit from the environment, as DRF reads it: calls per second, minute, hour or day ("600/min")."""
    value = env.str(name, default=default)
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must be calls per second, minute, hour or day (600/min); not {value!r}.")
    return value


REST_FRAMEWORK = {
    # Token first, so an anonymous API call answers 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "factory.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only, as the schema says: a body offered as JSON, form and multipart at once left generated
    # clients sending multipart (or not importing). Another content type answers 415.
    "DEFAULT_PARSER_CLASSES": ["factory.parsers.JSONParser"],
    # The test client sends what the API takes.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # OPTIONS describes the fields a POST takes, not the answer's (all read-only).
    "DEFAULT_METADATA_CLASS": "factory.metadata.Metadata",
    "DEFAULT_PAGINATION_CLASS": "factory.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["factory.api.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "factory.schema.AutoSchema",
    "EXCEPTION_HANDLER": "factory.api.exception_handler",
    "PAGE_SIZE": 25,
    # Rate limits (factory.throttling), counted in the default cache: per signed-in user, and per address for
    # anonymous calls (the schema and its docs; a call refused 401 is not counted). The token endpoint has its own,
    # tighter limit per address: it is called once per integration, and beside django-axes' lock of one username it
    # slows a guesser trying many. A user's limit leaves room for integrations polling every few seconds and a
    # control-room screen, and stops a runaway loop.
    "DEFAULT_THROTTLE_CLASSES": ["factory.throttling.AnonymousRate", "factory.throttling.UserRate"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _rate("API_RATE_ANON", "60/min"),
        "user": _rate("API_RATE_USER", "600/min"),
        "token": _rate("API_RATE_TOKEN", "10/min"),
    },
    # A caller's address as django-axes reads it: the one the last of the trusted proxies saw.
    "NUM_PROXIES": AXES_IPWARE_PROXY_COUNT or 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI Factory Control Center API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The integrators' guide (auth, errors, paging, idempotency, rate limits) becomes the schema's description;
    # every operation gets its example request and answer, declared in each app's api_examples module.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "factory.api_guide.describe_the_api",
        "factory.api_examples.add_examples",
    ],
    # A request body gets its own component, without the read-only fields and with minLength 1 on the texts
    # that may not be blank: generated clients then build requests from what a request takes.
    "COMPONENT_SPLIT_REQUEST": True,
    # Operations are tagged and named by resource (orders, pools, ...; operationId orders_list), not all "v1".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # One enum per choice set wherever it appears (an order's status and an event's from/to status, say).
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PriorityEnum": "orders.models.Priority",
        "WorkshopEnum": "catalog.models.Workshop",
        "PoolKindEnum": "catalog.models.PoolKind",
        "ChangeKindEnum": "dispatch.models.ChangeKind",
        "RunStateEnum": "dispatch.models.RunState",
        "ReservationKindEnum": "dispatch.models.ReservationKind",
        "BookingStateEnum": "dispatch.selectors.BookingState",
        "PoolStateEnum": "dispatch.models.PoolState",
        "WindowStateEnum": "dispatch.models.WINDOW_STATES",
    },
    # Served from the installed sidecar package: the machines are offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ---------------------------------------------------------------------------------
# A worker killed mid-task (its child process or the whole worker) loses no work: the message is acknowledged
# only once the task has returned, goes back to the queue when the child running it dies, and is handed to
# another worker by the Redis broker (by the embedded one: devrun.broker) when the whole worker died with it
# unacknowledged. Every periodic task is safe to run again: the tick computes progress from
# DispatchState.last_tick_at inside one transaction, so a tick killed before COMMIT is redone whole by the
# next one and never counted twice.
# tests/foundation/test_worker_faults.py kills real workers to prove it.
# The longest hard time limit of any task (forecast_etas: 150 s; the test above checks it stays the longest).
_LONGEST_TASK_SECONDS = 150
# Deliveries that may end with a dead worker before the message is dropped with an error (counted by
# factory/tasks.py in the broker's Redis, by devrun.broker on the embedded one).
CELERY_TASK_MAX_DELIVERIES = env.int("CELERY_TASK_MAX_DELIVERIES", default=3)
if env.str("CELERY_BROKER_URL", default=""):
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
    # Redis hands an unacknowledged message to another worker once it has been out this long, which is how
    # the work of a worker that died whole comes back. Longer than any task may run, or a slow task would
    # run twice at once; short enough that a lost message comes back within minutes (beat re-sends the
    # tick every few seconds anyway). A task sent with an ETA or countdown further ahead than this would run
    # twice (there is none today). Tests that kill a whole worker set it to a few seconds.
    _visibility_timeout = env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * _LONGEST_TASK_SECONDS)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility_timeout,
        # kombu looks for overdue messages only every interval x throttle seconds (100 s by default), which
        # would add up to that to every recovery: look every tenth of the timeout (1-10 s; one cheap query).
        "unacked_restore_interval": max(1, min(10, _visibility_timeout // 10)),
        "unacked_restore_throttle": 1,
    }
else:
    from devrun import embedded  # development only: production names its CELERY_BROKER_URL

    CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT, CELERY_BROKER_TRANSPORT_OPTIONS = embedded.broker_settings(
        DATA_DIR, max_deliveries=CELERY_TASK_MAX_DELIVERIES
    )
    # Threads, not prefork: without an event loop (none on this transport) prefork's children share one queue
    # lock, and a child killed while holding it (an idle one, waiting for work) blocks the others for good.
    # Threads have no child to lose; a dead worker is restarted by bin/run's supervisor (devrun.supervision),
    # and the messages it had taken go back on the queue when it starts again (devrun.broker). No hard time
    # limits in this pool: development only.
    CELERY_WORKER_POOL = "threads"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Acknowledge a message after its task returned, not when it starts: a worker dying mid-task leaves it queued.
CELERY_TASK_ACKS_LATE = True
# ...and when the child process running it dies (SIGKILL, OOM killer), put it back on the queue at once
# instead of failing it; the delivery limit above stops a task that kills every worker it lands on.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Reserve one message per child at a time: a reserved message waits unacknowledged behind a running task,
# and a dying worker would take more messages out of circulation until the visibility timeout.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Production runs beat on several hosts: RedBeat keeps the schedule in the broker's Redis and lets only the
    # holder of its lock send, the others retrying every loop to take over. The holder renews the lock every
    # loop (at most CELERY_BEAT_MAX_LOOP_INTERVAL); a holder that died outright loses it after
    # REDBEAT_LOCK_TIMEOUT, so a standby sends within about 25 s: fewer than /healthz's 10 tick periods (50 s).
    # A beat stopped by SIGTERM releases it at once. Sending twice would still not count compute twice
    # (dispatch.tasks: each tick counts from the last one, under the dispatch lock), only waste a message.
    # Without Redis (development), beat's own file scheduler, one beat.
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_BEAT_MAX_LOOP_INTERVAL = 5
    CELERY_REDBEAT_LOCK_TIMEOUT = 4 * CELERY_BEAT_MAX_LOOP_INTERVAL
    CELERY_REDBEAT_REDIS_URL = CELERY_BROKER_URL
    CELERY_REDBEAT_KEY_PREFIX = "factory:beat:"
    # A Redis that stops answering fails the holder's renewal (beat exits and its unit restarts it) instead of
    # hanging on to the lock; the broker's transport options are no client options.
    CELERY_REDBEAT_REDIS_OPTIONS = {"socket_connect_timeout": 5, "socket_timeout": 5}
# Periodic work, each with the reason for its period.
CELERY_BEAT_SCHEDULE: dict = {
    # Pools and progress bars should look live on a control-room screen; a tick costs well under a second.
    "dispatch-tick": {"task": "dispatch.tasks.dispatch_tick", "schedule": env.float("DISPATCH_TICK_SECONDS", 5.0)},
    # A forward simulation of the whole factory takes seconds: once a minute keeps ETAs fresh without a hot loop.
    "forecast-etas": {"task": "dispatch.tasks.forecast_etas", "schedule": 60.0},
    # Gates that finished their work get a review in the security queue within seconds.
    "open-reviews": {"task": "security.tasks.open_reviews", "schedule": 10.0},
    # The tightest SLA window is an hour of factory time: a breach must show within a few factory minutes.
    "ticket-sla-watch": {"task": "aftersales.tasks.sla_watch", "schedule": 15.0},
    # A month's statements go out within a factory hour of its end (a minute at x60; real time in production).
    "monthly-statements": {"task": "statements.tasks.issue_monthly_statements", "schedule": 60.0},
    # Yesterday's notices go out as one e-mail to those who chose the daily digest, once a factory day.
    "notice-digests": {"task": "notifications.tasks.send_digests", "schedule": 60.0},
    # Staff hear of gate reviews waiting too long and of clients' budgets near their end within a factory hour.
    "review-wait-watch": {"task": "security.tasks.watch_waiting_reviews", "schedule": 60.0},
    "budget-watch": {"task": "dispatch.tasks.watch_budgets", "schedule": 60.0},
    # Webhook retries wait 1 factory minute and up: every 10 s (10 factory minutes at x60) keeps them near on time.
    "webhook-deliveries": {"task": "webhooks.tasks.send_due_webhooks", "schedule": 10.0},
    # Demo mode only (a no-op otherwise): simulated staff act every 10 s, i.e. 10 factory minutes at x60.
    "demo-simulated-staff": {"task": "demo.tasks.simulate_staff", "schedule": 10.0},
}
# Every periodic task is re-sent by beat on its next period, so a message that waited out several periods
# (workers down for a while) is dropped rather than replayed in a burst when they come back.
for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry.setdefault("options", {})["expires"] = max(30.0, 3 * _entry["schedule"])

# --- Notifications ---------------------------------------------------------------------------------
# Outgoing mail (notifications.services): an SMTP server as EMAIL_URL (smtp://user:password@host:587, or
# submission://… for STARTTLS), else the console: bin/run's worker prints each e-mail in its log.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AI Factory <factory@localhost>")
# The address the e-mails' links start with: the site as its users reach it.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
# How often an open page asks for the person's unread notices, in seconds (the header's count).
NOTICE_POLL_SECONDS = env.int("NOTICE_POLL_SECONDS", default=10)
# The security staff hear of a gate review still pending after this many factory hours.
REVIEW_WAIT_NOTICE_HOURS = env.int("REVIEW_WAIT_NOTICE_HOURS", default=8)
# A client hears of an ETA slip once its ETA has moved this many hours past the one it was last told.
ETA_SLIP_NOTICE_HOURS = env.int("ETA_SLIP_NOTICE_HOURS", default=24)
# Webhooks (webhooks.services): an endpoint whose host resolves to a loopback, private, link-local or otherwise
# non-public address is refused unless this is on (tests and a developer's own receiver on loopback).
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# A delivery is retried (1, 2, 4 … factory minutes apart, at most 4 hours) for this many factory hours.
WEBHOOK_RETRY_HOURS = env.int("WEBHOOK_RETRY_HOURS", default=24)
# How long one attempt waits for the receiver's answer, in seconds.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)

# --- Statements -----------------------------------------------------------------------------------
# The CJK font the statements' PDFs embed (statements/pdf.py): Debian's fonts-wqy-microhei, which .ci/run installs.
# Without it the PDFs name a standard Chinese font that the reader's viewer supplies.
STATEMENT_FONT_PATH = env.str("STATEMENT_FONT_PATH", default="/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

# --- Dispatch -------------------------------------------------------------------------------------
# Simulated load of the platform's other tenants on our pools (off only in tests that count capacity).
DISPATCH_BACKGROUND_LOAD = env.bool("DISPATCH_BACKGROUND_LOAD", default=True)
# The Slurm clusters a compute site may run on (its executor "slurm", its cluster one of these names), as JSON:
# {"xinghe": {"url": "https://slurm.xinghe.example:6820", "user": "factory", "token": "<JWT>", "workdir": "/scratch"}}
# (workdir: where jobs start, the root folder by default; "slurm_conf": the cluster's slurm.conf, where the factory
# administers the cluster, lets a pool's state reach its partition through scontrol). Tokens live here and nowhere
# else: never in the database, a page or a log.
SLURM_CLUSTERS = env.json("SLURM_CLUSTERS", default={})
for _cluster, _given in SLURM_CLUSTERS.items():
    if not isinstance(_given, dict) or not {"url", "user", "token"} <= set(_given):
        raise ImproperlyConfigured(f"SLURM_CLUSTERS[{_cluster!r}] needs url, user and token.")
# What a job's batch script runs on a cluster: {toolchain}, {step}, {order} and {job} name it, {seconds} is its
# remaining work in real seconds at the factory clock's speed (the default sleeps that long: a simulation).
SLURM_JOB_COMMAND = env.str("SLURM_JOB_COMMAND", default="sleep {seconds}")
# A job whose runs are lost this many times (failed, its node lost) stops with an alarm instead of a new try.
SLURM_JOB_ATTEMPTS = env.int("SLURM_JOB_ATTEMPTS", default=3)

# --- The factory ----------------------------------------------------------------------------
# The one clock (factory.clock.now): from the real instant FACTORY_CLOCK_ANCHOR on, simulated time
# starts at FACTORY_CLOCK_ORIGIN and runs FACTORY_CLOCK_SPEED times faster than real time.
# Unset in production: real time. The run command sets them so a demo resumes where it stopped.
FACTORY_CLOCK_SPEED = env.float("FACTORY_CLOCK_SPEED", default=1.0)
FACTORY_CLOCK_ANCHOR = env.str("FACTORY_CLOCK_ANCHOR", default="") or None
FACTORY_CLOCK_ORIGIN = env.str("FACTORY_CLOCK_ORIGIN", default="") or FACTORY_CLOCK_ANCHOR
if FACTORY_CLOCK_SPEED <= 0:
    raise ImproperlyConfigured("FACTORY_CLOCK_SPEED must be positive.")
if FACTORY_CLOCK_SPEED != 1 and not FACTORY_CLOCK_ANCHOR:
    raise ImproperlyConfigured("FACTORY_CLOCK_SPEED other than 1 needs FACTORY_CLOCK_ANCHOR (an ISO datetime).")
# Demo mode: demo data may be created and simulated staff keep the demo factory flowing.
DEMO_MODE = env.bool("DEMO_MODE", default=False)
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="factory-demo")
# Hours a security gate is expected to take, used by the nominal ETA until there is review history.
GATE_REVIEW_HOURS = env.int("GATE_REVIEW_HOURS", default=24)
# ETAs and quotes simulate the demand to expect (the orders of the last four weeks, again): far closer ETAs
# for low and normal work, at three to four times the forecast's time (dispatch/forecast.py). With more
# orders in flight than this they do not, so that the forecast stays well within its task's time limit.
FORECAST_EXPECTED_DEMAND_UP_TO = env.int("FORECAST_EXPECTED_DEMAND_UP_TO", default=300)
# Orders' extension points (orders/extensions.py): what orders writes is chosen here, by name, since orders
# imports no app above it. Quotes, and so promised dates, come from the dispatch center's forward simulation.
ORDER_ESTIMATOR = "dispatch.forecast.queue_aware_quote"
# The dispatch center's forecast_etas task (every minute) writes ETAs; the workflow only fills in missing ones.
ORDER_ETA_FROM_FORECAST = True
# CNY per PFLOPS·h used for quotes before a pool is chosen.
NOMINAL_PRICE_PER_PFLOPS_HOUR = env.str("NOMINAL_PRICE_PER_PFLOPS_HOUR", default="30.00")
# Resolved tickets the client neither confirms nor reopens close on their own after this many days.
TICKET_AUTO_CLOSE_DAYS = env.int("TICKET_AUTO_CLOSE_DAYS", default=7)
# Vertical models (model, agent and application orders) the factory plans to deliver in a year: about what the real
# factory makes at full load (DESIGN.md). The plan page (/plan/) measures the last 365 days and the year against it.
FACTORY_YEARLY_TARGET_MODELS = env.int("FACTORY_YEARLY_TARGET_MODELS", default=800)
if FACTORY_YEARLY_TARGET_MODELS <= 0:
    raise ImproperlyConfigured("FACTORY_YEARLY_TARGET_MODELS must be a positive number of models.")
HEALTHZ_BROKER_TIMEOUT = timedelta(seconds=3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
