# Every target sets itself up: a fresh machine with only Python needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.ready
# The demo needs l0, the openai SDK and aiohttp (the local fault server) only: its own marker
# and a lighter install, so `make demo` on a fresh clone does not wait for the dev toolchain.
DEMO_READY := $(VENV)/.demo-ready
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: test demo diagrams diagrams-check lint bench bench-peer bench-fleet clean

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(READY)

test: $(READY)
	$(BIN)/python -m pytest -q $(ARGS)

$(DEMO_READY): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[openai,testing]'
	touch $(DEMO_READY)

demo: $(DEMO_READY)
	$(BIN)/python -m l0.demo --diagram diagrams/last-demo.md $(ARGS)

diagrams: $(READY)
	$(BIN)/python -m l0 diagram --write diagrams

diagrams-check: $(READY)
	$(BIN)/python -m l0 diagram --check diagrams

lint: $(READY)
	$(BIN)/python -m ruff check l0 tests benchmarks
	$(BIN)/python -m mypy
	$(BIN)/python -m mypy tests/typing

bench: $(READY)
	$(BIN)/python benchmarks/workload.py --write-results benchmarks/RESULTS.md $(ARGS)
	$(BIN)/python benchmarks/lean.py --write-results benchmarks/RESULTS.md
	$(BIN)/python benchmarks/recovery.py --write benchmarks/RESULTS.md $(RECOVERY_ARGS)

# Route health in Redis and recordings in PostgreSQL (starts private servers; see the script).
bench-fleet: $(READY)
	$(BIN)/python benchmarks/fleet.py --write benchmarks/RESULTS.md $(ARGS)

PEER := .bench/peer-venv
$(PEER)/.ready:
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip install --quiet --upgrade pip
	$(PEER)/bin/python -m pip install --quiet 'ai2070-l0==0.21.1'
	touch $@

bench-peer: $(READY) $(PEER)/.ready
	$(BIN)/python benchmarks/compare.py --ours $(BIN)/python --peer $(PEER)/bin/python \
		--write benchmarks/RESULTS.md $(ARGS)

clean:
	rm -rf $(VENV) .bench dist build
