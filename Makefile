# fatelab: two commands for a newcomer, `make experiment` and `make test`.
# Everything else is here for operators: the local lab, Ansible deployments and benchmarks.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_ANSIBLE := .venv-ansible
FATELAB := $(VENV)/bin/fatelab
PY := $(VENV)/bin/python
DATA ?=
SCENARIO ?=
INVENTORY ?=
# Requirements decide whether the venv must be rebuilt; a stamp keeps `make setup` instant otherwise.
SETUP_STAMP := $(VENV)/.fatelab-setup-$(shell cat requirements/fate-2.2.txt requirements/fate-no-deps.txt requirements/harness.txt pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)
ANSIBLE_STAMP := $(VENV_ANSIBLE)/.fatelab-setup-$(shell sha256sum requirements/ansible.txt 2>/dev/null | cut -c1-12)

# pip's noise on this kind of machine (unused local index folders, editable-install banner); grep's own
# "nothing left" status must not count as pip failing.
QUIET_PIP := { grep -v -e "is ignored" -e "editable" -e "!!" -e "\*\*\*\*" -e "folders in your" -e "name as your" -e "with strategy" -e "^ *$$" || true; }

.PHONY: help setup setup-ansible setup-spark experiment security test test-fast test-lab lint bench bench-data bench-lab engine-start engine-stop engine-status \
        lab lab-destroy lab-status cluster verify destroy rebuild plan clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(SETUP_STAMP) ## create .venv with FATE 2.2 and the harness (idempotent)

$(SETUP_STAMP):
	@echo "[setup] creating $(VENV) (FATE 2.2 + harness; about 2-3 minutes the first time)"
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -U pip setuptools wheel 2>&1 | $(QUIET_PIP)
	@# FATE's three wheels go in with --no-deps: their own pins conflict (see requirements/fate-2.2.txt).
	@set -o pipefail; $(VENV)/bin/pip install -q -r requirements/fate-2.2.txt -r requirements/harness.txt 2>&1 | $(QUIET_PIP) || { echo "[setup] pip failed"; exit 1; }
	@set -o pipefail; $(VENV)/bin/pip install -q --no-deps -r requirements/fate-no-deps.txt 2>&1 | $(QUIET_PIP) || { echo "[setup] pip failed"; exit 1; }
	@set -o pipefail; $(VENV)/bin/pip install -q --no-deps -e . 2>&1 | $(QUIET_PIP) || { echo "[setup] pip failed"; exit 1; }
	@# A no-op on most Pythons: fatelab_nn/enum_pickle.py says on which ones FATE's federation needs it.
	@cp fatelab_nn/fatelab_enum_pickle.pth "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
	@$(PY) -c "import fate, fate_flow, fate_client, torch, harness; from fate_client.pipeline.components.fate import HomoLR" \
	  || { echo "[setup] FATE import check failed"; exit 1; }
	@rm -f $(VENV)/.fatelab-setup-*; touch $@
	@echo "[setup] ready: $$($(PY) -c 'import importlib.metadata as m; print("pyfate", m.version("pyfate"), "torch", m.version("torch"))')"

setup-ansible: $(ANSIBLE_STAMP) ## create .venv-ansible (ansible-core 2.16 for CentOS 7 targets, ansible-lint)

$(ANSIBLE_STAMP):
	@test -x $(VENV_ANSIBLE)/bin/python || $(PYTHON) -m venv $(VENV_ANSIBLE)
	@set -o pipefail; $(VENV_ANSIBLE)/bin/pip install -q -r requirements/ansible.txt 2>&1 | $(QUIET_PIP) || { echo "[setup] pip failed"; exit 1; }
	@rm -f $(VENV_ANSIBLE)/.fatelab-setup-*; touch $@

setup-spark: setup ## add Apache Spark (pyspark, requirements/spark.txt) to .venv; needs Java 17 (docs/spark.md)
	@command -v java >/dev/null || { echo "[setup] no java: apt-get install openjdk-17-jre-headless"; exit 1; }
	@set -o pipefail; $(VENV)/bin/pip install -q --disable-pip-version-check -r requirements/spark.txt 2>&1 | $(QUIET_PIP) || { echo "[setup] pip failed"; exit 1; }
	@$(PY) -c "import pyspark; print('[setup] pyspark', pyspark.__version__)"

experiment: setup ## run a study: 10 seeds on FATE's launcher + 1 FATE-Flow validation job (SCENARIO=, DATA=, INVENTORY= for a cluster, ARGS="--seeds N" / "--engine standalone")
	$(FATELAB) experiment $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(DATA),--data $(DATA)) $(if $(INVENTORY),--engine cluster --inventory $(INVENTORY)) $(ARGS)

security: setup ## the security and cost study (DATA=loan.csv; ARGS="--preset ci" for the CI-sized grid)
	$(FATELAB) security $(if $(DATA),--data $(DATA)) $(ARGS)

