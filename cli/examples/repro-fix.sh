#!/bin/sh
# The repro-fix loop on the pyro CLI: a workspace seeded with a small project whose test
# fails (./seed), then reproduce → read → patch → test → diff → export → reset → delete.
#
#   cli/examples/repro-fix.sh [OUTPUT_DIR]
#
# OUTPUT_DIR (which must not exist yet) receives the fixed project; default: a new
# temporary directory. Needs `pyro` on PATH (`npm link` in the repository puts it there).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d)/slugify}

ws=$(pyro workspace create debian:12 --seed-path "$here/seed" --label example=repro-fix --id-only)
# Whatever happens below, the workspace goes.
trap '[ -z "$ws" ] || pyro workspace delete "$ws" >/dev/null' EXIT
echo "created $ws"

echo "== 1. reproduce: the tests fail (pyro exits with the command's status)"
if pyro workspace exec "$ws" -- sh test.sh; then
  echo "the seed's tests were expected to fail" >&2
  exit 1
fi

echo "== 2. read the code"
pyro workspace file read "$ws" slugify.sh

echo "== 3. fix it: every hunk must match, or nothing is written"
pyro workspace patch apply "$ws" --patch-file "$here/fix.diff"

echo "== 4. the tests pass"
pyro workspace exec "$ws" -- sh test.sh

echo "== 5. review the change against the baseline"
pyro workspace diff "$ws"

echo "== 6. take the fixed project out"
pyro workspace export "$ws" . --output "$out"

echo "== 7. back to the baseline (the export keeps the fix)"
pyro workspace reset "$ws" >/dev/null
pyro workspace diff "$ws"

echo "== 8. delete it"
pyro workspace delete "$ws"
ws=
