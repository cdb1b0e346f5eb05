"""Settings for HelloJohn Sessions.

Every value comes from the environment (django-environ), read once here at start-up; the README's
"Configuration" table lists each variable with its default. Nothing else in the project reads
os.environ.

Longer than the other modules on purpose: Django reads one settings module, and keeping every
variable in it, in sections, is what lets the README's table be checked against a single file.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from hellojohn_project import __version__

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    # Debug only: a fixed key is acceptable because nothing signed with it leaves the machine.
    SECRET_KEY = "insecure-debug-only-key-do-not-use-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The service's public URL: the `iss` claim of access tokens and the base of links it prints.
HJ_PUBLIC_URL = env.str("HJ_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
HJ_VERSION = __version__

INSTALLED_APPS = [
    # Django's admin with the operators' second factor (hellojohn_project/console_site.py).
    "hellojohn_project.console_apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "hellojohn_project.api.apps.ApiConfig",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "hellojohn_project",
    "django_tasks",
    "django_tasks_db",
    "tenants_app",
    "sessions_app",
]

MIDDLEWARE = [
    "hellojohn_project.api.middleware.RequestIdMiddleware",
    "hellojohn_project.request_metrics.RequestMetricsMiddleware",
    # Around every other middleware, so that the session's save at the response counts as a write too.
    "hellojohn_project.read_your_writes.ReadYourWritesMiddleware",
    # Inside the request id (preflights get one too), outside everything that can answer an error,
    # so error envelopes carry the CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "hellojohn_project.unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "hellojohn_project.api.middleware.ApiBodyLimitMiddleware",
    "hellojohn_project.null_characters.NullCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: request.user.is_verified() says whether the session gave a second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-axes last, as it requires: refuses a locked-out operator's /admin/login/ (see below);
    # before it, the headers axes stores lose any NUL byte.
    "hellojohn_project.operator_login.OperatorLoginHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hellojohn_project.urls"
WSGI_APPLICATION = "hellojohn_project.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# SQLite in the project folder by default; PostgreSQL (psycopg 3) with DATABASE_URL=postgres://...
# On PostgreSQL the engine is Django's with a health check that costs no round trip
# (hellojohn_project/postgresql/base.py); `connection.vendor` is still "postgresql".
POSTGRESQL_ENGINE = "hellojohn_project.postgresql"


def _database(url: str) -> dict:
    config = env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["ENGINE"] = POSTGRESQL_ENGINE
    return config


DATABASES = {"default": _database(env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Writers queue on the lock instead of failing with "database is locked", and taking the
        # write lock at BEGIN stops two sign-ins from both reading the old session count.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Once per request, before its first query (Django's setting); the check reads, never sends.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Prepared statements, which Django turns off by default: psycopg prepares a statement run 5 times
    # on a connection. Only the hot paths' fixed statements can be (postgresql/base.py
    # `server_bound_cursor`; Django's client-side binding cursors never are): planning a refresh
    # rotation cost more than executing it (README "Performance", section 4). Not through PgBouncer, below
    # (nor through any transaction-pooling proxy: set DATABASE_POOLER=pgbouncer for one).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
# DATABASE_POOLER=pgbouncer: DATABASE_URL is a PgBouncer in transaction pooling, where consecutive
# transactions of one Django connection may run on different server connections. So no server-side
# cursor (a named cursor lives across transactions) and no prepared statement (psycopg 3 prepares
# a query run 5 times on its connection; PgBouncer 1.18 cannot follow it to another server).
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in {"", "pgbouncer"}:
    raise ImproperlyConfigured("DATABASE_POOLER is empty or `pgbouncer`.")
if DATABASE_POOLER == "pgbouncer":
    if DATABASES["default"]["ENGINE"] != POSTGRESQL_ENGINE:
        raise ImproperlyConfigured("DATABASE_POOLER=pgbouncer needs a postgres:// DATABASE_URL.")
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
# Connections outlive a request on both databases: a new one costs a PostgreSQL handshake, or
# SQLite's PRAGMAs, which `make bench` measured at 2-3 ms a request, more than the query itself.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A PostgreSQL streaming replica for the reads that tolerate its lag (hellojohn_project/db_router.py):
# unset, every query uses `default`. Connected like `default` (through the same pooler when
# DATABASE_POOLER is set), but giving up connecting after 2 s, since a request then reads from the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database(DATABASE_REPLICA_URL)
    if (DATABASES["replica"]["ENGINE"], DATABASES["default"]["ENGINE"]) != (POSTGRESQL_ENGINE,) * 2:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs postgres:// URLs for it and DATABASE_URL.")
    DATABASES["replica"].update(
        CONN_HEALTH_CHECKS=True, CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"],
        OPTIONS={**DATABASES["default"].get("OPTIONS", {}), "connect_timeout": 2},
        DISABLE_SERVER_SIDE_CURSORS=DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False))
DATABASE_ROUTERS = ["hellojohn_project.db_router.ReplicaRouter"]
# Whether the router sends lag-tolerant reads to the replica alias (off in the test suite's settings).
HJ_REPLICA_READS = bool(DATABASE_REPLICA_URL)
# A replica further behind than this (seconds, as it measures itself) is not read from; 0: no limit.
HJ_REPLICA_MAX_LAG_SECONDS = env.float("HJ_REPLICA_MAX_LAG_SECONDS", default=10.0)
# After the replica failed (unreachable, or a query broke), reads stay on the primary this long (seconds).
HJ_REPLICA_RETRY_SECONDS = env.float("HJ_REPLICA_RETRY_SECONDS", default=5.0)
# An operator whose request wrote reads the admin's lists from the primary this long after (seconds).
HJ_REPLICA_PIN_SECONDS = env.int("HJ_REPLICA_PIN_SECONDS", default=5)

# --- Cache (rate-limit counters) ----------------------------------------------------------------
# Shared by every app process: the database's cache table (created by `migrate`) by default, Redis
# with REDIS_URL. Rate limits count atomically in hellojohn_project.counters, on Redis or the database
# accordingly. `check --deploy` warns when production runs on a per-process cache (hj.W001).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "hj_cache"}}

# --- Passwords ----------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- I18N, static -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
# The end-user pages follow Accept-Language among these (sessions_app/web/language.py); the /v1 API
# answers in English whatever the header, since its messages are for developers.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Whitenoise's manifest storage, but a name missing from the manifest (no collectstatic yet)
        # renders unhashed instead of a 500; `check --deploy` says collectstatic is missing (hj.W002).
        "BACKEND": "hellojohn_project.staticfiles.ForgivingManifestStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants_app.authentication.ApiKeyAuthentication",
        "sessions_app.authentication.AccessTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["hellojohn_project.api.permissions.Denied"],
    "DEFAULT_PARSER_CLASSES": ["hellojohn_project.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "hellojohn_project.api.schema.ContractAutoSchema",
    "EXCEPTION_HANDLER": "hellojohn_project.api.errors.envelope_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# --- Rate limits ------------------------------------------------------------------------------------
# Per scope, "count/period" (s, min, hour, day); sessions_app/rate_limits.py reads them on every call.
HJ_RATE_LIMITS = {
    "sign_in_perip": env.str("HJ_RATE_SIGN_IN_PER_IP", default="60/min"),
    "sign_in_peremail": env.str("HJ_RATE_SIGN_IN_PER_EMAIL", default="10/min"),
    "sign_up_perip": env.str("HJ_RATE_SIGN_UP_PER_IP", default="20/min"),
    "sign_up_perkey": env.str("HJ_RATE_SIGN_UP_PER_KEY", default="600/min"),
    "refresh_perip": env.str("HJ_RATE_REFRESH_PER_IP", default="300/min"),
    "refresh_perkey": env.str("HJ_RATE_REFRESH_PER_KEY", default="6000/min"),
    "web_sign_in": env.str("HJ_RATE_WEB_SIGN_IN", default="10/min"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "HelloJohn Sessions API",
    "DESCRIPTION": "Multi-tenant, multi-device sessions: sign-in, tokens, listing and revocation.",
    "VERSION": __version__,
    # 3.1: nullable fields as `type: [..., "null"]`, which every generator types (docs/openapi.json).
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "sessions_app.models.SessionStatus",
        "UserStatusEnum": "tenants_app.models.User.Status",
        "RevokedReasonEnum": "sessions_app.models.RevocationReason",
        "DeviceTypeEnum": "sessions_app.models.DeviceType",
        "VerifyReasonEnum": "sessions_app.api.serializers.VERIFY_REASONS",
        "WebhookStatusEnum": "sessions_app.webhook_models.EndpointStatus",
        "DeliveryStatusEnum": "sessions_app.webhook_models.DeliveryStatus",
        "FlagCodeEnum": "sessions_app.flags.FLAG_CODES",
    },
    # The error envelope, security schemes, servers and tags (hellojohn_project/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hellojohn_project.api.schema.document_contract",
    ],
}

# --- Cross-origin calls (docs/api.md, "Cross-origin calls (CORS)") ------------------------------
# django-cors-headers answers preflights and writes the headers; which origin may read which answer
# is each tenant's `allowed_origins` (hellojohn_project/api/cors.py). Only the publishable-key and
# access-token routes are CORS routes; secret-key routes never grant a cross-origin read.
CORS_URLS_REGEX = (r"^/v1/(auth/(sign-up|sign-in|token/refresh|sign-out|me|password)"
                   r"|sessions|sessions/(?!verify$)[^/]+)$")
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_CREDENTIALS = False  # bearer credentials in headers, never cookies
CORS_ALLOW_METHODS = ["DELETE", "GET", "OPTIONS", "POST"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "x-tenant-id"]
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                       "X-RateLimit-Reset", "X-HelloJohn-Version"]
CORS_PREFLIGHT_MAX_AGE = 600

# --- HelloJohn session rules ----------------------------------------------------------------------
# Proxies whose X-Forwarded-For is believed (CIDRs). Empty: the client is REMOTE_ADDR, always.
HJ_TRUSTED_PROXIES = env.list("HJ_TRUSTED_PROXIES", default=[])
# A CDN header carrying the client's country (e.g. CF-IPCountry), believed only from a trusted proxy.
HJ_COUNTRY_HEADER = env.str("HJ_COUNTRY_HEADER", default="")
# last_active_at is written at most this often per session (the contract allows up to 60 s of lag).
HJ_ACTIVITY_WRITE_INTERVAL = timedelta(seconds=env.int("HJ_ACTIVITY_WRITE_INTERVAL", default=60))
# API keys' last_used_at is written at most this often.
HJ_KEY_USAGE_WRITE_INTERVAL = timedelta(seconds=60)
# Revoked and expired sessions are deleted by `purge_sessions` after this many days.
HJ_SESSION_RETENTION_DAYS = env.int("HJ_SESSION_RETENTION_DAYS", default=30)
# Events (GET /v1/events, the admin's histories) are deleted by `purge_events` after this many days.
HJ_EVENT_RETENTION_DAYS = env.int("HJ_EVENT_RETENTION_DAYS", default=90)
# Largest accepted /v1 request body; larger ones answer 413 payload_too_large.
HJ_MAX_BODY_BYTES = env.int("HJ_MAX_BODY_BYTES", default=64 * 1024)

# --- Webhooks (docs/api.md, "Webhooks") ----------------------------------------------------------
# Keys that encrypt webhook signing secrets at rest (Fernet keys, comma-separated): the first encrypts,
# every one decrypts, so a key is rotated by putting a new one first. Debug only: derived from SECRET_KEY.
HJ_ENCRYPTION_KEYS = env.list("HJ_ENCRYPTION_KEY", default=[])
if not HJ_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("HJ_ENCRYPTION_KEY is required when DJANGO_DEBUG is off.")
    import base64
    import hashlib

    HJ_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]
# Delay of each delivery attempt after the previous one, seconds: at once, 5 min, 30 min, 2 h, 5 h;
# after the last, the delivery is permanently_failed.
HJ_WEBHOOK_RETRY_SCHEDULE = env.list("HJ_WEBHOOK_RETRY_SCHEDULE", cast=int, default=[0, 300, 1800, 7200, 18000])
# Networks endpoints may resolve into besides public addresses (development: "127.0.0.0/8"); with it,
# http:// is accepted for those addresses. Cloud metadata addresses stay refused whatever it says.
HJ_WEBHOOK_ALLOWED_NETWORKS = env.list("HJ_WEBHOOK_ALLOWED_NETWORKS", default=[])
# How long a worker holds the deliveries it took; after that another worker takes them again (a worker
# that died mid-delivery). Keep it above the 30 s attempt timeout, or a slow attempt may be sent twice.
HJ_WEBHOOK_LEASE_SECONDS = env.int("HJ_WEBHOOK_LEASE_SECONDS", default=60)
# The background worker's queue: `manage.py db_worker` (django-tasks' database backend) runs it.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    },
}

# --- Security (Django's deployment checklist) ---------------------------------------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
HJ_BEHIND_TLS_PROXY = env.bool("HJ_BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HJ_BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and scrapes come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
# Never a referrer to other sites. Not "no-referrer": under it browsers send `Origin: null` on
# same-origin form POSTs, which Django's CSRF check refuses (every HTML form, the admin's too).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The admin's messages (a new key's plaintext, once) wait in the operator's database session, never a cookie.
MESSAGE_STORAGE = "hellojohn_project.message_storage.message_storage"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Operator sign-in throttling (django-axes) ---------------------------------------------------
# /admin/login/ failures are recorded in axes' tables (shared by every process, listed in the admin
# under "Axes"); after HJ_ADMIN_LOCKOUT_FAILURES failures for one username, or from one address, that
# username or address is refused for HJ_ADMIN_LOCKOUT_MINUTES. `manage.py axes_reset` lifts lockouts.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Operators' second factor (hellojohn_project/operator_mfa.py): "required" makes every operator give a
# TOTP or recovery code (the README's production recipe); "optional" asks it of those who enrolled.
HJ_OPERATOR_MFA = env.str("HJ_OPERATOR_MFA", default="optional")
if HJ_OPERATOR_MFA not in ("required", "optional"):
    raise ImproperlyConfigured("HJ_OPERATOR_MFA is 'required' or 'optional'.")
OTP_TOTP_ISSUER = env.str("HJ_OPERATOR_MFA_ISSUER", default="HelloJohn Sessions")

AXES_FAILURE_LIMIT = env.int("HJ_ADMIN_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("HJ_ADMIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: either one locks
AXES_RESET_ON_SUCCESS = True
# The client address as everywhere else: X-Forwarded-For only from HJ_TRUSTED_PROXIES.
AXES_CLIENT_IP_CALLABLE = "hellojohn_project.operator_login.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# No start-up banner. Axes still logs its own lines (parameters masked); the audit trail's lines
# come from hellojohn_project/operator_login.py.
AXES_VERBOSE = False

# --- Metrics (GET /metrics, hellojohn_project/metrics_views.py) -----------------------------------
# Off unless a token is set; the scraper sends `Authorization: Bearer <token>`.
HJ_METRICS_TOKEN = env.str("HJ_METRICS_TOKEN", default="")
# prometheus-client's multiprocess mode (read by prometheus-client itself too): a directory every
# gunicorn worker writes its counters to, emptied before gunicorn starts.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
# The active-sessions gauge is one count across tenants, cached this long in the shared cache.
HJ_METRICS_ACTIVE_SESSIONS_SECONDS = env.int("HJ_METRICS_ACTIVE_SESSIONS_SECONDS", default=60)
# /readyz fails once a due webhook delivery has waited this long for the worker (seconds; 0: not checked).
HJ_READY_MAX_QUEUE_LAG = env.int("HJ_READY_MAX_QUEUE_LAG", default=900)

# --- Email (new-sign-in alerts) -------------------------------------------------------------------
# EMAIL_URL as django-environ reads it: smtp://user:pass@host:587 (smtp+tls://, smtp+ssl://), or the
# default console backend, which prints each email on stdout (so `make run` shows them).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HelloJohn <no-reply@localhost>")
# A mail server that does not answer must not hold a sign-in (or, later, a worker) for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Logging: JSON lines on stderr, the audit trail included ------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "hellojohn_project.logging.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stderr"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "INFO"},
        "hellojohn.audit": {"level": "INFO"},
    },
}

REST_FRAMEWORK["DATETIME_FORMAT"] = "%Y-%m-%dT%H:%M:%SZ"  # RFC 3339, UTC, second precision

# --- Access checks from memory (hellojohn_project/change_feed.py, docs/api.md "Revocation is immediate") ---
# The listener's own connection (LISTEN needs a direct, session-pooled connection, never PgBouncer's
# transaction pooling or a standby); empty means the DATABASE_URL connection settings.
HJ_LISTENER_DATABASE_URL = env.str("HJ_LISTENER_DATABASE_URL", default="")
# How long one successful read of the change log lets a process answer from memory (seconds); also the
# longest a revoking call waits for a process that has stopped reading.
HJ_CACHE_LEASE = env.float("HJ_CACHE_LEASE", default=1.0)
# Entries per in-process cache (verified tokens; sessions with their user, tenant and config).
HJ_ACCESS_CACHE_SIZE = env.int("HJ_ACCESS_CACHE_SIZE", default=100_000)
# An entry's longest life in seconds (the longest access_token_ttl a tenant may set).
HJ_ACCESS_CACHE_MAX_AGE = env.int("HJ_ACCESS_CACHE_MAX_AGE", default=86400)
