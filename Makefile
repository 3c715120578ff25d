# linux.namespaces: every target does its own set-up on a fresh Debian 12 machine, as root.
#   make isolate   the main job (playbooks/isolate.yml on this host)
#   make test      every test: sanity, units, integration, conformance, lint, changelog lint

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# The machine's python3 must be 3.11: pip resolves ansible-core to 2.19.x there.
PYTHON ?= python3
PYTHON_VERSION := 3.11
VENV := $(CURDIR)/.venv
VENV_READY := $(VENV)/.requirements-installed
REQUIREMENTS := requirements/controller.txt

# systemd-container (systemd-nspawn, a kit subject) at the installed systemd's version, so that installing it
# does not upgrade systemd itself.
SYSTEMD_CONTAINER := systemd-container$(shell v=$$(dpkg-query -W -f='$${Version}' systemd 2>/dev/null) && echo "=$$v")

# Debian packages the tests and the main job use. chromium takes screenshots of the reports;
# shellcheck lets the sanity test of that name check the shell scripts; sudo lets the become tests
# log in to fleet hosts as a user who is not root.
APT_PACKAGES := python3 python3-venv git util-linux mount hostname iproute2 procps psmisc iputils-ping \
	openssh-server openssh-client sudo shellcheck chromium fonts-dejavu-core bubblewrap runc \
	$(SYSTEMD_CONTAINER)

# The collection is made visible to Ansible as COLLECTIONS_ROOT/ansible_collections/NS/NAME, a
# symlink to this repository (galaxy.yml is the one place that names the collection).
# What the qemu guests of tests/fleet/guest.py need (make compat-report and the integration tests):
# qemu, and kmod's depmod for the unpacked kernels' module lists.
GUEST_APT_PACKAGES := qemu-system-x86 kmod

COLLECTION_NAMESPACE := $(shell awk '$$1 == "namespace:" {print $$2}' galaxy.yml)
COLLECTION_NAME := $(shell awk '$$1 == "name:" {print $$2}' galaxy.yml)
COLLECTIONS_ROOT := $(CURDIR)/.ansible/collections
COLLECTION_LINK := $(COLLECTIONS_ROOT)/ansible_collections/$(COLLECTION_NAMESPACE)/$(COLLECTION_NAME)

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_ROOT)
export PATH := $(VENV)/bin:$(PATH)
export TIMINGS_FILE := $(CURDIR)/tests/output/timings.txt

TIMED := tests/ci/timed.sh

.PHONY: help deps guest-deps compat-report venv collection sanity units integration conformance bench-check lint changelog-lint test isolate \
	bench soak requirements-lock conformance-hosts-lock clean

help:
	@echo "make isolate   run the main job: playbooks/isolate.yml on this host"
	@echo "make test      run every test (deps, venv, collection, changelog-lint, sanity, units,"
	@echo "               integration, conformance, lint); exits non-zero on any failure"
	@echo "make compat-report  audit and compatibility reports over Debian kernels booted in qemu"
	@echo "make bench     run every benchmark, write bench/RESULTS.md (root; BENCH_ARGS=--quick: smoke run)"
	@echo "other targets: deps guest-deps venv collection sanity units integration conformance bench-check lint"
	@echo "               changelog-lint soak requirements-lock conformance-hosts-lock clean"

deps:
	@$(TIMED) deps tests/ci/apt-ensure.sh $(APT_PACKAGES)

guest-deps:
	@$(TIMED) guest-deps tests/ci/apt-ensure.sh $(GUEST_APT_PACKAGES)

venv: $(VENV_READY)

$(VENV_READY): $(REQUIREMENTS)
	@tests/ci/apt-ensure.sh python3 python3-venv
	@version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	if [[ $$version != $(PYTHON_VERSION) ]]; then \
		echo "venv: $(PYTHON) is Python $$version; Python $(PYTHON_VERSION) is needed (set PYTHON=...)" >&2; exit 1; \
	fi
	@$(TIMED) venv bash -c '$(PYTHON) -m venv --clear $(VENV) && $(VENV)/bin/pip install --quiet -r $(REQUIREMENTS)'
	@touch $@

collection:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn $(CURDIR) $(COLLECTION_LINK)
	@echo "collection: $(COLLECTION_NAMESPACE).$(COLLECTION_NAME) -> $(COLLECTION_LINK) (ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT))"

