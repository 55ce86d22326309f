# Cardshop developer entry points. Everything installs what it needs first.
PYTHON := .venv/bin/python
export PYTHONPATH := $(CURDIR)

.PHONY: deps up down status demo test bench sample-config

deps:
	@sh devstack/install.sh

up: deps
	@$(PYTHON) -m devstack up

down:
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m devstack down; fi

status:
	@$(PYTHON) -m devstack status

demo: deps
	@$(PYTHON) -m devstack.demo

test: deps
	@$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: deps
	@$(PYTHON) -m bench

sample-config: deps
	@$(PYTHON) -m cardshop.config.write_samples etc
