#!/bin/sh
# A Debian 13 (trixie) root filesystem, made once and kept: the build root
# for `make deb` and the base of the booted systems the system tests run.
#   packaging/rootfs.sh DIR [PACKAGE...]
# Makes DIR with debootstrap (minbase plus systemd, dbus, python3) unless it
# exists, then installs the PACKAGEs not yet in it. Needs Debian's package
# mirror (the host's network); run as root. Idempotent: a second call with the
# same packages does nothing.
set -eu

dir=${1:?usage: packaging/rootfs.sh DIR [PACKAGE...]}
shift
mirror=${DEBIAN_MIRROR:-$(sed -n 's/^deb \(http[^ ]*\) .*/\1/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)}
mirror=${mirror:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

if [ ! -e "$dir/.cardshop-rootfs" ]; then
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
    rm -rf "$dir.partial"
    mkdir -p "$(dirname "$dir")"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,python3 \
        trixie "$dir.partial" ${mirror:+"$mirror"}
    # No services start while packages are installed into it.
    printf '#!/bin/sh\nexit 101\n' >"$dir.partial/usr/sbin/policy-rc.d"
    chmod 755 "$dir.partial/usr/sbin/policy-rc.d"
    touch "$dir.partial/.cardshop-rootfs"
    mv "$dir.partial" "$dir"
fi

missing=
for package in "$@"; do
    chroot "$dir" dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' \
        || missing="$missing $package"
done
if [ -n "$missing" ]; then
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q -D "$dir" --register=no --keep-unit --pipe \
        env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $missing"
fi
