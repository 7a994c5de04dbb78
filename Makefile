# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config

.PHONY: install dev run test test-deps lint typecheck bench fuzz clean constraints vendor screenshots

install: $(VENV)/.installed

# Installs are pinned by constraints.txt (every package, dev extras too): `make constraints` renews it.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e .
	touch $@

dev: $(VENV)/.dev-installed

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# The newest versions pyproject.toml allows, resolved in a fresh venv and pinned for every install.
constraints:
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	( echo "# Every package of make install and make dev, pinned by make constraints (run it to renew)."; \
	  $(VENV)-lock/bin/pip freeze --exclude-editable --disable-pip-version-check ) > constraints.txt
	rm -rf $(VENV)-lock

run: install
	$(BIN)/hotline-gateway serve --config $(CONFIG)

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: dev
	$(BIN)/mypy

# The suite on two workers (pytest-xdist): each test has its own Redis namespace, database and ports.
TEST_WORKERS ?= 2
test: lint typecheck test-deps
	$(BIN)/pytest -q -n $(TEST_WORKERS)

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

# Every inbound surface, 100,000 inputs each: the channels' HTTP routes (bench/fuzz.py), the mail the
# mailbox kind reads (bench/fuzz_mail.py, no server) and the gateway's own APIs (bench/fuzz_api.py).
# Redis: REDIS_URL, default 127.0.0.1:6379. 0 5xx and 0 crashes, or it fails.
FUZZ_EXAMPLES ?= 100000
fuzz: dev
	$(BIN)/python -m bench.fuzz --examples $(FUZZ_EXAMPLES)
	$(BIN)/python -m bench.fuzz_mail --examples $(FUZZ_EXAMPLES)
	$(BIN)/python -m bench.fuzz_api --examples $(FUZZ_EXAMPLES)

# The workbench's chart library, vendored from the npm registry at a pinned version with its licence:
# `make vendor` (or `make vendor ECHARTS_VERSION=x.y.z` to move the pin) refreshes it.
ECHARTS_VERSION ?= 6.1.0
STATIC := gateway/dashboard/static
vendor:
	rm -rf .vendor-tmp && mkdir .vendor-tmp
	cd .vendor-tmp && npm pack --silent echarts@$(ECHARTS_VERSION) >/dev/null && tar xzf echarts-$(ECHARTS_VERSION).tgz
	cp .vendor-tmp/package/dist/echarts.common.min.js $(STATIC)/echarts.min.js
	( echo "Apache ECharts $(ECHARTS_VERSION) (npm: echarts@$(ECHARTS_VERSION), dist/echarts.common.min.js)," \
	  "sha256 of the package: $$(sha256sum .vendor-tmp/echarts-$(ECHARTS_VERSION).tgz | cut -d' ' -f1)"; echo; \
	  cat .vendor-tmp/package/NOTICE; echo; cat .vendor-tmp/package/LICENSE ) > $(STATIC)/echarts.LICENSE.txt
	rm -rf .vendor-tmp

# The screenshots of docs/operations.md, taken in Debian's chromium from a gateway with the sample history.
screenshots: dev test-deps
	$(BIN)/python -m bench.screenshots docs/img

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
