#!/bin/sh
# `make deb`: every Cardshop .deb and the ferretdb one, built in a Debian 13
# build root, checked with lintian, collected in var/debs/ of this tree.
#   packaging/build-debs.sh            (from the top of the tree; root)
#   DEB_VERSION=0.1.0-0~prev packaging/build-debs.sh
# The build root (var/rootfs/build, packaging/rootfs.sh) and FerretDB's Go
# binary (var/ferretdb/) are made once and kept; the sources are copied afresh
# (tracked files only, git ls-files) to var/build/ at every run.
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
FERRETDB_VERSION=v1.24.2
BUILD_DEPS="build-essential debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools lintian"

top=$(pwd)
root=$top/var/rootfs/build
build=$top/var/build
debs=$top/var/debs
say() { echo "deb: $*"; }

sh packaging/rootfs.sh "$root" $BUILD_DEPS
sh packaging/ferretdb/build-binary.sh "$FERRETDB_VERSION" "$top/var/ferretdb/ferretdb-$FERRETDB_VERSION"

rm -rf "$build"
mkdir -p "$build/cardshop" "$build/ferretdb"
git ls-files -z | rsync -a --from0 --files-from=- ./ "$build/cardshop/"
cp -a packaging/debian "$build/cardshop/debian"
if [ -n "${DEB_VERSION:-}" ]; then
    # Another version of the same tree (the system tests' "previous version").
    sed -i "1s/^cardshop ([^)]*)/cardshop ($DEB_VERSION)/" "$build/cardshop/debian/changelog"
fi
cp -a packaging/ferretdb/debian "$build/ferretdb/debian"
cp -a "var/ferretdb/ferretdb-$FERRETDB_VERSION" "$build/ferretdb/ferretdb"

inside() {
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe \
        --bind="$build:/build" --chdir=/build env PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"
}
for source in cardshop ferretdb; do
    say "building $source"
    inside sh -c "cd $source && dpkg-buildpackage -us -uc -b >../$source.build.log 2>&1" \
        || { tail -n 40 "$build/$source.build.log"; exit 1; }
done
say "lintian"
# No errors allowed; warnings and infos are shown (each override is justified
# in the package's lintian-overrides file).
status=0
inside sh -c 'lintian --fail-on error --display-info *.changes' >"$build/lintian.log" 2>&1 || status=$?
grep -v '^running with root privileges' "$build/lintian.log" || true
[ "$status" -eq 0 ] || { echo "deb: lintian failed (exit $status)" >&2; exit 1; }

rm -rf "$debs"
mkdir -p "$debs"
cp "$build"/*.deb "$build"/*.changes "$build"/*.buildinfo "$debs/"
ls -1 "$debs"
