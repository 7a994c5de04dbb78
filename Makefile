# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config

.PHONY: install dev run test test-deps lint typecheck bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e .
	touch $@

dev: $(VENV)/.dev-installed

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

run: install
	$(BIN)/hotline-gateway serve --config $(CONFIG)

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: dev
	$(BIN)/mypy

test: lint typecheck test-deps
	$(BIN)/pytest -q

# The mailbox tests run a real IMAP server: Debian's Dovecot, installed where it is missing.
test-deps:
	@if [ ! -x /usr/sbin/dovecot ]; then \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd) \
		|| echo "warning: could not install dovecot-imapd; the mailbox tests that need it will skip"; \
	fi
	@if [ ! -x /usr/bin/chromium ]; then \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) \
		|| echo "warning: could not install chromium; the dashboard browser test will skip"; \
	fi
	@if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-noto-cjk) \
		|| echo "warning: could not install fonts-noto-cjk; report PDFs will lack Chinese glyphs"; \
	fi

bench: dev
	$(BIN)/python -m bench.e2e

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
