#!/bin/sh
# Install what the local stack, the demo and the tests need; safe to run again.
# Debian 12 or 13, as root.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
FERRETDB_VERSIONS="v2.7.0 v1.24.2"  # devstack/servers.py FERRETDB_VERSION, OLD_FERRETDB_VERSION
APT_PACKAGES="rabbitmq-server nginx bmap-tools udev python3-fusepy python3-aiosmtpd fuse faketime python3-venv python3-pip zstd xz-utils fdisk e2fsprogs openssl curl ca-certificates wrk chromium systemd-container debootstrap rsync"
export PATH="$PATH:/usr/local/go/bin"

say() { echo "deps: $*"; }

missing=""
for package in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $package"
done
if [ -n "$missing" ]; then
    say "installing Debian packages:$missing"
    # The stack runs its own private RabbitMQ node (the tests their own nginx): keep the packages'
    # system-wide services from starting while they install.
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

# What takes minutes to build (FerretDB's binaries, the documentdb package,
# the Debian 13 roots) is kept for this machine in $CARDSHOP_CACHE, shared by
# every checkout (a clean one, CI's, reuses it): var/ferretdb, var/documentdb
# and var/rootfs point there unless they exist.
CACHE=${CARDSHOP_CACHE:-/var/cache/cardshop-dev}
mkdir -p "$REPO/var"
for name in ferretdb documentdb rootfs; do
    if [ ! -e "$REPO/var/$name" ] && [ ! -L "$REPO/var/$name" ]; then
        mkdir -p "$CACHE/$name"
        ln -s "$CACHE/$name" "$REPO/var/$name"
    fi
done

# The database: FerretDB 2 (the MongoDB wire protocol) in front of PostgreSQL 17
# with DocumentDB; FerretDB 1.24 too, the engine a migration starts from.
if ! command -v go >/dev/null; then
    say "installing Go from Debian (FerretDB 2.7 needs Go 1.24 or later: Debian 13 has it)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go
fi
for version in $FERRETDB_VERSIONS; do
    binary="$REPO/var/ferretdb/$version/ferretdb"
    if [ ! -x "$binary" ]; then
        say "building FerretDB $version"
        sh "$REPO/packaging/ferretdb/build-binary.sh" "$version" "$binary"
    fi
done

# PostgreSQL 17 with DocumentDB runs from a Debian 13 root (devstack/database.py):
# Debian 12 has no pgvector for its PostgreSQL 15, and Debian 13 is the target.
# packaging/database-root.sh makes the root once, with the postgresql-17-documentdb
# package it builds when its source or packaging changed.
sh "$REPO/packaging/database-root.sh"

# Prometheus, which the tests run against the scheduler's metrics: Debian's binary only, unpacked
# (installing the package would start a Prometheus listening on every address).
if [ ! -x "$REPO/var/prometheus/usr/bin/prometheus" ]; then
    say "unpacking Debian's prometheus binary into var/prometheus"
    download=$(mktemp -d)
    (cd "$download" && apt-get download -qq prometheus 2>/dev/null) \
        || { apt-get update -qq && (cd "$download" && apt-get download -qq prometheus 2>/dev/null); }
    dpkg-deb -x "$download"/prometheus_*.deb "$REPO/var/prometheus"
    rm -rf "$download"
fi

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
