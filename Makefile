# The two quick-start commands are `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
# Where the demo keeps its database, broker folders and logs (settings read TCM_VAR_DIR too).
VAR := $(or $(TCM_VAR_DIR),var)

.PHONY: demo demo-history test lint bench bench-dashboards bench-soak bench-mixed messages browser-deps clean

# uv (from PyPI, pinned) installs the requirements in a third of the time pip takes (bytecode compiled as pip does).
UV := $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY)

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==0.13.8
	$(UV) -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(UV) -r requirements-dev.txt
	touch $@

# Set up, migrate, seed, then run a real Celery worker (with beat) and the web server. The links
# and QR codes follow HOST (settings read TCM_DEMO_HOST unless SITE_URL is set); the worker logs to
# $(VAR)/log/worker.log, so the logins and a tracking link are the last thing printed before the
# web server's own lines.
demo: export TCM_DEMO_HOST := $(HOST)
demo: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --no-summary
	@mkdir -p $(VAR)/log
	@echo "Starting the Celery worker (log: $(VAR)/log/worker.log) and the web server on $(HOST) (Ctrl-C stops both)"
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/celery -A tcm_platform worker --beat -l info -c 2 -s $(VAR)/celerybeat-schedule \
	  >>$(VAR)/log/worker.log 2>&1 & worker=$$!; \
	$(PY) manage.py demo_summary; \
	$(PY) manage.py runserver $(HOST)

# The demo's county with two years of history (20,000 prescriptions, their full trace, stock and
# inspections, the dashboards' rollups rebuilt), so every dashboard shows something when first
# opened. On the demo's database; run it once after (or instead of) `make demo`'s first start.
demo-history: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --no-summary
	$(PY) manage.py generate_history --prescriptions 20000 --years 2

# The whole test suite; SQLite unless DATABASE_URL is set. Two processes (pytest-xdist), then
# the fault tests alone: they stop the machine's Redis and PostgreSQL under everyone's feet.
test: $(VENV)/.dev browser-deps
	$(VENV)/bin/pytest -n 2 -m "not faults"
	$(VENV)/bin/pytest -m faults

# Browser tests drive Debian's Chromium with CJK fonts (Playwright cannot download a browser here).
browser-deps:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

bench: $(VENV)/.dev
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PY) bench/herb_search.py
	$(PY) bench/audit.py
	$(PY) bench/sidebyside.py

# The dashboards at 10 k and 1 M prescriptions on PostgreSQL (DATABASE_URL, default the local
# server): generates both histories (most of an hour at 1 M; --reuse keeps them between runs),
# then times every dashboard. Results in bench/results/dashboards*.md.
bench-dashboards: $(VENV)/.dev
	$(PY) bench/dashboards.py $(ARGS)

# The soak: 10,000 prescriptions through the whole pipeline by simulated users over HTTP, with
# the real Celery worker and beat (PostgreSQL and Redis of DATABASE_URL and REDIS_URL, by default
# the local servers); hours on a small machine: ARGS="--prescriptions 2000" for less. Counts lost,
# stuck and 5xx, and the servers' memory; results in bench/results/soak.md.
bench-soak: $(VENV)/.dev
	$(PY) bench/soak.py $(ARGS)

# The county's mixed load (submits, decisions, station steps, tracking polls, dashboards in the
# ratio one prescription brings) at 32 simulated users for 60 s with the real worker and beat,
# beside the bare stack's hello and insert at the same concurrency; bench/results/mixed.md.
bench-mixed: $(VENV)/.dev
	$(PY) bench/mixed.py $(ARGS)

# After changing user-facing strings: extract them and fill in the Simplified Chinese.
messages: $(VENV)/.dev
	$(PY) manage.py makemessages -l zh_Hans --ignore=$(VENV) --ignore=var --no-obsolete
	$(PY) locale/zh_hans.py
	$(PY) manage.py compilemessages --ignore=$(VENV)

clean:
	rm -rf var
