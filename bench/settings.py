"""Production settings (DEBUG off) with the benchmark's extra floor endpoint."""

from tcm_platform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
