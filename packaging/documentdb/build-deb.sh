#!/bin/sh
# postgresql-17-documentdb: DocumentDB's extensions for PostgreSQL 17, built
# in the Debian 13 build root from the vendored source, checked with lintian,
# kept in var/documentdb/<stamp>/ (the .deb, .changes, .buildinfo, build log),
# var/documentdb/out linking to it.
#   packaging/documentdb/build-deb.sh     (from the top of the tree; root)
# Rebuilt only when packaging/documentdb/ or the source tarball changes (a
# stamp beside the .deb). The tarball is DOCUMENTDB_SOURCE, by default
# shared/vendor/ beside the tree; its sha256 is checked before anything else.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
COMMIT=3f80da90
SHA256=fd4b26c6767573ab4cdae5145bcefe76bd2a5c38348f7fa474152a4035b27392
BUILD_DEPS="build-essential debhelper lintian pkg-config postgresql-server-dev-17 libbson-dev libpcre2-dev
    libintelrdfpmath-dev libicu-dev libkrb5-dev"

. packaging/debbuild.sh
tarball=${DOCUMENTDB_SOURCE:-$top/../shared/vendor/documentdb-$COMMIT.tar.gz}
# The stamp names the tarball by its sha256: a package built from it (kept in the
# machine's cache, see devstack/install.sh) needs no second look at the tarball.
# Each packaging's build has its folder (checkouts sharing the cache may differ);
# var/documentdb/out points at this tree's.
stamp=$( (find packaging/documentdb -type f -print0 | sort -z | xargs -0 sha256sum; echo "$SHA256") | sha256sum)
out=$top/var/documentdb/$(echo "$stamp" | cut -c1-16)
current() {
    [ -L "$top/var/documentdb/out" ] || rm -rf "$top/var/documentdb/out"
    ln -sfn "$(basename "$out")" "$top/var/documentdb/out"
}
if [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
    current
    say "documentdb unchanged ($(cd "$out" && ls postgresql-17-documentdb_*.deb))"
    exit 0
fi
[ -r "$tarball" ] || { echo "deb: DocumentDB's source $tarball is missing (set DOCUMENTDB_SOURCE)" >&2; exit 1; }
echo "$SHA256  $tarball" | sha256sum --check --quiet - \
    || { echo "deb: $tarball is not DocumentDB $COMMIT (sha256 differs)" >&2; exit 1; }
sh packaging/rootfs.sh "$root" $BUILD_DEPS
rm -rf "$out"
mkdir -p "$out/documentdb"
tar -xzf "$tarball" -C "$out/documentdb" --strip-components=1
cp -a packaging/documentdb/debian "$out/documentdb/debian"
started=$(date +%s)
package "$out" documentdb
say "documentdb built in $(($(date +%s) - started)) s"
rm -rf "$out/documentdb"
echo "$stamp" >"$out/stamp"
current
