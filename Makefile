# Cardshop developer entry points. Everything installs what it needs first.
PYTHON := .venv/bin/python
export PYTHONPATH := $(CURDIR)

SLOTS ?= 2
SIZE ?= 2G

.PHONY: deps up down status demo test bench sample-config card-insert card-remove lint-ansible

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

test: deps
	@$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: deps
	@$(PYTHON) -m bench

sample-config: deps
	@$(PYTHON) -m cardshop.config.write_samples etc

# ansible/: ansible-lint (production profile) and syntax checks, with Ansible from its own venv.
lint-ansible:
	@ANSIBLE=$$(sh ansible/venv.sh) && cd ansible \
	  && ANSIBLE_VAULT_PASSWORD_FILE=inventory/example/vault-password $$ANSIBLE/ansible-lint \
	  && $$ANSIBLE/ansible-playbook -i inventory/example/hosts.yml --vault-password-file inventory/example/vault-password \
	       --syntax-check site.yml upgrade.yml
