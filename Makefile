# Cardshop developer entry points. Everything installs what it needs first.
PYTHON := .venv/bin/python
export PYTHONPATH := $(CURDIR)

SLOTS ?= 2
SIZE ?= 2G

.PHONY: deps up down status demo test test-unit test-faults test-system test-fleet bench bench-scale audit sample-config card-insert card-remove deb footprint lint-ansible

deps:
	@sh devstack/install.sh

up: deps
	@$(PYTHON) -m devstack up --slots $(SLOTS)

down:
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m devstack down; fi

status:
	@$(PYTHON) -m devstack status

# A fresh blank card of SIZE (decimal units, as cards are sold) in slot SLOT of the stack's writer host.
card-insert:
	@$(PYTHON) -m devstack card-insert "$(SLOT)" $(SIZE)

card-remove:
	@$(PYTHON) -m devstack card-remove "$(SLOT)"

demo: deps
	@$(PYTHON) -m devstack.demo

# Two workers (pytest-xdist), each with its own servers and share of the card readers (3 at least: six
# loop devices in CARDSHOP_LOOP_DEVICES, or present when it is unset); a module's tests stay on one
# worker. With fewer readers, or TEST_WORKERS=0, the tests run in this one process.
READERS = $(shell echo "$${CARDSHOP_LOOP_DEVICES:-$$(ls /dev/loop[0-9]* 2>/dev/null | tr '\n' ,)}" | tr , '\n' | grep -c .)
TEST_WORKERS ?= $(shell [ $(READERS) -ge 6 ] && echo 2 || echo 0)
# Tiers (pyproject.toml's markers): test-unit needs no server (< 1 minute); test is the unit and integration
# tiers; test-faults stops, kills and fills real servers and waits through each outage.
XDIST = $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)
# The slowest tests are listed at the end: where to look when a tier nears its time goal.
DURATIONS = --durations=15 --durations-min=20
test: deps
	@$(PYTHON) -m pytest $(XDIST) $(DURATIONS) -m "not fault" $(PYTEST_ARGS)

test-unit: deps
	@$(PYTHON) -m pytest tests/unit $(PYTEST_ARGS)

test-faults: deps
	@$(PYTHON) -m pytest $(XDIST) $(DURATIONS) -m fault $(PYTEST_ARGS)

# The system tests (tests/system, plans/system.fmf): Debian 13 booted with
# systemd-nspawn, our .debs installed with apt. TESTS=name narrows them
# (e.g. TESTS=central). Root only; loop devices from CARDSHOP_LOOP_DEVICES.
# CARDSHOP_DEBS and CARDSHOP_PREV_DEBS test .debs built elsewhere instead of `make deb`.
TMT := .venv/bin/tmt
TMT_RUN = $(TMT) --feeling-safe --root $(CURDIR) run --all --remove --environment CARDSHOP_REPO=$(CURDIR) \
	--environment CARDSHOP_LOOP_DEVICES=$(CARDSHOP_LOOP_DEVICES)
test-system: deps
	@$(TMT_RUN) $(if $(CARDSHOP_DEBS),--environment CARDSHOP_DEBS=$(CARDSHOP_DEBS) --environment CARDSHOP_PREV_DEBS=$(CARDSHOP_PREV_DEBS)) \
		plans --name /plans/system $(if $(TESTS),tests --name '$(TESTS)') report --how display -vvv

# The fleet test (tests/system/fleet, plans/fleet.fmf): ansible/site.yml and upgrade.yml onto three
# booted Debian 13 hosts over SSH; prints each run's PLAY RECAP and time. Root only; three loop
# devices; CARDSHOP_DEBS and CARDSHOP_NEXT_DEBS test .debs built elsewhere.
test-fleet: deps
	@$(TMT_RUN) $(if $(CARDSHOP_DEBS),--environment CARDSHOP_DEBS=$(CARDSHOP_DEBS) --environment CARDSHOP_NEXT_DEBS=$(CARDSHOP_NEXT_DEBS)) \
		plans --name /plans/fleet report --how display -vvv

bench: deps
	@$(PYTHON) -m bench

# Hot paths at scale: 100,000 orders and 2,000 worker records against 1,000 orders, then the monitor under
# 2,000 heartbeating slots, 10 % busy, for 5 minutes (about 20 minutes in all).
bench-scale: deps
	@$(PYTHON) -m bench.scale
	@$(PYTHON) -m bench.heartbeats --slots 2000 --seconds 300

# The units against Debian 13's systemd (verify, security exposure per unit); as root.
# The limits it checks: unit exposure (systemd-analyze), package footprint, start-to-ready in a booted Debian 13.
audit: deps
	@$(PYTHON) -m bench.audit
	@$(MAKE) --no-print-directory deb
	@python3 packaging/footprint.py var/debs
	@$(PYTHON) -m tests.system.figure var/debs

sample-config: deps
	@$(PYTHON) -m cardshop.config.write_samples etc

# Debian packages of every role and ferretdb, built in a Debian 13 root, into var/debs/
# (DEB_VERSION=x builds the same tree as version x).
deb:
	@DEB_VERSION="$(DEB_VERSION)" sh packaging/build-debs.sh

# Installed size and Debian packages pulled per role package (needs make deb first).
footprint:
	@python3 packaging/footprint.py var/debs

# ansible/: ansible-lint (production profile) and syntax checks, with Ansible from its own venv.
lint-ansible:
	@ANSIBLE=$$(sh ansible/venv.sh) && cd ansible \
	  && ANSIBLE_VAULT_PASSWORD_FILE=inventory/example/vault-password $$ANSIBLE/ansible-lint \
	  && $$ANSIBLE/ansible-playbook -i inventory/example/hosts.yml --vault-password-file inventory/example/vault-password \
	       --syntax-check site.yml upgrade.yml
