#!/bin/sh
# The .debs under test, built with `make deb` unless already newer than every
# source file they are made of: var/debs (this version) and another version of
# the same tree, by plan:
#   prepare.sh         var/debs-prev: version 0.1.0-0~prev, the upgrade test's "previous version"
#   prepare.sh fleet   var/debs-next: this version +1, what the fleet's upgrade.yml installs
set -eu
: "${CARDSHOP_REPO:?CARDSHOP_REPO must name the checkout (make test-system sets it)}"
cd "$CARDSHOP_REPO"
plan=${1:-system}
current=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' packaging/debian/changelog)
case "$plan" in
    system) other=var/debs-prev version=0.1.0-0~prev given=${CARDSHOP_PREV_DEBS:-} ;;
    fleet) other=var/debs-next version="$current+1" given=${CARDSHOP_NEXT_DEBS:-} ;;
    *) echo "prepare: unknown plan $plan (system or fleet)" >&2; exit 2 ;;
esac
if [ -n "${CARDSHOP_DEBS:-}" ] && [ -n "$given" ]; then
    echo "prepare: testing the .debs of $CARDSHOP_DEBS (other version: $given)"
    exit 0
fi

fresh() {  # fresh FOLDER: it holds Cardshop .debs newer than every source
    newest=$(ls -t "$1"/python3-cardshop_*.deb 2>/dev/null | head -n1 || true)
    [ -n "$newest" ] && [ -z "$(find cardshop daemons systemd etc packaging pyproject.toml -newer "$newest" -type f -print -quit)" ]
}

# First the other version (make deb empties var/debs), then this one.
if fresh "$other"; then
    echo "prepare: $other is up to date"
else
    echo "prepare: building version $version into $other (make deb DEB_VERSION=$version)"
    make deb DEB_VERSION="$version"
    rm -rf "$other" && mkdir -p "$other"
    # The version's "~" as a glob's "?" (unquoted, so that it matches); ferretdb keeps its own version.
    version_glob=$(echo "$version" | sed 's/~/?/')
    mv var/debs/*_$version_glob* "$other"/
    cp var/debs/ferretdb_*.deb "$other"/
fi
if fresh var/debs; then
    echo "prepare: var/debs is up to date ($(ls var/debs/*.deb | wc -l) packages)"
else
    echo "prepare: building the packages (make deb)"
    make deb
fi
