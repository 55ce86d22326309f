#!/bin/sh
# Build FerretDB's static binary once, cached under var/ (the ferretdb package ships it).
#   packaging/ferretdb/build-binary.sh VERSION OUT
# VERSION v2.x builds the module github.com/FerretDB/FerretDB/v2 (the gateway over
# PostgreSQL + DocumentDB); v1.x builds github.com/FerretDB/FerretDB (the old
# engine, still needed to migrate an install from FerretDB 1.24/SQLite).
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.x` makes a binary that
# stops at start ("Invalid build/version/version.txt file content"): the
# published 1.x module lacks that generated file. So, for every version, fetch
# the module with the Go toolchain, write build/version/version.txt (2.x reads
# it too when present) and build ./cmd/ferretdb, with cgo off (a static
# binary), the local Go toolchain and no local paths in it.
set -eu
version=${1:?usage: build-binary.sh VERSION OUT}
out=${2:?usage: build-binary.sh VERSION OUT}
[ -x "$out" ] && exit 0
case $version in
    v1.*) module=github.com/FerretDB/FerretDB ;;
    v[2-9].*) module=github.com/FerretDB/FerretDB/${version%%.*} ;;
    *) echo "build-binary: unknown FerretDB version $version (want v1.x or v2.x)" >&2; exit 2 ;;
esac
export PATH="$PATH:/usr/local/go/bin"
var=$(mkdir -p "$(dirname "$out")" && cd "$(dirname "$out")" && pwd)
export GOPATH="$var/go" GOMODCACHE="$var/go/mod" GOCACHE="$var/go/cache" CGO_ENABLED=0 \
       GOFLAGS=-trimpath GOTOOLCHAIN=local
dir=$(cd /tmp && go mod download -json "$module@$version" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "build-binary: could not fetch $module $version" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$dir/." "$work"
chmod -R u+w "$work"
echo "$version" >"$work/build/version/version.txt"
(cd "$work" && go build -ldflags='-s -w' -o "$out.tmp" ./cmd/ferretdb)
mv "$out.tmp" "$out"
go clean -cache  # the binary is what is kept; the build cache would hold ~1 GB for nothing
"$out" --version | head -n1
