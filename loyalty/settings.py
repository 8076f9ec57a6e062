"""Settings for the loyalty engine, read from the environment (12-factor).

Every knob is an environment variable with a development default:
DATABASE_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, REDIS_URL, TIME_ZONE.
With DEBUG off the development secret key is refused, so production cannot start with it.
"""

import datetime as dt
import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or os.environ.get("LOYALTY_TESTING") == "1"

DEVELOPMENT_SECRET_KEY = "dev-insecure-loyalty-engine-key-change-me"
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY
if not DEBUG and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set to a secret value when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "django_q",
    "axes",
    "csp",
    "loyalty",
    "customers",
    "events",
    "transactions",
    "coupons",
    "segments",
    "workflows",
    "cards",  # loyalty cards
    "referrals",  # referral codes
    "budgets",  # per-customer budgets
    "achievements",  # achievements
    "dataio",  # imports, exports and the jobs page
    "dashboard",  # the home page's daily rollups
    "webhooks",  # outgoing and incoming webhooks
    "loyalty.api",
    "loyalty.audit",
]

MIDDLEWARE = [
    "loyalty.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "loyalty.console.middleware.ConsoleEnvironmentMiddleware",
    "loyalty.console.timezone.ProgramTimeZoneMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loyalty.urls"
WSGI_APPLICATION = "loyalty.wsgi.application"
ASGI_APPLICATION = "loyalty.asgi.application"

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
                "loyalty.console.context_processors.console",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the console, the API and the q cluster share one file.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Server-side parameter binding lets psycopg prepare the statements a connection repeats
    # (every event runs the same few) after 5 runs: the server then skips parsing and planning,
    # which for the customer lookup costs more than executing it. Set DB_PREPARED_STATEMENTS=false
    # behind a transaction-pooling pgbouncer (prepared statements are per server connection).
    if env_bool("DB_PREPARED_STATEMENTS", True):
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
# A persistent connection is checked before each request reuses it: a connection
# the server dropped (restart, failover, pg_terminate_backend) is replaced instead of failing the
# request. A request that still meets a dead database gets 503 + Retry-After (loyalty.middleware).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
if os.environ.get("TEST_DATABASE_NAME"):
    # lets several test runs share one PostgreSQL server without clashing
    DATABASES["default"]["TEST"]["NAME"] = os.environ["TEST_DATABASE_NAME"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")

# Escher credential scope of signed API requests (docs/api.md): per installation, as the
# reference's examples use `test/api/antavo_request` or `demo/api/antavo_request`.
API_CREDENTIAL_SCOPE = os.environ.get("API_CREDENTIAL_SCOPE", "test/api/antavo_request")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Configuration (program, accounts, custom fields, event definitions) is kept in each process and
# re-checked against the shared cache this often (loyalty.configcache); tests check every time.
CONFIG_CACHE_CHECK_SECONDS = 0.0 if TESTING else float(os.environ.get("CONFIG_CACHE_CHECK_SECONDS", "1"))
# Where the configuration generation is shared: "auto" = the cache with REDIS_URL, else the
# database (shared by every process in every setup). Tests run one process: "cache".
CONFIG_GENERATION_STORE = os.environ.get("CONFIG_GENERATION_STORE", "cache" if TESTING else "auto")

Q_CLUSTER = {
    "name": "loyalty",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    # Seconds before a task is killed / redelivered (Q_TIMEOUT / Q_RETRY: the kill test shortens them).
    "timeout": int(os.environ.get("Q_TIMEOUT", "300")),
    "retry": int(os.environ.get("Q_RETRY", "600")),
    "catch_up": False,
    # Tests run tasks inline; django-q2 reads this once at import, so it is decided here.
    "sync": TESTING or env_bool("Q_SYNC", False),
    "orm": None if REDIS_URL else "default",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL

# Workflows' action branch outbox: failed attempts before a row is parked as failed (a dead letter
# on Workflows → Pending triggers, retried or discarded by hand). Pauses double from 60 s to 1 h.
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "12"))

# Webhooks (docs/user-guide/webhooks.md). Seconds to wait after the 1st, 2nd, ... failed attempt:
# 12 attempts over ~16 hours by default; then the delivery is failed (dead-letter list, replayable).
WEBHOOK_RETRY_DELAYS = [
    int(s) for s in env_list("WEBHOOK_RETRY_DELAYS", "10,30,120,300,900,1800,3600,7200,10800,14400,21600")
]
# Circuit breaker: after this many failures in a row a site rests for WEBHOOK_BREAKER_SECONDS.
WEBHOOK_BREAKER_FAILURES = int(os.environ.get("WEBHOOK_BREAKER_FAILURES", "5"))
WEBHOOK_BREAKER_SECONDS = int(os.environ.get("WEBHOOK_BREAKER_SECONDS", "60"))
WEBHOOK_MAX_RESPONSE_BYTES = int(os.environ.get("WEBHOOK_MAX_RESPONSE_BYTES", str(64 * 1024)))
# SSRF guard: private, loopback and reserved addresses are refused unless listed here (CIDRs).
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128" if TESTING else "")
# Keys encrypting the sites' and endpoints' secrets (comma-separated, first one encrypts; empty:
# derived from SECRET_KEY). Rotating: put the new key first and keep the old one after it.
WEBHOOK_SECRET_KEYS = os.environ.get("WEBHOOK_SECRET_KEYS", "")
# Incoming refusals before authentication (404, 405, 413, 429) logged at most this often a minute
# per endpoint (and for all unknown names together), so a flood cannot fill the log.
WEBHOOK_REFUSAL_LOG_PER_MINUTE = int(os.environ.get("WEBHOOK_REFUSAL_LOG_PER_MINUTE", "60"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Console login protection (django-axes; docs/security.md): after AXES_FAILURE_LIMIT failed logins
# for one username from one IP address, that pair is locked for AXES_COOLOFF_MINUTES; a
# successful login resets the count. Attempts live in the database (shared by every process).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a reverse proxy, the client address is the last X-Forwarded-For hop it adds:
# set AXES_BEHIND_PROXY=1 (and make sure the proxy overwrites the header).
if env_bool("AXES_BEHIND_PROXY", False):
    AXES_IPWARE_PROXY_COUNT = 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# Password reset e-mails (staff): printed on the console by default; SMTP when EMAIL_HOST is set.
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "loyalty@localhost")
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(60 * 60 * 3)))

