#!/bin/sh
# Build FerretDB's static binary once, cached under var/ (the ferretdb package ships it).
#   packaging/ferretdb/build-binary.sh VERSION OUT
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@VERSION` makes a binary
# that stops at start ("Invalid build/version/version.txt file content"): the
# published module lacks that generated file. So, as devstack/install.sh does,
# fetch the same module with the Go toolchain, write version.txt and build
# ./cmd/ferretdb, with cgo off (a static binary) and no local paths in it.
set -eu
version=${1:?usage: build-binary.sh VERSION OUT}
out=${2:?usage: build-binary.sh VERSION OUT}
[ -x "$out" ] && exit 0
export PATH="$PATH:/usr/local/go/bin"
var=$(mkdir -p "$(dirname "$out")" && cd "$(dirname "$out")" && pwd)
export GOPATH="$var/go" GOMODCACHE="$var/go/mod" GOCACHE="$var/go/cache" CGO_ENABLED=0 GOFLAGS=-trimpath
dir=$(cd /tmp && go mod download -json "github.com/FerretDB/FerretDB@$version" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "build-binary: could not fetch FerretDB $version" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$dir/." "$work"
chmod -R u+w "$work"
echo "$version" >"$work/build/version/version.txt"
(cd "$work" && go build -ldflags='-s -w' -o "$out.tmp" ./cmd/ferretdb)
mv "$out.tmp" "$out"
go clean -cache  # the binary is what is kept; the build cache would hold ~1 GB for nothing
"$out" --version | head -n1
