#!/bin/sh
# The .debs under test, built with `make deb` unless already newer than every
# source file they are made of: var/debs (this version) and var/debs-prev (the
# same tree as version 0.1.0-0~prev, the "previous version" of the upgrade test).
set -eu
: "${CARDSHOP_REPO:?CARDSHOP_REPO must name the checkout (make test-system sets it)}"
cd "$CARDSHOP_REPO"
PREV_VERSION=0.1.0-0~prev
if [ -n "${CARDSHOP_DEBS:-}" ] && [ -n "${CARDSHOP_PREV_DEBS:-}" ]; then
    echo "prepare: testing the .debs of $CARDSHOP_DEBS (previous version: $CARDSHOP_PREV_DEBS)"
    exit 0
fi

fresh() {  # fresh FOLDER: it holds Cardshop .debs newer than every source
    newest=$(ls -t "$1"/python3-cardshop_*.deb 2>/dev/null | head -n1 || true)
    [ -n "$newest" ] && [ -z "$(find cardshop daemons systemd etc packaging pyproject.toml -newer "$newest" -type f -print -quit)" ]
}

if fresh var/debs-prev; then
    echo "prepare: var/debs-prev is up to date"
else
    echo "prepare: building the previous version's packages (make deb DEB_VERSION=$PREV_VERSION)"
    make deb DEB_VERSION="$PREV_VERSION"
    rm -rf var/debs-prev && mkdir -p var/debs-prev
    # The version's "~" as a glob's "?" (unquoted, so that it matches); ferretdb keeps its own version.
    prev_glob=$(echo "$PREV_VERSION" | sed 's/~/?/')
    mv var/debs/*$prev_glob* var/debs-prev/
    cp var/debs/ferretdb_*.deb var/debs-prev/
fi
if fresh var/debs; then
    echo "prepare: var/debs is up to date ($(ls var/debs/*.deb | wc -l) packages)"
else
    echo "prepare: building the packages (make deb)"
    make deb
fi
