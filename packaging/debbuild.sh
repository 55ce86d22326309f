# Shell functions for building a .deb in the Debian 13 build root; sourced by
# packaging/build-debs.sh and packaging/documentdb/build-deb.sh, from the top
# of the tree, as root.
top=$(pwd)
root=$top/var/rootfs/build
say() { echo "deb: $*"; }

# Runs "$@" in the build root, in the folder DIR (bound at /build).
inside() {
    dir=$1
    shift
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q -D "$root" --register=no --keep-unit --pipe \
        --bind="$dir:/build" --chdir=/build env PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"
}

# Builds the source package in DIR/SOURCE (with as many jobs as there are
# cores, where its rules allow), then lintian on its .changes (no errors
# allowed; each override is justified in its lintian-overrides file).
package() {
    dir=$1
    source=$2
    say "building $source"
    inside "$dir" sh -c "cd $source && dpkg-buildpackage -us -uc -b -Jauto >../$source.build.log 2>&1" \
        || { tail -n 40 "$dir/$source.build.log"; exit 1; }
    say "lintian $source"
    status=0
    inside "$dir" sh -c "lintian --fail-on error --display-info ${source}_*.changes" >"$dir/lintian.log" 2>&1 \
        || status=$?
    grep -v -e '^running with root privileges' -e '^Attempted to remove disk file system' "$dir/lintian.log" || true
    [ "$status" -eq 0 ] || { echo "deb: lintian found errors in $source (exit $status)" >&2; exit 1; }
}
