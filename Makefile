# The two commands of the README: `make run` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo runs in debug mode on plain HTTP; production settings are described in the README. It lets
# webhooks reach a receiver on this machine (docs/examples/webhook_receiver.py), with retries in seconds.
RUN_ENV := DJANGO_DEBUG=true HJ_PUBLIC_URL=http://$(HOST):$(PORT) HJ_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8 \
	HJ_WEBHOOK_RETRY_SCHEDULE=0,10,30,60,120
PYTEST_ARGS ?=

.PHONY: run test test-sqlite test-postgres test-pgbouncer lint bench topology install clean openapi lint-openapi node-deps

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.runtime

run: $(VENV)/.runtime
	$(RUN_ENV) $(PY) manage.py migrate --verbosity 0
	$(RUN_ENV) $(PY) manage.py seed_demo 2>/dev/null
	@# The server and one webhook worker: one command, one Ctrl-C (the worker ends with the server).
	@$(RUN_ENV) sh -c '$(PY) manage.py db_worker --no-reload --verbosity 0 & worker=$$!; \
		trap "kill $$worker 2>/dev/null; wait $$worker" EXIT INT TERM; \
		$(PY) manage.py runserver $(HOST):$(PORT)'

# The whole suite on SQLite, then again on a throwaway PostgreSQL cluster when pg_ctl exists
# (required under CI=true).
test: test-sqlite test-postgres

test-sqlite: $(VENV)/.test
	$(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.test
	$(PY) -m tests.pgcluster -- $(PY) -m pytest $(PYTEST_ARGS)

# The rules and the API through a throwaway PgBouncer in transaction pooling (DATABASE_POOLER=pgbouncer).
# --reuse-db: PgBouncer keeps server connections to the test database, so it is not dropped; the
# whole cluster is removed after the run instead.
test-pgbouncer: $(VENV)/.test
	$(PY) -m tests.pgcluster --pgbouncer -- $(PY) -m pytest --reuse-db tests/rules tests/api $(PYTEST_ARGS)

# The import contracts in .importlinter (one-way dependencies between the layers), then ruff.
lint: $(VENV)/.test
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff check .

# docs/openapi.json is generated from the code; tests/api/test_openapi.py fails when the two differ.
openapi: $(VENV)/.runtime
	DJANGO_DEBUG=true $(PY) manage.py spectacular --validate --fail-on-warn --format openapi-json --file docs/openapi.json

# Node tools pinned in package.json / package-lock.json: Redocly CLI, openapi-typescript, TypeScript.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
node-deps: node_modules/.package-lock.json

# Redocly lint with no errors, then the TypeScript client's types generated and type-checked with tsc.
lint-openapi: node-deps
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint docs/openapi.json --format=stylish
	npx --no-install openapi-typescript docs/openapi.json --output clients/typescript/generated/schema.d.ts
	npx --no-install tsc --noEmit -p clients/typescript

$(VENV)/.bench: $(VENV)/.test requirements-bench.txt
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@

# Every benchmark on SQLite, then on a throwaway PostgreSQL cluster with the load run; prints the
# table and writes bench/results/latest.json (see the README's "Performance" section).
bench: $(VENV)/.bench
	$(PY) -m bench

# The production topology on loopback (README, "Production"): nginx, 2 gunicorn instances x 2 workers,
# PgBouncer, a PostgreSQL primary and its streaming replica, Redis, the webhook worker and a receiver,
# under a mixed workload for about a minute while it kills an instance, terminates the listeners'
# connections and restarts the replica; prints its report and fails when a check fails.
# TOPOLOGY_ARGS=--short is the 15 s form .ci/run runs.
TOPOLOGY_ARGS ?=
topology: $(VENV)/.test
	$(PY) -m bench.topology $(TOPOLOGY_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles
