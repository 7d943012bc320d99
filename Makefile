# Launchplane: `make run` serves the app with demo data on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes (pytest-xdist): one per core by default; PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= auto
DEMO_USERNAME ?= admin
DEMO_PASSWORD ?= launchplane-demo
# Where the demo environments' base_url points: the demo runtime `make run` serves (DEMO_RUNTIME=1). A
# wildcard HOST is not an address to probe (0.0.0.0 is a blocked network), so probes use loopback then.
DEMO_RUNTIME_HOST ?= $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST))
DEMO_RUNTIME_BASE ?= http://$(DEMO_RUNTIME_HOST):$(PORT)/demo-runtime

.PHONY: run test lint fmt venv migrate demo bench bench-http soak clean

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

venv: $(BIN)/activate

migrate: venv
	DEBUG=1 $(BIN)/python manage.py migrate --noinput

demo: migrate
	DEBUG=1 $(BIN)/python manage.py seed_demo --admin-username "$(DEMO_USERNAME)" --admin-password "$(DEMO_PASSWORD)" \
		--runtime-base "$(DEMO_RUNTIME_BASE)"

# The whole app in one terminal: the web server (runserver, with the demo runtime), the task worker
# (db_worker: verification runs) and the sweeper (sweep --loop: deadlines and the verification schedule),
# output interleaved and prefixed. Ctrl-C stops all three; if one exits, the others are stopped. They run
# under `manage.py runall` (launchplane/management/commands/runall.py), a small supervisor of ours rather
# than honcho + a Procfile: no extra dependency, and it stops each process's whole process group (the
# autoreloader's child included). In production they are three services (docs/operations.md).
run: demo
	@echo ""
	@echo "Launchplane is starting on http://$(HOST):$(PORT)/"
	@echo "  Board:    http://$(HOST):$(PORT)/   (review queue: /review/)"
	@echo "  Admin:    http://$(HOST):$(PORT)/admin/"
	@echo "  API:      http://$(HOST):$(PORT)/api/v1/docs/   (tokens: manage.py create_api_client)"
	@echo "  Log in as $(DEMO_USERNAME) / $(DEMO_PASSWORD)"
	@echo "  Demo runtime (what Re-verify probes): $(DEMO_RUNTIME_BASE)/<context>/<instance>/"
	@echo "  Running the web server, the task worker and the sweeper; Ctrl-C stops all three."
	@echo ""
	DEBUG=1 DEMO_RUNTIME=1 $(BIN)/python manage.py runall --host $(HOST) --port $(PORT) --sweep-interval 2

test: venv
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=1 $(BIN)/python manage.py decision_tables --check docs/provenance.md
	DEBUG=1 $(BIN)/mypy launchplane inventory bootstraps notifications compat

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks against the targets in docs/performance.md. First in-process (SQLite; set DATABASE_URL for
# PostgreSQL; production-like settings: DEBUG off, so templates are cached as they are when serving), then
# over HTTP (bench-http). Both always run; `make bench` fails when either misses a target.
bench: migrate
	@status=0; \
	DEBUG=0 SECRET_KEY=launchplane-bench-only $(BIN)/python manage.py bench --environments 200 --rounds 30 || status=1; \
	$(BIN)/python -m tests.bench.http_load || status=1; \
	exit $$status

# HTTP load benchmark (tests/bench/http_load.py): gunicorn on a PostgreSQL database of its own, which it drops
# and recreates (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/launchplane_bench_http), seeded
# with BENCH_ENVIRONMENTS (1000) environments; pgbench TPC-B in the same run as the ceiling; BENCH_SECONDS (20)
# or BENCH_REQUESTS (400) per endpoint. About four minutes. Not part of `make test`.
bench-http: venv
	$(BIN)/python -m tests.bench.http_load

# Soak: 8 API clients for SOAK_SECONDS (60) against gunicorn on a PostgreSQL database of its own, which
# it drops and recreates (SOAK_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/launchplane_soak);
# then checks the books. SOAK_SEED and SOAK_MAX_REQUESTS pass through too. Not part of `make test`.
soak: venv
	$(BIN)/python -m tests.soak.soak

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
