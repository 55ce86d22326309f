#!/bin/sh
# The database root: a Debian 13 root (var/rootfs/database) with PostgreSQL 17,
# the extensions DocumentDB needs and postgresql-17-documentdb, from which the
# local stack and the tests run PostgreSQL (devstack/database.py, through
# systemd-nspawn with the root read-only, so that many clusters share it).
# It holds no cluster and starts no service: each cluster's data live outside.
#   packaging/database-root.sh        (`make deps` runs it; root)
# Idempotent: builds the documentdb .deb when needed
# (packaging/documentdb/build-deb.sh), makes the root once
# (packaging/rootfs.sh), installs what is missing, and reinstalls the
# documentdb package when its .deb changed.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
PACKAGES="postgresql-17 postgresql-17-cron postgresql-17-pgvector postgresql-17-postgis-3 postgresql-17-rum"
cd "$(dirname "$0")/.."
dir=$(pwd)/var/rootfs/database
say() { echo "database root: $*"; }

sh packaging/documentdb/build-deb.sh
deb=$(ls var/documentdb/out/postgresql-17-documentdb_*.deb)

sh packaging/rootfs.sh "$dir" $PACKAGES

in_root() {
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q -D "$dir" --register=no --keep-unit --pipe "$@"
}

# Installing postgresql-17 made a cluster "main" (postgresql-common does): the
# clusters live outside the root, so it goes.
if [ -e "$dir/etc/postgresql/17/main" ]; then
    say "dropping the package's own cluster"
    in_root pg_dropcluster 17 main
fi
# Where devstack binds a cluster's data: the root is read-only when it runs.
install -d -m 0700 "$dir/var/lib/postgresql/cluster"
chroot "$dir" chown postgres:postgres /var/lib/postgresql/cluster

installed="$dir/var/lib/cardshop-database-root/documentdb.sha256"
wanted=$(sha256sum <"$deb")
if [ "$(cat "$installed" 2>/dev/null)" != "$wanted" ]; then
    say "installing $(basename "$deb")"
    mkdir -p "$dir/var/cache/cardshop"
    cp "$deb" "$dir/var/cache/cardshop/postgresql-17-documentdb.deb"
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall --no-install-recommends \
        /var/cache/cardshop/postgresql-17-documentdb.deb \
        || { echo "database root: could not install into $dir; if nspawn said it is busy, stop the" \
                  "PostgreSQL clusters running from it (make down, tests) and run this again" >&2; exit 1; }
    rm -f "$dir/var/cache/cardshop/postgresql-17-documentdb.deb"
    mkdir -p "$(dirname "$installed")"
    echo "$wanted" >"$installed"
fi
say "ready ($dir)"
