# Loyalty engine: `make run` and `make test` are the two commands a fresh clone needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: run setup venv migrate seed test test-fast lint bench serve browser clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --no-input

browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests."; fi; \
	fi

setup: venv migrate browser

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	@echo ""
	@echo "  Console:  http://127.0.0.1:$(PORT)/   API: http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Log in as admin / admin (the demo administrator)"
	@echo ""
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

serve: venv
	$(PY) manage.py collectstatic --no-input --verbosity 0
	BIND=127.0.0.1:$(PORT) $(VENV)/bin/gunicorn loyalty.wsgi:application -c gunicorn.conf.py

test: venv
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "No browser at $(CHROMIUM): run 'make setup' as root (or 'apt-get install -y chromium'),"; \
	  echo "or 'make test-fast' to skip the browser tests."; exit 1; fi
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -m "not browser"
	# Playwright's sync API runs an event loop in the test thread; only the browser tests need this.
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -q -m browser

test-fast: venv
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -m "not browser"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy loyalty customers events transactions coupons segments workflows

bench: venv
	$(PY) -m bench

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
