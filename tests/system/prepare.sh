#!/bin/sh
# The .debs under test, built with `make deb` unless already up to date: var/debs
# (this version) and, by plan, another version:
#   prepare.sh         var/debs-prev: the upgrade test's "previous version", 0.1.0-0~prev built
#                      from PREV_COMMIT (Cardshop 0.1 on FerretDB 1.24 with SQLite), in its
#                      own git worktree var/prev-src; kept until PREV_COMMIT or the version change
#   prepare.sh fleet   var/debs-next: this version +1, what the fleet's upgrade.yml installs
set -eu
: "${CARDSHOP_REPO:?CARDSHOP_REPO must name the checkout (make test-system sets it)}"
cd "$CARDSHOP_REPO"
plan=${1:-system}
# main before the database engine moved to FerretDB 2 on PostgreSQL.
PREV_COMMIT=96d5d60
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
    [ -n "$newest" ] && [ -z "$(find cardshop daemons systemd etc packaging pyproject.toml -newer "$newest" -type f ! -name "*.pyc" -print -quit)" ]
}

# The previous version: PREV_COMMIT's own `make deb` in a worktree of it. It shares this
# tree's build root and starts from FerretDB 1.24's binary when this tree has it cached.
build_previous() {
    src=var/prev-src
    if [ ! -e "$src/.git" ]; then
        git worktree prune
        git worktree add --detach "$src" "$PREV_COMMIT"
    fi
    git -C "$src" checkout -q --detach "$PREV_COMMIT"
    mkdir -p "$src/var/ferretdb"
    ln -sfn "$(readlink -f var/rootfs)" "$src/var/rootfs"
    for binary in var/ferretdb/ferretdb-v1.*; do
        [ -x "$binary" ] && [ ! -e "$src/$binary" ] && cp -p "$binary" "$src/$binary"
    done
    (cd "$src" && make deb DEB_VERSION="$version")
    rm -rf "$other" && mkdir -p "$other"
    cp "$src"/var/debs/*.deb "$other"/
}

# First the other version (make deb empties var/debs), then this one.
if [ "$plan" = system ]; then
    built_from="$(git rev-parse "$PREV_COMMIT") $version"
    if [ "$(cat "$other/built-from" 2>/dev/null)" = "$built_from" ]; then
        echo "prepare: $other is up to date ($PREV_COMMIT as $version)"
    else
        echo "prepare: building $PREV_COMMIT as version $version into $other"
        build_previous
        echo "$built_from" >"$other/built-from"
    fi
elif fresh "$other"; then
    echo "prepare: $other is up to date"
else
    echo "prepare: building version $version into $other (make deb DEB_VERSION=$version)"
    make deb DEB_VERSION="$version"
    rm -rf "$other" && mkdir -p "$other"
    # The version's "~" as a glob's "?" (unquoted, so that it matches); ferretdb keeps its own version.
    version_glob=$(echo "$version" | sed 's/~/?/')
    mv var/debs/*_$version_glob* "$other"/
    cp var/debs/ferretdb_*.deb var/debs/postgresql-17-documentdb_*.deb "$other"/
fi
if fresh var/debs; then
    echo "prepare: var/debs is up to date ($(ls var/debs/*.deb | wc -l) packages)"
else
    echo "prepare: building the packages (make deb)"
    make deb
fi
