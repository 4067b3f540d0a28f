# p4mobility: the single entry point. `make install test` is what CI runs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install test lab bench p4 clean

$(VENV)/.installed: pyproject.toml
	@command -v tshark >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null) || \
	  echo "note: tshark not installed; tshark cross-checks will be skipped"; }
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

lab: install
	$(VENV)/bin/p4mob demo

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) lab-out bench/results

# --- P4 program (owned by p4src/; see README "Rebuilding the P4 program") ---
