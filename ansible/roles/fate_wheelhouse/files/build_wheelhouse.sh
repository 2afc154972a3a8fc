#!/bin/sh
# Build a wheelhouse tarball atomically: every wheel the FATE venv needs, including wheels built from
# sdists (mmh3, peewee, ...), so the hosts install with --no-index.
# usage: build_wheelhouse.sh PYTHON REQS REQS_NO_DEPS OUT_TAR [pip args...]
set -eu
python=$1 reqs=$2 reqs_no_deps=$3 out=$4
shift 4
work="$out.partial.d"
rm -rf "$work" "$out.partial"
mkdir -p "$work"
"$python" -m pip wheel --quiet --wheel-dir "$work" -r "$reqs" "$@"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work" -r "$reqs_no_deps" "$@"
cp "$reqs" "$work/requirements.txt"
cp "$reqs_no_deps" "$work/requirements-no-deps.txt"
(cd "$work" && ls -1 *.whl > MANIFEST)
# Plain tar: wheels are already compressed, and one file makes the push a single checksummed copy.
tar -C "$work" -cf "$out.partial" .
mv "$out.partial" "$out"
rm -rf "$work"
