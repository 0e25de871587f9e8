"""Production settings (DEBUG off) with the benchmark's extra floor endpoint."""

from tcm_platform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# No collectstatic in a benchmark run: plain static URLs (the pages' HTML is what is measured).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
