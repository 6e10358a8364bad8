# Cascade — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages the test suite needs: a real headless browser and WeasyPrint's libraries.
SYSTEM_PACKAGES := chromium chromium-driver libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
	libfontconfig1 fonts-dejavu-core poppler-utils

.PHONY: demo test venv system-deps migrate seed serve lint format services-test check clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

## demo: install, migrate, seed demo users, scenarios and an exercise, serve on 127.0.0.1:8000
demo: venv migrate seed serve

migrate: venv
	$(BIN)/python manage.py migrate --noinput

seed: venv
	$(BIN)/python manage.py seed_demo

serve: venv
	$(BIN)/python -m config.serve -b $(HOST) -p $(PORT)

# Test processes for make test (pytest-xdist): each owns a test database, a Redis database
# (REDIS_URL's and the next ones), a channel prefix and a data folder (tests/parallel.py).
# Whole files go to a worker, so a module's shared fixture (a seeded demo, a server process)
# is made once; in collection order (no reorder), so each worker runs its browser tests last.
TEST_WORKERS ?= 2
TEST_DIST := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

## test: install everything the suite needs and run it (browser tests included)
test: venv system-deps
	$(BIN)/python -m pytest $(TEST_DIST)

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
