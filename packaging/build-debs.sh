#!/bin/sh
# `make deb`: every Cardshop .deb and the ferretdb one, built in a Debian 13
# build root, checked with lintian, collected in var/debs/ of this tree.
#   packaging/build-debs.sh            (from the top of the tree; root)
#   DEB_VERSION=0.1.0-0~prev packaging/build-debs.sh
# Kept between runs: the build root (var/rootfs/build, packaging/rootfs.sh),
# FerretDB's Go binary and its package (var/ferretdb/, rebuilt only when
# packaging/ferretdb/ changes). The Cardshop sources are copied afresh
# (tracked files only, git ls-files) to var/build/ at every run.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
FERRETDB_VERSION=v2.7.0
BUILD_DEPS="build-essential debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools lintian"

top=$(pwd)
root=$top/var/rootfs/build
build=$top/var/build
debs=$top/var/debs
ferretdb=$top/var/ferretdb
say() { echo "deb: $*"; }

# Runs "$@" in the build root, in the folder DIR (bound at /build).
inside() {
    dir=$1
    shift
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe \
        --bind="$dir:/build" --chdir=/build env PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"
}

# Builds the source package in DIR/SOURCE, then lintian on its .changes (no
# errors allowed; each override is justified in its lintian-overrides file).
package() {
    dir=$1
    source=$2
    say "building $source"
    inside "$dir" sh -c "cd $source && dpkg-buildpackage -us -uc -b >../$source.build.log 2>&1" \
        || { tail -n 40 "$dir/$source.build.log"; exit 1; }
    say "lintian $source"
    status=0
    inside "$dir" sh -c "lintian --fail-on error --display-info ${source}_*.changes" >"$dir/lintian.log" 2>&1 \
        || status=$?
    grep -v -e '^running with root privileges' -e '^Attempted to remove disk file system' "$dir/lintian.log" || true
    [ "$status" -eq 0 ] || { echo "deb: lintian found errors in $source (exit $status)" >&2; exit 1; }
}

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
    "$ferretdb"/out/*.buildinfo "$debs/"
ls -1 "$debs"
