"""Test settings: the same settings with faster hashing and an isolated cache and broker folder.

DATABASE_URL still decides the database: SQLite when unset, PostgreSQL in CI.
"""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import (
    BASE_DIR,
    CELERY_BEAT_SCHEDULE,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    CELERY_BROKER_URL,
    DATABASES,
    REDIS_URL,
    VAR_DIR,
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# pytest-xdist runs the suite in several processes (gw0, gw1, ...), each with its own test
# database. Each also needs its own cache (cache.clear() empties a whole Redis database, and cached
# rows are keyed by ids that differ between the databases), broker queue and media folder. The
# worker processes a test starts inherit PYTEST_XDIST_WORKER and so land on the same ones.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
XDIST_INDEX = int(XDIST_WORKER.removeprefix("gw") or 0)

if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif XDIST_INDEX:
    _url = urlsplit(REDIS_URL)
    _db = int(_url.path.strip("/") or 0) - XDIST_INDEX  # CI: the cache on 14, the broker on 15
    if _db < 0:
        raise ImproperlyConfigured(f"REDIS_URL {REDIS_URL}: no Redis database left for xdist worker {XDIST_WORKER}")
    CACHES = {"default": {**CACHES["default"], "LOCATION": _url._replace(path=f"/{_db}").geturl()}}  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real worker process started by a test sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / f"test-media{XDIST_WORKER}"
LANGUAGE_CODE = "zh-hans"
TEST_BASE_DIR = BASE_DIR
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder  # noqa: F405

# A queue of this test run's own, shared with the worker processes the tests start (they inherit
# the environment), so a demo worker on the same machine never takes the tests' tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("TCM_CELERY_QUEUE", f"tests-{os.getpid()}")
if XDIST_WORKER and not CELERY_TASK_DEFAULT_QUEUE.endswith(f"-{XDIST_WORKER}"):
    # The xdist controller set the variable before starting this process: a queue per process.
    CELERY_TASK_DEFAULT_QUEUE = os.environ["TCM_CELERY_QUEUE"] = f"{CELERY_TASK_DEFAULT_QUEUE}-{XDIST_WORKER}"

# --- Fault tests (tests/test_faults.py) ----------------------------------------------------------
# Set in the environment of the worker and beat processes those tests start, never in production.
# A short Redis visibility timeout, checked every second, so a message held by a killed worker is
# redelivered within the test (production: 600 s).
if CELERY_BROKER_URL.startswith("redis://") and os.environ.get("TCM_TEST_VISIBILITY_TIMEOUT"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "visibility_timeout": int(os.environ["TCM_TEST_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,  # kombu scans only every Nth interval otherwise (10 x 10 s)
    }
# The audit sweep every few seconds, for prescriptions of any age, so beat recovers within a test.
if os.environ.get("TCM_TEST_AUDIT_SWEEP_SECONDS"):
    CELERY_BEAT_SCHEDULE = {
        **CELERY_BEAT_SCHEDULE,
        "audit-sweep": {
            "task": "audit.sweep_unaudited",
            "schedule": float(os.environ["TCM_TEST_AUDIT_SWEEP_SECONDS"]),
            "kwargs": {"older_than_seconds": 0},
        },
    }
# core.faults.pause_point: the audit writes "entered <pid>" to this file at TEST_PAUSE_AT and
# sleeps, so the test can SIGKILL the worker while it holds the message.
TEST_PAUSE_IN_AUDIT = os.environ.get("TCM_TEST_PAUSE_IN_AUDIT", "")
TEST_PAUSE_AT = os.environ.get("TCM_TEST_PAUSE_AT", "audit.in_transaction")
