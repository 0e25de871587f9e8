"""Settings for the county TCM prescription platform.

One module for every environment; production differs only by environment variables:

- With no environment at all: DEBUG on, a SQLite file under var/, a file cache under var/,
  and Celery on kombu's filesystem transport (a real worker process, no broker server).
- DATABASE_URL, REDIS_URL and CELERY_BROKER_URL switch to PostgreSQL and Redis.
- DEBUG=false turns on the production checks: SECRET_KEY, ALLOWED_HOSTS and SITE_URL must be
  set, cookies are secure, HSTS is on. A missing value stops start-up with a clear message.
"""

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .environment import (
    demo_site_url,
    env_bool,
    env_list,
    env_networks,
    env_positive_int,
    env_required,
    trace_keys,
    url_host,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TCM_VAR_DIR", BASE_DIR / "var"))


DEBUG = env_bool("DEBUG", True)

if DEBUG:
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-key-never-used-in-production-0123456789abcdef"
    # The demo's links and QR codes follow the address `make demo` serves (HOST, passed on as
    # TCM_DEMO_HOST) unless SITE_URL is set; that host is allowed too.
    SITE_URL = (os.environ.get("SITE_URL") or demo_site_url(os.environ.get("TCM_DEMO_HOST", "127.0.0.1:8000"))).rstrip(
        "/"
    )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", f"127.0.0.1,localhost,[::1],testserver,{url_host(SITE_URL)}")
else:
    SECRET_KEY = env_required("SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long.")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name the host(s) this site answers to.")
    SITE_URL = env_required("SITE_URL").rstrip("/")
    if not SITE_URL.startswith(("http://", "https://")):
        raise ImproperlyConfigured("SITE_URL must be an absolute http(s) URL, e.g. https://tcm.example.gov.cn")


if DEBUG:
    TCM_TRACE_KEYS = trace_keys(os.environ.get("TCM_TRACE_KEYS", "")) or [
        ("dev", "dev-only-trace-key-not-secret-0123456789")
    ]
else:
    TCM_TRACE_KEYS = trace_keys(env_required("TCM_TRACE_KEYS"))
# Where anchor_trace appends its keyed anchors of every chain's head (an append-only file; ship it
# off the database server), and optionally a webhook that receives each anchor too.
TCM_TRACE_ANCHOR_PATH = Path(os.environ.get("TCM_TRACE_ANCHOR_PATH", VAR_DIR / "trace-anchors.jsonl"))
TCM_TRACE_ANCHOR_URL = os.environ.get("TCM_TRACE_ANCHOR_URL", "")

INSTALLED_APPS = [
    "accounts.apps.AdminConfig",  # django.contrib.admin with the site of accounts.admin_site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "accounts.apps.AxesConfig",  # django-axes, its name translated
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "catalogue",
    "patients",
    "rules",
    "prescriptions",
    "constitution",
    "audit",
    "decoction",
    "delivery",
    "outreach",
    "teleconsult",
    "dashboards",
    "pipeline",
    "interop",
    "tcm_platform",  # the roof: only the demo seeding command lives here as an app
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.HeaderCleaningMiddleware",  # before the session reads its cookie
    "core.middleware.ExceptionAnswersMiddleware",  # a database outage inside any layer below is a 503
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.ResponseHeadersMiddleware",  # after whitenoise: static files keep their caching
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.PermissionDeniedLogMiddleware",
    "core.middleware.LazyMessageMiddleware",
    "core.middleware.InputCleaningMiddleware",
    "core.middleware.UploadLimitMiddleware",  # its own __call__ runs before CSRF reads a form
    "accounts.sessions.SessionIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes): five failures for one username from one address lock it for
# 15 minutes.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.backends.RoleTableBackend"]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address (core.addresses): X-Forwarded-For is read only from these proxies' own
# connections (comma-separated IPs or CIDRs, e.g. the nginx host); none by default.
TCM_TRUSTED_PROXIES = env_networks("TCM_TRUSTED_PROXIES")
AXES_CLIENT_IP_CALLABLE = "core.addresses.client_address"
# The locked-out answer: a page in the site's layout, JSON for the API, both with Retry-After.
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"

ROOT_URLCONF = "tcm_platform.urls"

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
                "accounts.navigation.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "tcm_platform.wsgi.application"

# --- Database ---------------------------------------------------------------------------------
# SQLite in WAL mode with IMMEDIATE transactions: DEFERRED gave "database is locked" under
# concurrent web + worker writes on these machines (shared/STACK.md).
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache (also holds rate-limit counters) ---------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    # A file cache, not LocMem: the web server and the worker are separate processes and must
    # see the same counters and invalidations.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery ------------------------------------------------------------------------------------
BROKER_DIR = Path(os.environ.get("TCM_BROKER_DIR", VAR_DIR / "broker"))
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip() or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "control", "processed"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)  # kombu does not create them
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
else:
    # Redelivery after a killed worker waits for the visibility timeout; keep it short.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
# One queue per installation; tests and benchmarks use a queue of their own (TCM_CELERY_QUEUE).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("TCM_CELERY_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that enqueues while the broker is down gives up quickly (the work is re-enqueued from
# the database by the sweeps) instead of holding the clinician's page.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}
CELERY_TIMEZONE = "Asia/Shanghai"
from .schedule import CELERY_BEAT_SCHEDULE, TCM_ROLLUP_REFRESH_SECONDS  # noqa: E402, F401 (the periodic jobs)

# --- Auth ----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: any password change revokes the user's API tokens (Django calls it on every change).
    {"NAME": "accounts.passwords.TokensEndWithThePassword"},
]
# API tokens expire this many hours after they are issued (default 90 days): a HIS integration's
# operator renews its token each quarter, and a token copied once does not open the API for ever.
TCM_TOKEN_TTL_HOURS = env_positive_int("TCM_TOKEN_TTL_HOURS", 90 * 24)
# A page session ends after this many idle minutes (per role: accounts.roles.SESSION_IDLE_SETTING):
# clinical and administrative roles, and the stations' tablets and couriers' phones.
TCM_SESSION_IDLE_MINUTES = env_positive_int("TCM_SESSION_IDLE_MINUTES", 30)
TCM_STATION_SESSION_IDLE_MINUTES = env_positive_int("TCM_STATION_SESSION_IDLE_MINUTES", 120)
# 事后点评: prescriptions drawn per clinician each month for review (audit.review.services.review_draw).
TCM_REVIEW_SAMPLE_PER_CLINICIAN = env_positive_int("TCM_REVIEW_SAMPLE_PER_CLINICIAN", 5)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18n ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media: all served from the project (county intranets have no internet) --------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# The one size limit of a request body, and so of every photo: refused from Content-Length before
# the body is read, and counted while a multipart body streams in (core/uploads.py).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
FILE_UPLOAD_HANDLERS = [
    "core.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.input.JSONParser", "core.input.FormParser", "core.input.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["core.api.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",  # documents each operation's error answers
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "County TCM prescription platform API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files, never a CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No deep-link anchors inside the operations' summary buttons (nested controls, WCAG 4.1.2).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
    # Request and answer each get their own component: a required text is documented non-blank
    # where it is sent, and read-only and write-only fields only where they appear.
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets named `status`: a prescription's stage and a delivery stop's.
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "prescriptions.workflow.Stage",
        "StopStatusEnum": "delivery.models.StopStatus",
        "PregnancyEnum": "patients.models.Pregnancy",
        "PhotoKindEnum": "patients.models.AttachmentKind",
        "RemoteConsultStatusEnum": "teleconsult.workflow.Status",
    },
}