test: setup ## run the test suite (unit tests + real FATE jobs on the embedded engine)
	$(PY) -m pytest -m "not lab" -q $(PYTEST_ARGS)

test-fast: setup ## unit tests only (no FATE jobs)
	$(PY) -m pytest -m "not lab and not fate" -q $(PYTEST_ARGS)

lint: setup ## ruff on the Python code
	$(VENV)/bin/ruff check harness tests kubefate

bench: bench-data bench-lab ## all benchmarks (numbers recorded in docs/benchmarks.md)

bench-data: setup ## preparation on an 887,379-row resampled file; the default study timed (FATE-Flow fit vs launcher fit, 10 seeds); PSI vs id-set size
	$(PY) -m harness.benchmarks.prepare_bench --rows 887379
	$(PY) -m harness.benchmarks.experiment_timings
	$(PY) -m harness.benchmarks.psi_bench --sizes 1000 10000 100000 --out $(BENCH_DIR)/psi.json

BENCH_DIR := build/bench
# Takes the lab down first: "cold" is a fresh set of hosts from the cached base image, then the deploy.
bench-lab: setup setup-ansible ## make cluster from the cached base image and on a re-run; SFTP vs ssh cat
	@mkdir -p $(BENCH_DIR)
	bash lab/down.sh
	@for run in cold again; do \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory cluster >$(BENCH_DIR)/cluster-$$run.log 2>&1 \
	    || { tail -60 $(BENCH_DIR)/cluster-$$run.log; exit 1; }; \
	  echo "make cluster ($$run): $$(( $$(date +%s) - start )) s"; \
	done
	@python3 tests/ansible/ansible_run.py --expect-unchanged $(BENCH_DIR)/cluster-again.log
	$(PY) -m harness.benchmarks.sftp_bench --inventory $(LAB_INVENTORY) --mib 64 --repeat 3

engine-start: setup ## start the embedded FATE-Flow
	$(FATELAB) engine start
engine-stop: setup ## stop the embedded FATE-Flow
	$(FATELAB) engine stop
engine-status: setup
	$(FATELAB) engine status

lab: ## build the local three-host lab (systemd-nspawn hosts on bridge labbr0; needs root)
	bash lab/up.sh
lab-destroy: ## remove every trace of the lab (keeps the cached base image in lab/cache/)
	bash lab/down.sh
lab-status: ## one line per lab host
	bash lab/status.sh

# tests/lab needs a deployed cluster and tests/ansible ends by destroying it, so the order matters.
LAB_TESTS ?= tests/lab tests/ansible
test-lab: setup setup-ansible ## tests that need the lab (make cluster first; LAB_TESTS=... to pick)
	$(PY) -m pytest -m lab -q $(PYTEST_ARGS) $(LAB_TESTS)

# Without INVENTORY, `make cluster` builds the local lab first and deploys on it.
# INVENTORY may be absolute or relative to this directory: recipes that cd into ansible/ get it absolute.
LAB_INVENTORY := ansible/inventory/lab.yml
INVENTORY_ABS = $(abspath $(INVENTORY))
CLUSTER_INVENTORY = $(abspath $(or $(INVENTORY),$(LAB_INVENTORY)))
PLAYBOOK = cd ansible && ../$(VENV_ANSIBLE)/bin/ansible-playbook -i $(CLUSTER_INVENTORY)

cluster: setup setup-ansible ## deploy FATE on INVENTORY (default: build the lab, then deploy on it)
	$(if $(INVENTORY),,bash lab/up.sh)
	$(PLAYBOOK) cluster.yml $(if $(KUBEFATE_PACKAGE),-e kubefate_package_path=$(abspath $(KUBEFATE_PACKAGE))) $(EXTRA)
verify: setup-ansible ## toy test for every ordered pair of parties and a 3-role smoke job
	$(PLAYBOOK) verify.yml $(EXTRA)
destroy: setup-ansible ## remove FATE, RabbitMQ state, nginx config and data from the hosts (OS stays)
	$(PLAYBOOK) destroy.yml $(EXTRA)
rebuild: ## destroy, then cluster
	$(MAKE) destroy
	$(MAKE) cluster

plan: setup setup-ansible ## show the KubeFATE plan for INVENTORY without touching any host
	@test -n "$(INVENTORY)" || { echo "usage: make plan INVENTORY=ansible/inventory/example-centos7.yml"; exit 2; }
	$(PY) -m kubefate.render $(INVENTORY_ABS) build/plan/$(basename $(notdir $(INVENTORY)))-py $(if $(KUBEFATE_PACKAGE),--package $(abspath $(KUBEFATE_PACKAGE)))
	cd ansible && ../$(VENV_ANSIBLE)/bin/ansible-playbook -i $(INVENTORY_ABS) plan.yml --check $(if $(KUBEFATE_PACKAGE),-e kubefate_package_path=$(abspath $(KUBEFATE_PACKAGE)))

clean: ## stop the embedded engine and remove FATE state and reports (keeps .venv)
	-$(FATELAB) engine stop
	rm -rf .fatelab reports build
