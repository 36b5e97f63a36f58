# City Exchange: `make run` starts the app with demo data, `make test` runs every test
# on SQLite and on the local PostgreSQL server. Both set up what they need.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app exchange
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-pg test-browser install browser-deps migrate translations bench clean

run: install migrate
	$(FLASK) seed-demo
	$(FLASK) search reindex
	$(FLASK) run --host 127.0.0.1 --port 5000

test: test-sqlite test-pg

# Tests run on every core (pytest-xdist); each worker has its own database or schema.
# loadgroup keeps the browser tests (one xdist group) on one worker: one server, one browser.
PYTEST := $(BIN)/pytest -q -n auto --dist loadgroup

# The SQLite pass includes the browser tests (tests/browser/, marker `browser`); the
# PostgreSQL pass leaves them out, so they run once per `make test`.
test-sqlite: install browser-deps
	$(PYTEST)

test-pg: install
	@sh .ci/ensure-postgres
	EXCHANGE_TEST_DATABASE_URL=$(PG_URL) $(PYTEST) -m "not browser"

# Only the browser tests (journeys, axe-core, Nu HTML Checker); screenshots in build/screenshots/.
test-browser: install browser-deps
	$(BIN)/pytest -q -p no:randomly -m browser tests/browser

# Debian's chromium, a Java runtime and WeasyPrint's libraries (.ci/system-deps), and
# axe-core and vnu-jar from the npm registry into node_modules/ (gitignored) by `npm ci`.
NPM_STAMP := node_modules/.installed
browser-deps: $(NPM_STAMP)
	@sh .ci/system-deps

$(NPM_STAMP): package.json package-lock.json
	@sh .ci/system-deps
	npm ci --no-audit --no-fund --ignore-scripts
	touch $(NPM_STAMP)

install: $(STAMP) translations

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

translations: $(STAMP)
	@if ls exchange/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d exchange/translations; fi

migrate: install
	$(FLASK) db upgrade

# The quick sizes; `benchmarks/scale.py` without --quick is the Germany-scale run
# (docs/performance.md).
bench: install
	$(BIN)/python benchmarks/search_bench.py
	$(BIN)/python benchmarks/match_bench.py
	$(BIN)/python benchmarks/import_bench.py
	$(BIN)/python benchmarks/scale.py --quick

clean:
	rm -rf $(VENV) build *.egg-info node_modules

# Re-extract the German msgids and merge new ones into the English catalogue
# (exchange/translations/en/LC_MESSAGES/messages.po); then translate the empty entries.
.PHONY: translations-update
translations-update: $(STAMP)
	scripts/update-translations