# --- Security: production (DEBUG=false) gets secure cookies, HTTPS redirect and HSTS ----------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # The reverse proxy terminates TLS and says so in this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [SITE_URL]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Every security event, whatever LOG_LEVEL says (README, Security).
        "tcm.security": {"level": "INFO", "handlers": []},
    },
}
# TCM_SECURITY_LOG: a file the security log is appended to as well, by every process. Rotation is
# logrotate's (README: daily, 180 days kept): the file is reopened when logrotate moves it. A
# rotating handler in each gunicorn and Celery process would delete each other's rotated files.
TCM_SECURITY_LOG = os.environ.get("TCM_SECURITY_LOG", "").strip()
if TCM_SECURITY_LOG:
    LOGGING["handlers"]["security_file"] = {
        "class": "logging.handlers.WatchedFileHandler",
        "filename": TCM_SECURITY_LOG,
        "formatter": "plain",
        "encoding": "utf-8",
    }
    LOGGING["loggers"]["tcm.security"]["handlers"] = ["security_file"]

# Display names for the navigation and the pages.
PLATFORM_NAME = _("County TCM Prescription Platform")

# --- Fees (yuan) ---------------------------------------------------------------------------------
TCM_DECOCTION_FEE_PER_DOSE = Decimal(os.environ.get("TCM_DECOCTION_FEE_PER_DOSE", "3.00"))
TCM_DELIVERY_FEE = Decimal(os.environ.get("TCM_DELIVERY_FEE", "10.00"))

