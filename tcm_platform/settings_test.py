"""Test settings: the same settings with faster hashing and an isolated cache and broker folder.

DATABASE_URL still decides the database: SQLite when unset, PostgreSQL in CI.
"""

import os

from .settings import *  # noqa: F403
from .settings import BASE_DIR, DATABASES, REDIS_URL, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real worker process started by a test sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"
LANGUAGE_CODE = "zh-hans"
TEST_BASE_DIR = BASE_DIR
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder  # noqa: F405

# A queue of this test run's own, shared with the worker processes the tests start (they inherit
# the environment), so a demo worker on the same machine never takes the tests' tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("TCM_CELERY_QUEUE", f"tests-{os.getpid()}")