# Content-Security-Policy (django-csp): scripts only from this site (no inline scripts or event
# handlers: console.js binds them), no plugins, no framing. Inline styles stay allowed (htmx's
# indicator style, Swagger UI); they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
# The console's one date and date-time format (loyalty/formats/en/formats.py) wherever a template
# prints a date without the console_format filters.
FORMAT_MODULE_PATH = ["loyalty.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Manifest storage needs collectstatic; tests and development use the plain storage.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = BASE_DIR / "var" / "media"
MEDIA_URL = "media/"

# Imports and exports (dataio; docs/imports-and-exports.md). Files live in the default storage:
# the file system locally, S3-compatible storage in production through django-storages.
DATAIO_MAX_UPLOAD_BYTES = int(os.environ.get("DATAIO_MAX_UPLOAD_BYTES", str(500 * 1024 * 1024)))
DATAIO_MAX_XLSX_UNPACKED = int(os.environ.get("DATAIO_MAX_XLSX_UNPACKED", str(1024 * 1024 * 1024)))
DATAIO_CHUNK_ROWS = int(os.environ.get("DATAIO_CHUNK_ROWS", "2000"))
DATAIO_SLICE_SECONDS = float(os.environ.get("DATAIO_SLICE_SECONDS", "240"))
DATAIO_CHUNK_PAUSE = float(os.environ.get("DATAIO_CHUNK_PAUSE", "0"))
# Partitions (parallel django-q2 tasks) of one customer or event import; 0: the cluster's workers
# on PostgreSQL; always 1 on SQLite (one writer). dataio.running.partition_count.
DATAIO_IMPORT_PARTITIONS = int(os.environ.get("DATAIO_IMPORT_PARTITIONS", "0"))
DATAIO_EXPORT_DAYS = int(os.environ.get("DATAIO_EXPORT_DAYS", "7"))
# The most JSON an event's data may hold (events.validation.check_size). Set here because it is
# read for every event: a setting missing from this file costs an AttributeError per read.
EVENT_DATA_MAX_BYTES = 64 * 1024

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
DJANGO_TABLES2_TEMPLATE = "console/table.html"

REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty Engine API",
    "DESCRIPTION": "Antavo-compatible Events and Customer API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Here, not on the schema view, so `manage.py spectacular` writes the same paths as /api/schema/.
    "PREPROCESSING_HOOKS": ["loyalty.api.schema.strip_optional_slash"],
}

# Production hardening; `manage.py check --deploy` is clean when DEBUG is off.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Every record carries the request ID (loyalty.observability). `django.request` logs each
# unhandled error once with its traceback (also with DEBUG off); API errors are logged once by
# loyalty.api.errors and marked so Django does not log them again.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "loyalty.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}
    },
    "loggers": {
        "loyalty": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "loyalty.api.access": {
            "handlers": ["console"],
            "level": "WARNING" if TESTING else "INFO",
            "propagate": False,
        },
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# Idempotency-Key records (loyalty.api.idempotency): kept this long; on SQLite (no advisory locks) an
# in-progress record older than the lease belongs to a request that died and is taken over.
API_IDEMPOTENCY_RETENTION_HOURS = int(os.environ.get("API_IDEMPOTENCY_RETENTION_HOURS", "48"))
API_IDEMPOTENCY_LEASE_SECONDS = int(os.environ.get("API_IDEMPOTENCY_LEASE_SECONDS", "30"))
