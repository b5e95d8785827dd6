VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 3000
# The browser tests drive the OS Chromium (Playwright's own browser download is not available everywhere).
CHROMIUM ?= /usr/bin/chromium

.PHONY: install demo run test check lint format-check typecheck bench clean serve browser postgres

$(STAMP): pyproject.toml
	@echo "==> Creating the virtual environment in $(VENV)"
	python3 -m venv $(VENV)
	@echo "==> Upgrading pip"
	$(PY) -m pip install --progress-bar off --upgrade pip
	@echo "==> Installing Throughline and its development tools (about a minute on a first install)"
	$(PY) -m pip install --progress-bar off -e '.[dev]'
	@echo "==> Compiling the source tree (an editable install is not compiled; PYTHONDONTWRITEBYTECODE would make every command compile it)"
	$(PY) -m compileall -q bot handlers
	touch $(STAMP)
	@echo "==> Installed; run 'make test', 'make demo' or 'make serve'"


install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/throughline demo

run: $(STAMP)
	$(VENV)/bin/throughline console --port $(PORT)

browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji; }

# The store's tests also run on a throwaway PostgreSQL cluster started from the OS server binaries.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

test: $(STAMP) browser postgres
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check bot handlers tests bench

format-check: $(STAMP)
	$(VENV)/bin/ruff format --check bot handlers tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy bot handlers

check: lint format-check typecheck test

bench: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null) || echo "wrk not installed: intake ratio skipped"
	$(PY) -m bench.run

serve: $(STAMP)
	$(VENV)/bin/throughline serve --sandbox

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
