#!/bin/sh
# The .debs under test: built with `make deb` unless var/debs holds them newer
# than every source file they are made of.
set -eu
: "${CARDSHOP_REPO:?CARDSHOP_REPO must name the checkout (make test-system sets it)}"
cd "$CARDSHOP_REPO"
newest_deb=$(ls -t var/debs/*.deb 2>/dev/null | head -n1 || true)
if [ -n "$newest_deb" ] && [ -z "$(find cardshop daemons systemd etc packaging pyproject.toml -newer "$newest_deb" -type f -print -quit)" ]; then
    echo "prepare: var/debs is up to date ($(ls var/debs/*.deb | wc -l) packages)"
    exit 0
fi
echo "prepare: building the packages (make deb)"
make deb
