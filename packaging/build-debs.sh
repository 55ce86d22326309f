#!/bin/sh
# `make deb`: every Cardshop .deb, the ferretdb one and postgresql-17-documentdb
# (packaging/documentdb/build-deb.sh), built in a Debian 13
# build root, checked with lintian, collected in var/debs/ of this tree.
#   packaging/build-debs.sh            (from the top of the tree; root)
#   DEB_VERSION=0.1.0-0~prev packaging/build-debs.sh
# Kept between runs: the build root (var/rootfs/build, packaging/rootfs.sh),
# FerretDB's Go binary and its package (var/ferretdb/, rebuilt only when
# packaging/ferretdb/ changes), DocumentDB's package (var/documentdb/, rebuilt
# only when packaging/documentdb/ or its source changes). The Cardshop sources
# are copied afresh (tracked files only, git ls-files) to var/build/ at every
# run.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
FERRETDB_VERSION=v2.7.0
BUILD_DEPS="build-essential debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools lintian"

. packaging/debbuild.sh
build=$top/var/build
debs=$top/var/debs
ferretdb=$top/var/ferretdb
documentdb=$top/var/documentdb

sh packaging/rootfs.sh "$root" $BUILD_DEPS

binary=$ferretdb/ferretdb-$FERRETDB_VERSION
sh packaging/ferretdb/build-binary.sh "$FERRETDB_VERSION" "$binary"
stamp=$( (find packaging/ferretdb -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum "$binary") | sha256sum)
if [ "$(cat "$ferretdb/out/stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$ferretdb/out"
    mkdir -p "$ferretdb/out/ferretdb"
    cp -a packaging/ferretdb/debian "$ferretdb/out/ferretdb/debian"
    cp -a "$binary" "$ferretdb/out/ferretdb/ferretdb"
    package "$ferretdb/out" ferretdb
    echo "$stamp" >"$ferretdb/out/stamp"
else
    say "ferretdb unchanged ($(cd "$ferretdb/out" && ls ferretdb_*.deb))"
fi

sh packaging/documentdb/build-deb.sh

rm -rf "$build"
mkdir -p "$build/cardshop"
git ls-files -z | rsync -a --from0 --files-from=- ./ "$build/cardshop/"
cp -a packaging/debian "$build/cardshop/debian"
if [ -n "${DEB_VERSION:-}" ]; then
    # Another version of the same tree (the system tests' "previous version").
    sed -i "1s/^cardshop ([^)]*)/cardshop ($DEB_VERSION)/" "$build/cardshop/debian/changelog"
fi
package "$build" cardshop

rm -rf "$debs"
mkdir -p "$debs"
cp "$build"/*.deb "$build"/*.changes "$build"/*.buildinfo "$ferretdb"/out/*.deb "$ferretdb"/out/*.changes \
    "$ferretdb"/out/*.buildinfo "$documentdb"/out/*.deb "$documentdb"/out/*.changes "$documentdb"/out/*.buildinfo \
    "$debs/"
ls -1 "$debs"
