"""Launchplane settings, read from the environment.

Every value an operator may need to change comes from an environment variable through the small
typed helpers in ``launchplane.env``; a malformed value raises ``ImproperlyConfigured`` at start-up.
"""

from pathlib import Path

from launchplane.env import database_from_env, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
# A development key is only acceptable with DEBUG on; the system check launchplane.E001 refuses it
# otherwise, so a production deployment cannot start with it by accident.
INSECURE_DEV_SECRET_KEY = "django-insecure-launchplane-development-only"
SECRET_KEY = env_str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "launchplane",
    "inventory",
    "bootstraps",
    "notifications",
    "compat",
]

MIDDLEWARE = [
    # First, so it times the whole request (and counts the database queries made under it).
    "launchplane.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "launchplane.api.plumbing.ApiBodyLimitMiddleware",
    "compat.api.plumbing.CompatBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "launchplane.urls"

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

WSGI_APPLICATION = "launchplane.wsgi.application"

# SQLite file by default; PostgreSQL (psycopg 3) through DATABASE_URL.
DATABASES = {"default": database_from_env(default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# The operator pages' login; the admin keeps its own at /admin/login/.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inventory:board"
LOGOUT_REDIRECT_URL = "login"

# TLS: each protection has its own switch, off by default, for deployments behind a TLS proxy
# (see docs/operations.md). The proxy must set X-Forwarded-Proto for SECURE_PROXY_SSL_HEADER.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0)
# Both widen what HSTS covers beyond this host (every subdomain; browsers' built-in preload lists), so
# each is its own decision for the operator, off by default.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=False)
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Load balancers and Kubernetes probe over plain HTTP inside the cluster: never redirect them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
}

# How far ahead of server time a client's timestamp may be (clock skew) before it is refused.
CLOCK_SKEW_SECONDS = env_int("CLOCK_SKEW_SECONDS", default=300)

# --- REST API -------------------------------------------------------------------------------------
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", default=1024 * 1024)
IDEMPOTENCY_KEY_TTL_SECONDS = env_int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 3600)
# A key still "in flight" after this long belongs to a worker that died; a retry may take it over.
IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS = env_int("IDEMPOTENCY_IN_FLIGHT_LEASE_SECONDS", default=300)

# Background work (verification runs) on Django's task framework. The database backend works on SQLite
# and PostgreSQL with several `manage.py db_worker` processes at once; swap the backend by settings alone.
TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}

# Verification runs (docs/verification.md). Probes never connect to these networks (cloud metadata).
VERIFY_BLOCKED_NETWORKS = env_list(
    "VERIFY_BLOCKED_NETWORKS", default=["169.254.0.0/16", "fe80::/10", "0.0.0.0/32", "::/128"]
)
# A run not finished this long after its budget ran out counts as abandoned (its worker died).
VERIFY_ABANDON_GRACE_SECONDS = env_int("VERIFY_ABANDON_GRACE_SECONDS", default=30)
# How many scheduled runs one sweep step queues at most (the rest wait for the next step).
VERIFY_SCHEDULE_BATCH = env_int("VERIFY_SCHEDULE_BATCH", default=100)
# Notifications (docs/operations.md "Webhooks"). Deliveries are made outside any request, so page links
# in their bodies are built from SITE_URL (checked: notifications.E001, and W001 with DEBUG off).
DEFAULT_SITE_URL = "http://localhost:8000"
SITE_URL = env_str("SITE_URL", default=DEFAULT_SITE_URL)
# The first wait before a failed delivery is retried; each later wait doubles it (capped at an hour),
# for 24 hours, then the delivery is failed.
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", default=10)
# /metrics asks for `Authorization: Bearer <METRICS_TOKEN>` when this is set (notifications.W002 without).
METRICS_TOKEN = env_str("METRICS_TOKEN", default="")
# The demo runtime (bootstraps/demo/runtime.py): answers the demo environments' probes. `make run` only.
DEMO_RUNTIME = env_bool("DEMO_RUNTIME", default=False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its scheme is what a 401 announces in WWW-Authenticate.
        "launchplane.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["launchplane.api.auth.IsClientOrStaff"],
    "DEFAULT_PARSER_CLASSES": ["launchplane.api.plumbing.JSONParser"],
    # JSON only (PRODUCT.md): no browsable HTML API, so every answer — errors included — is the JSON
    # a client parses, whatever it puts in Accept. Staff use /api/v1/docs/ to explore.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "launchplane.api.plumbing.Pagination",
    "DEFAULT_THROTTLE_CLASSES": ["launchplane.api.plumbing.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env_str("API_THROTTLE_RATE", default="1200/minute")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "launchplane.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Launchplane API",
    "DESCRIPTION": (
        "Record artifact deployments and data bootstraps, and read back the truth about each Odoo "
        "environment. Authenticate with `Authorization: Bearer <token>`. Every error answers "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SCHEMA_PATH_PREFIX_TRIM": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["launchplane.api.auth.IsClientOrStaff"],
    "SERVE_AUTHENTICATION": [
        "launchplane.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "launchplane.api.schema.close_request_bodies",
        "launchplane.api.schema.allow_empty_filters",
        "launchplane.api.schema.constrain_path_parameters",
        "launchplane.api.schema.state_identity_rules",
        "launchplane.api.schema.add_links",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CheckStatusEnum": "inventory.choices.CheckStatus",
        "InventoryEffectEnum": "inventory.choices.InventoryEffect",
        "RuntimeIdentityStatusEnum": "inventory.choices.RuntimeIdentityStatus",
        "UnverifiableEnum": [("unverifiable", "unverifiable")],
        "InventoryStateEnum": "inventory.choices.InventoryState",
        "DeploymentStateEnum": "inventory.choices.DeploymentState",
        "DataStateEnum": "inventory.choices.DataState",
        "FreshnessEnum": "inventory.choices.Freshness",
        "UpstreamStepStatusEnum": "compat.rules.STEP_CHOICES",
        "UpstreamBootstrapReadinessEnum": "compat.rules.READINESS_CHOICES",
    },
}
