#!/bin/sh
# Install what the local stack, the demo and the tests need; safe to run again.
# Debian 12 or 13, as root.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
FERRETDB_VERSIONS="v1.24.2 v1.24.1 v1.24.0"
APT_PACKAGES="rabbitmq-server bmap-tools udev python3-fusepy fuse faketime python3-venv python3-pip zstd xz-utils fdisk e2fsprogs openssl curl ca-certificates wrk chromium systemd-container debootstrap rsync"
export PATH="$PATH:/usr/local/go/bin"

say() { echo "deps: $*"; }

missing=""
for package in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $package"
done
if [ -n "$missing" ]; then
    say "installing Debian packages:$missing"
    # The stack runs its own private RabbitMQ node: keep the package's
    # system-wide service from starting while it installs.
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=yes
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

# The MongoDB-compatible database: FerretDB 1.24 (SQLite backend), unless
# MongoDB itself is here.
if ! command -v mongod >/dev/null && ! ferretdb --version >/dev/null 2>&1; then
    if ! command -v go >/dev/null; then
        say "installing Go from Debian (FerretDB 1.24 needs Go 1.22 or later: Debian 13 has it)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go
    fi
    built=""
    for version in $FERRETDB_VERSIONS; do
        say "building FerretDB $version"
        # `go install github.com/FerretDB/FerretDB/cmd/ferretdb@VERSION` builds a
        # binary that panics at start ("Invalid build/version/version.txt"):
        # the module lacks the generated version file. So build the same
        # module with that file written, as FerretDB's own build does.
        dir=$(cd /tmp && go mod download -json "github.com/FerretDB/FerretDB@$version" \
              | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || continue
        [ -n "$dir" ] || continue
        work=$(mktemp -d)
        cp -r "$dir/." "$work"
        chmod -R u+w "$work"
        echo "$version" > "$work/build/version/version.txt"
        if (cd "$work" && go build -o /usr/local/bin/ferretdb ./cmd/ferretdb); then
            built=$version
        fi
        rm -rf "$work"
        [ -z "$built" ] || break
    done
    [ -n "$built" ] || { echo "deps: could not build FerretDB ($FERRETDB_VERSIONS)" >&2; exit 1; }
    /usr/local/bin/ferretdb --version | head -1
fi

# PostgreSQL 17 with DocumentDB, for the local stack and the tests: run from a
# Debian 13 root (devstack/database.py) that packaging/database-root.sh makes
# once, with the postgresql-17-documentdb package it builds when its source or
# packaging changed.
sh "$REPO/packaging/database-root.sh"

# The virtualenv sees Debian's packages (bmaptool is only packaged there).
if [ ! -x "$REPO/.venv/bin/python" ]; then
    say "creating the virtualenv in .venv"
    /usr/bin/python3 -m venv --system-site-packages "$REPO/.venv"
fi
stamp="$REPO/.venv/.installed"
if [ ! -e "$stamp" ] || [ "$REPO/requirements.txt" -nt "$stamp" ] \
        || [ "$REPO/requirements-test.txt" -nt "$stamp" ] || [ "$REPO/pyproject.toml" -nt "$stamp" ]; then
    say "installing Python packages"
    "$REPO/.venv/bin/pip" install -q --disable-pip-version-check \
        -r "$REPO/requirements.txt" -r "$REPO/requirements-test.txt"
    "$REPO/.venv/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$REPO"
    touch "$stamp"
fi
say "ready"
