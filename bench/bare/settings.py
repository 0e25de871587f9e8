"""The bare stack: the floor every project figure is divided by (issue 23). A minimal Django +
DRF app on the same database, Redis and gunicorn setup as the project, with only CommonMiddleware,
no authentication and no sessions, so the project's own per-request cost shows beside it."""

import os

import dj_database_url

SECRET_KEY = os.environ.get("SECRET_KEY", "bare-stack-floor-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"
INSTALLED_APPS = ["rest_framework", "bench.bare"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}
    }
