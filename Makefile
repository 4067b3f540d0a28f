# p4mobility: the single entry point. `make install test` is what CI runs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# the 25 slowest tests at the end of each run: where the suite's time goes
DURATIONS := --durations=25

.PHONY: install test test-bare lab bench soak fuzz p4 clean

# Debian packages the lab and the independent checks use (installed when missing and root).
# mininet + bridge-utils: mininet/pmip.py (its AIR is Mininet's LinuxBridge, which uses brctl);
# without recommends, so no Open vSwitch (not needed: docs/lab.md, Mininet).
# nftables: the host-mobility lab's NAT (masquerade) and its lossy-link tests.
# etcd-server: the [store] kind = "etcd" binding store and its tests (docs/cluster.md).
SYS_PKGS := tshark tcpdump iproute2 iputils-ping mininet bridge-utils nftables etcd-server

$(VENV)/.installed: pyproject.toml
	@missing=0; for t in tshark tcpdump ip ping mnexec brctl nft etcd; do command -v $$t >/dev/null || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      $(SYS_PKGS) >/dev/null || echo "note: apt-get failed; tests needing $(SYS_PKGS) will be skipped"; \
	  else echo "note: install $(SYS_PKGS) (as root) for the lab, Mininet and the tshark cross-checks"; fi; \
	fi
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q $(DURATIONS) $(PYTEST_ARGS)

# `make test` as on a fresh machine without Open vSwitch, bmv2 and p4c: PATH is a
# directory of links to every program on PATH (and /usr/sbin, /sbin) except those
# matching BARE_HIDE, and P4MOB_TOOL_DIRS is empty (no /opt/p4/bin fallback). Green,
# with each skip's reason printed (-rs). Hide more to check other skips, e.g.
# `make test-bare BARE_HIDE="ovs-* simple_switch* p4c* tshark tcpdump"`.
BARE_HIDE ?= ovs-* simple_switch* p4c*
BARE_BIN := $(VENV)/bare-bin
empty :=
space := $(empty) $(empty)

test-bare: install
	@rm -rf $(BARE_BIN) && mkdir -p $(BARE_BIN)
	@for d in $${PATH//:/ } /usr/sbin /sbin; do for f in "$$d"/*; do n=$${f##*/}; \
	  case "$$n" in $(subst $(space),|,$(strip $(BARE_HIDE)))) continue;; esac; \
	  [ -f "$$f" ] && [ -x "$$f" ] && [ ! -e "$(BARE_BIN)/$$n" ] && ln -s "$$f" "$(BARE_BIN)/$$n"; \
	done; done; true
	PATH=$(abspath $(BARE_BIN)) P4MOB_TOOL_DIRS= $(PY) -m pytest -q -rs $(DURATIONS) $(PYTEST_ARGS)

lab: install
	$(VENV)/bin/p4mob lab --out lab-out

bench: install
	$(PY) bench/run_all.py

# Long run under a PBU load with faults (minutes; not part of `make test`; root): the lab's
# processes plus a generator playing two MAGs, kill -9 / link loss / full disk while it runs.
# Writes $(SOAK_OUT)/soak.json and soak.png (docs/soak.md).
SOAK_SECONDS ?= 120
SOAK_RATE ?= 200
SOAK_MNS ?= 2000
SOAK_FAULTS ?= lma_controller,mag_controller,crypto_path,switch,link_loss,disk_full
SOAK_TARGET ?= embedded
SOAK_OUT ?= soak-out
SOAK_ARGS ?=
soak: install
	$(PY) -m p4mobility.soak --seconds $(SOAK_SECONDS) --rate $(SOAK_RATE) --mns $(SOAK_MNS) \
	  --faults "$(SOAK_FAULTS)" --target $(SOAK_TARGET) --out $(SOAK_OUT) $(SOAK_ARGS)

# Coverage-guided fuzzing (atheris; fuzz/, docs/fuzzing.md): every target FUZZ_SECONDS
# seconds in its own process; one line per target, figures in fuzz/results/fuzz.json.
# FUZZ_ARGS e.g. "--targets mh_decode,esp_frame --jobs 2 --pcaps lab-out".
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=

$(VENV)/.fuzz-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test,fuzz]'
	touch $@

fuzz: $(VENV)/.fuzz-installed
	$(PY) -m fuzz.runner --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) lab-out bench/results soak-out fuzz/results

# --- P4 program (owned by p4src/; see README "Rebuilding the P4 program") ---
# p4c-bm2-ss from PATH, else /opt/p4/bin; warnings are errors; outputs and the
# source hash are committed together (tests/test_p4_build.py checks freshness).
P4C ?= $(shell command -v p4c-bm2-ss 2>/dev/null || { [ -x /opt/p4/bin/p4c-bm2-ss ] && echo /opt/p4/bin/p4c-bm2-ss; })
P4_BUILD := p4src/build

p4:
	@[ -n "$(P4C)" ] || { echo "p4c-bm2-ss not found on PATH or in /opt/p4/bin (see README: The reference toolchain)" >&2; exit 1; }
	@mkdir -p $(P4_BUILD)
	$(P4C) --arch v1model --std p4-16 --Werror \
	  --p4runtime-files $(P4_BUILD)/mobility.p4info.txtpb \
	  -o $(P4_BUILD)/mobility.json p4src/mobility.p4
	python3 p4src/hash_sources.py > $(P4_BUILD)/SOURCES.sha256