sanity: deps venv
	@$(TIMED) sanity python tests/ci/run_ansible_test.py sanity

units: venv
	@$(TIMED) units python tests/ci/run_ansible_test.py units

# Integration tests touch the kernel: root only.
integration: deps guest-deps venv collection
	@if (( EUID != 0 )); then echo "integration: run as root" >&2; exit 1; fi
	@$(TIMED) integration tests/ci/pytest-suite.sh integration tests/integration

# The hardening tests at soak size (issue 14; make test runs them small): 200 kill -9 faults, 10 rounds of
# each race, 5 times the generated arguments. Root only; about 30 minutes here. Findings: tests/output/hardening/.
SOAK_FAULTS ?= 200
soak: deps venv collection
	@if (( EUID != 0 )); then echo "soak: run as root" >&2; exit 1; fi
	@LNS_FAULTS=$(SOAK_FAULTS) LNS_RACE_ROUNDS=10 LNS_FUZZ_SCALE=5 $(TIMED) soak tests/ci/pytest-suite.sh soak \
		tests/integration/test_faults.py tests/integration/test_races.py tests/integration/test_fuzz_modules.py

conformance: deps venv collection
	@$(TIMED) conformance tests/ci/pytest-suite.sh conformance conformance --hosts=local://

# The benchmarks' own tests (bench/test_*.py): their bookkeeping, and the README's table in step.
bench-check: venv collection
	@$(TIMED) bench-check tests/ci/pytest-suite.sh bench-check bench

lint: venv collection
	@$(TIMED) lint ansible-lint

changelog-lint: venv
	@$(TIMED) changelog-lint bash -c 'antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml'

# Fail fast: the first failing step stops the run with its exit code.
test:
	@rm -f $(TIMINGS_FILE)
	@$(MAKE) --no-print-directory deps venv collection changelog-lint sanity units integration conformance bench-check lint
	@echo "== step timings (also in $(TIMINGS_FILE)):"
	@cat $(TIMINGS_FILE)

# Every benchmark, side by side with its anchors: bench/RESULTS.md, RESULTS.json, the README's table.
BENCH_ARGS ?=
bench: deps venv collection
	@if (( EUID != 0 )); then echo "bench: run as root" >&2; exit 1; fi
	@$(TIMED) bench python -m bench.run_all $(BENCH_ARGS)

# This host as a one-host inventory with a local connection (no implicit-localhost warnings), with the
# venv's Python stated explicitly.
ISOLATE_ARGS ?=
isolate: deps venv collection
	ansible-playbook -i localhost, -c local playbooks/isolate.yml -e ansible_python_interpreter=$(VENV)/bin/python \
		$(ISOLATE_ARGS)

# The audit and the compatibility report over Debian kernels in qemu guests plus this machine's kernel
# (bench/compat_report.py); e.g. COMPAT_ARGS="--kernels bookworm:6.1,trixie:6.12 --select UTS".
COMPAT_ARGS ?=
compat-report: deps guest-deps venv collection
	@if (( EUID != 0 )); then echo "compat-report: run as root" >&2; exit 1; fi
	@$(TIMED) compat-report python -m bench.compat_report $(COMPAT_ARGS)

# Re-pins requirements/controller.txt from requirements/controller.in in a scratch venv.
requirements-lock:
	@scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	$(PYTHON) -m venv "$$scratch" && "$$scratch/bin/pip" install --quiet -r requirements/controller.in && \
	{ echo "# Generated by 'make requirements-lock' from requirements/controller.in on Python $(PYTHON_VERSION). Do not edit."; \
	  "$$scratch/bin/pip" freeze --all --exclude pip --exclude setuptools --exclude wheel; } > $(REQUIREMENTS)

# Re-pins requirements/conformance-hosts.txt (what the conformance kit runs with on hosts) from
# requirements/conformance-hosts.in: one interpreter per host Python, each resolving for itself.
HOST_PYTHONS ?= $(wildcard $(foreach minor,8 9 10 11 12 13 14,$(HOME)/.pyenv/versions/3.$(minor).*/bin/python3))
conformance-hosts-lock: venv
	$(VENV)/bin/python tests/ci/lock_conformance_hosts.py $(HOST_PYTHONS)

clean:
	if [[ -x $(VENV)/bin/python ]]; then $(VENV)/bin/python tests/ci/run_ansible_test.py clean; fi
	rm -rf $(VENV) .ansible tests/output
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
