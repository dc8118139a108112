# The two commands a fresh machine needs: `make gate` and `make test`. Each installs what is missing.
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= quick
# Items a person confirms, e.g. ATTEST=oncall_notified=alice (space-separated for several).
ATTEST ?=

.PHONY: setup gate test lint bench clean

setup:
	@bash scripts/setup.sh

gate: setup
	$(BIN)/loadgate gate --profile $(PROFILE) $(foreach a,$(ATTEST),--attest $(a))

# Test workers (pytest-xdist): most tests wait on the processes they start far more than they compute,
# so two workers fit two cores; a test marked `alone` still runs with nothing beside it (tests/conftest.py).
# A module stays on one worker (--dist loadfile): its fixtures (a fleet of services, a gate run) start once.
TEST_WORKERS ?= 2
# pytest exits 5 when it collected nothing: that is a failure, not a pass.
test: setup
	@$(BIN)/python -m pytest -q -ra -n $(TEST_WORKERS) --dist loadfile; rc=$$?; [ $$rc -ne 5 ] || { echo "pytest collected no tests"; exit 1; }; exit $$rc

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf reports/*/ .pytest_cache .ruff_cache
