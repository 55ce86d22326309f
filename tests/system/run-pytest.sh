#!/bin/sh
# One tmt test = the pytest module(s) of the test's folder, with the checkout's
# virtualenv; the checkout (var/, .debs) is CARDSHOP_REPO.
set -eu
: "${CARDSHOP_REPO:?CARDSHOP_REPO must name the checkout (make test-system sets it)}"
export PYTHONPATH="$CARDSHOP_REPO" CARDSHOP_SYSTEM_TESTS=1
cd "$CARDSHOP_REPO/tests/system/$(basename "$PWD")"
exec "$CARDSHOP_REPO/.venv/bin/python" -m pytest -p no:cacheprovider -q -s -rA --log-cli-level=INFO test_*.py