# --- Stock on the inventory dashboard --------------------------------------------------------------
# A herb is low at a pharmacy when its unexpired stock covers fewer days than this at the rate of
# the last 30 days' dispensing (there is no per-herb minimum in the catalogue).
TCM_STOCK_COVER_DAYS_MIN = env_positive_int("TCM_STOCK_COVER_DAYS_MIN", 7)

# --- What a bare herb name means (处方应付) ------------------------------------------------------
# "processed" (default): a bare name the dispensing conventions give processed is dispensed and
# audited as the processed herb of catalogue/data/bare_names.csv (写川乌付制川乌, 写半夏付法半夏).
# "literal": a bare name means the herb the 药典 names so (bare 川乌 is the raw drug). One value
# per county; the engine, the submit's herb resolution and the dispensing all read it.
TCM_BARE_NAME_POLICY = os.environ.get("TCM_BARE_NAME_POLICY", "processed").strip().lower() or "processed"
if TCM_BARE_NAME_POLICY not in ("processed", "literal"):
    raise ImproperlyConfigured(f"TCM_BARE_NAME_POLICY must be processed or literal, not {TCM_BARE_NAME_POLICY!r}.")

# --- Patient notifications: the log by default; an SMS/WeChat gateway by webhook ----------------
NOTIFY_WEBHOOK_URL = os.environ.get("NOTIFY_WEBHOOK_URL", "")
NOTIFY_WEBHOOK_TOKEN = os.environ.get("NOTIFY_WEBHOOK_TOKEN", "")
# Per-IP requests per minute to the public tracking page and its JSON.
TRACK_RATE_PER_MINUTE = int(os.environ.get("TRACK_RATE_PER_MINUTE", "120"))

# Minutes a prescription may stay at a stage before administrators see it flagged as stuck
# (STAGE_TIME_LIMITS="submitted=10,ai_audited=120,…" overrides any of them).
STAGE_TIME_LIMITS = {
    "submitted": 10,
    "ai_audited": 120,
    "approved": 120,
    "recheck_failed": 60,
    "dispensed": 60,
    "rechecked": 60,
    "soaking": 120,
    "decocting": 180,
    "packaged": 240,
    "shipped": 480,
}
for _item in env_list("STAGE_TIME_LIMITS"):
    _stage, _, _minutes = _item.partition("=")
    if _stage.strip() not in STAGE_TIME_LIMITS or not _minutes.strip().isdigit():
        raise ImproperlyConfigured(f"STAGE_TIME_LIMITS: {_item!r} is not stage=minutes for a known stage.")
    STAGE_TIME_LIMITS[_stage.strip()] = int(_minutes)
