#!/bin/sh
# Make (or bring up to date) var/ansible-venv from requirements-ansible.txt; idempotent.
# Usage: sh ansible/venv.sh   (prints the venv's bin folder)
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV="$REPO/var/ansible-venv"
STAMP="$VENV/.installed"
mkdir -p "$REPO/var"
exec 9>"$REPO/var/ansible-venv.lock"
flock 9  # parallel test workers make it once
if [ ! -x "$VENV/bin/python" ]; then
    # Debian's python3, not a pyenv shim: the same interpreter family as .venv.
    /usr/bin/python3 -m venv "$VENV" >&2
fi
if [ ! -e "$STAMP" ] || [ "$REPO/requirements-ansible.txt" -nt "$STAMP" ]; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REPO/requirements-ansible.txt" >&2
    touch "$STAMP"
fi
echo "$VENV/bin"
