# The two commands of the README: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean roles mutation mutation-ci chromium reliability reliability-short

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

# `make demo SANDBOX_PORT=0 API_PORT=8100 SMTP_PORT=0` (0: a free port); the CLI follows var/demo.json
SANDBOX_PORT ?= 8787
API_PORT ?=
SMTP_PORT ?= 0
demo: $(STAMP)
	$(VENV)/bin/netkeep demo --sandbox-port $(SANDBOX_PORT) $(if $(API_PORT),--port $(API_PORT)) --smtp-port $(SMTP_PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

roles: $(STAMP)  # README's role and exit-code tables, from core/policy.py and core/exit_codes.py
	$(VENV)/bin/python -m api.role_table
	$(VENV)/bin/python -m core.exit_codes

# The /ui browser tests drive Debian's chromium through Playwright (never `playwright install`);
# a Japanese font, or the screenshots show empty boxes for the Japanese pages.
BROWSER_PACKAGES := chromium fonts-ipafont-gothic
chromium:
	@test -x /usr/bin/chromium && dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || \
	  { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq $(BROWSER_PACKAGES) || \
	    { apt-get update -qq && apt-get install -y -qq $(BROWSER_PACKAGES); }; }

# One pytest session: the whole suite and the reliability suite's short form (tests/reliability/
# plugin.py), which alone would start its workers, migrate and start a sandbox once more.
# Four xdist workers on two cores: the suite waits more than it computes (servers starting, the
# product's real retry waits), two workers left the cores idle half the time (713 s vs 468 s).
test: lint chromium
	$(VENV)/bin/pytest -n 4 --dist loadgroup -q --reliability=short --durations=20
	$(MAKE) mutation-ci

# The reliability suite (issue 15; tests/reliability/plugin.py): faults, crash, concurrency on
# PostgreSQL, schemathesis, the role matrix, the secret scan and abuse, with a table of figures.
# `make test`'s pytest runs the short form too (--reliability=short); the full one takes minutes.
reliability: $(STAMP)
	NETKEEP_RELIABILITY_CLIENTS=50 $(VENV)/bin/pytest --reliability=full -m reliability -n 2 -q

reliability-short: $(STAMP)
	$(VENV)/bin/pytest --reliability=short -m reliability -n 2 -q

# Mutation testing (tools/mutate.py, docs/mutation.md): every pure module, survivors listed.
mutation: $(STAMP)
	$(VENV)/bin/python -m tools.mutate --show-survivors

# The CI-sized run inside `make test`: fails when a module's kill rate drops below its threshold;
# --select runs each mutant against only the tests that reach its line (same verdicts, less CPU);
# a function-body mutant is patched into a process that collected once (tools/forkrun.py).
mutation-ci: $(STAMP)
	$(VENV)/bin/python -m tools.mutate --ci --select

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
