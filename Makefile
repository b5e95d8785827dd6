VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 3000
# The browser tests drive the OS Chromium (Playwright's own browser download is not available everywhere).
CHROMIUM ?= /usr/bin/chromium

.PHONY: install demo run test check lint typecheck bench clean serve browser

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/throughline demo

run: $(STAMP)
	$(VENV)/bin/throughline console --port $(PORT)

browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji; }

test: $(STAMP) browser
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check bot handlers tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy bot handlers

check: lint typecheck test

bench: $(STAMP)
	$(PY) -m bench.run

serve: $(STAMP)
	$(VENV)/bin/throughline serve --sandbox

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
