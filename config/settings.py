"""Cascade settings, read from the environment.

Nothing set gives the embedded default: SQLite, an in-memory channel layer and
Celery tasks run eagerly, all in one process. ``DATABASE_URL`` switches to
PostgreSQL; ``REDIS_URL`` switches the channel layer, cache and Celery broker to
Redis. See README.md, "Deploy for real".
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import limits
from config.env import (
    read_bool,
    read_choice,
    read_database_url,
    read_email_host,
    read_email_url,
    read_int,
    read_list,
    read_redis_url,
    read_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CASCADE_DATA_DIR", BASE_DIR / "var"))

DATABASE_CONFIG = read_database_url("DATABASE_URL")
REDIS_URL = read_redis_url("REDIS_URL")
EMBEDDED = DATABASE_CONFIG is None and REDIS_URL is None

DEBUG = read_bool("DEBUG", default=EMBEDDED)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-only-key-do-not-deploy"

ALLOWED_HOSTS = read_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = read_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "csp",
    "axes",
    "template_partials.apps.SimpleAppConfig",
    "accounts",
    "scenarios",
    "exercises",
    "scoring",
    "onboarding",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

_DEFAULT_LOADERS = [
    "django.template.loaders.filesystem.Loader",
    "django.template.loaders.app_directories.Loader",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
            # Partials as builtins: moving to Django 6's own partials is a settings change.
            "builtins": ["template_partials.templatetags.partials"],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [("django.template.loaders.cached.Loader", _DEFAULT_LOADERS)]
                    if not DEBUG
                    else _DEFAULT_LOADERS,
                )
            ],
        },
    }
]

if DATABASE_CONFIG is None:
    # The embedded default keeps its database and collected files under DATA_DIR.
    (DATA_DIR / "staticfiles").mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "cascade.sqlite3",
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on
                # busy_timeout instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
else:
    DATABASES = {"default": DATABASE_CONFIG}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer on Redis. "pubsub" (default) sends a group message through Redis once per
# server process, which fans it out in memory: 2-2.5x shorter publish calls and lower
# fan-out latency at 1,000 sockets (bench/README.md). It keeps no per-channel buffer, which
# the live path does not need: a socket catches up from the database on a seq gap or on
# reconnect. "core" is channels_redis's buffered layer.
CHANNEL_LAYER = read_choice("CHANNEL_LAYER", ("pubsub", "core"), "pubsub")
# redis-py 8 defaults break channels_redis: a 5 s socket_timeout aborts the blocking
# receive of any idle socket (channels_redis#422), and a 100-connection pool refuses a
# burst of a few hundred sockets joining their groups.
_LAYER_CONFIG = {
    "pubsub": ("channels_redis.pubsub.RedisPubSubChannelLayer", {}),
    "core": ("channels_redis.core.RedisChannelLayer", {"capacity": 1000, "expiry": 30}),
}
if REDIS_URL:
    backend, extra = _LAYER_CONFIG[CHANNEL_LAYER]
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": backend,
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None, "max_connections": 5000}],
                "prefix": os.environ.get("CHANNELS_PREFIX", "cascade"),
                **extra,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cascade",
        }
    }
    # Each request reads its session from Redis, not PostgreSQL (written to both). Only
    # with a cache every process shares: with a per-process cache, a logout in one process
    # would leave the session alive in the others' caches.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a real broker only with Redis; otherwise tasks run eagerly in-process
# (timed injects then use exercises.scheduler, because eager mode ignores eta).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = read_bool("CELERY_TASK_ALWAYS_EAGER", default=REDIS_URL is None)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out username/IP pair before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend reading the session's user written out (accounts/backends.py).
    "accounts.backends.UserBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"

# Request bodies (docs/security.md, "Size limits"): config/asgi.py answers 413 to a body
# over MAX_REQUEST_BYTES before Django reads it; Django answers 400 to more than 5 MiB of
# form fields; uploads (and bodies past 1 MiB) go to temporary files, not memory.
MAX_REQUEST_BYTES = read_int("MAX_REQUEST_BYTES", limits.MAX_REQUEST_BYTES, minimum=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * limits.MIB
FILE_UPLOAD_MAX_MEMORY_SIZE = 1 * limits.MIB
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.TemporaryFileUploadHandler"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = read_bool("SECURE_COOKIES", default=not DEBUG and not EMBEDDED)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = read_int("SECURE_HSTS_SECONDS", 0)
SECURE_SSL_REDIRECT = read_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = read_bool("SECURE_HSTS_PRELOAD", default=False)
BEHIND_TLS_PROXY = read_bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy: scripts only from our own origin or with the per-request nonce;
# htmx runs with allowEval off (see base.html), so no 'unsafe-eval'. Inline style
# attributes stay allowed: server-drawn SVG charts and htmx swaps set them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failures for one username
# from one address, that pair is locked out for LOGIN_COOLOFF_MINUTES.
AXES_ENABLED = read_bool("LOGIN_THROTTLING", default=True)
AXES_FAILURE_LIMIT = read_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=read_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
if BEHIND_TLS_PROXY:
    AXES_IPWARE_PROXY_COUNT = 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# LOG_FORMAT=json: one JSON object per line (python-json-logger) for a log pipeline.
LOG_FORMAT = read_choice("LOG_FORMAT", ("plain", "json"), "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# ---------------------------------------------------------------- email (issue 18)
# Invitations and password resets. Embedded default: every message is written as a file
# under DATA_DIR/mail (EMAIL_BACKEND=console prints them instead). For real: EMAIL_URL
# (smtp://, smtp+tls://, smtps://user:password@host:port) or EMAIL_HOST with EMAIL_PORT,
# EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS / EMAIL_USE_SSL.
if os.environ.get("EMAIL_URL") and os.environ.get("EMAIL_HOST"):
    raise ImproperlyConfigured("Set EMAIL_URL or EMAIL_HOST, not both.")
_SMTP = read_email_url("EMAIL_URL") or read_email_host() or {}
_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
}
EMAIL_BACKEND = _EMAIL_BACKENDS[
    read_choice("EMAIL_BACKEND", tuple(_EMAIL_BACKENDS), "smtp" if _SMTP else "file")
]
EMAIL_HOST = _SMTP.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _SMTP.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _SMTP.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _SMTP.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _SMTP.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _SMTP.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_TIMEOUT = read_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Cascade <cascade@localhost>")
# How long an emailed invitation link works (it works once).
INVITATION_MAX_AGE_DAYS = read_int("INVITATION_MAX_AGE_DAYS", 7, minimum=1)
# A password-reset link works this long (Django's own setting).
PASSWORD_RESET_TIMEOUT = 3600 * read_int("PASSWORD_RESET_HOURS", 24, minimum=1)

# ---------------------------------------------------------------- operations (issue 18)
# /metrics answers a scraper sending "Authorization: Bearer $METRICS_TOKEN"; unset: off (404).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters.")

# ---------------------------------------------------------------- single sign-on (issue 18)
# OpenID Connect (mozilla-django-oidc), on when OIDC_CLIENT_ID is set; local accounts keep
# working. accounts/oidc.py maps the OIDC_ORGANIZATION_CLAIM claim to invitations.
OIDC_ENABLED = bool(os.environ.get("OIDC_CLIENT_ID", "").strip())
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_ORGANIZATION_CLAIM = os.environ.get("OIDC_ORGANIZATION_CLAIM", "organization")
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "")
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:sso_callback"
OIDC_RP_SCOPES = "openid email profile"
OIDC_TIMEOUT = read_int("OIDC_TIMEOUT", 5, minimum=1)
if OIDC_ENABLED:
    OIDC_RP_CLIENT_ID = os.environ["OIDC_CLIENT_ID"].strip()
    OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
    if not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured("OIDC_CLIENT_SECRET must be set with OIDC_CLIENT_ID.")
    OIDC_OP_AUTHORIZATION_ENDPOINT = read_url("OIDC_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = read_url("OIDC_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = read_url("OIDC_USERINFO_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = read_url("OIDC_JWKS_ENDPOINT")
    OIDC_RP_SIGN_ALGO = read_choice("OIDC_SIGN_ALGO", ("RS256", "ES256"), "RS256")
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "accounts.oidc.OrganizationClaimBackend"]

# ---------------------------------------------------------------- file storage (issue 18)
# Report exports are files of Django's default storage: MEDIA_ROOT under CASCADE_DATA_DIR
# by default; with STORAGE_BUCKET an S3-compatible object store (django-storages), so web
# processes and workers on several hosts share them without a shared volume. Uploads
# (scenario files, MSELs, rosters) are read from temporary files and never stored.
STORAGE_BUCKET = os.environ.get("STORAGE_BUCKET", "").strip()
if STORAGE_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET,
            # MinIO, Ceph, Garage, a cloud's S3 API; unset: AWS.
            "endpoint_url": read_url("STORAGE_ENDPOINT_URL")
            if os.environ.get("STORAGE_ENDPOINT_URL")
            else None,
            "region_name": os.environ.get("STORAGE_REGION") or None,
            # Unset: boto3's own chain (AWS_* variables, instance role).
            "access_key": os.environ.get("STORAGE_ACCESS_KEY") or None,
            "secret_key": os.environ.get("STORAGE_SECRET_KEY") or None,
            "location": os.environ.get("STORAGE_PREFIX", "cascade"),
            # Files stay private: downloads go through Cascade's access checks.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
