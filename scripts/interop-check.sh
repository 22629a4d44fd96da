#!/usr/bin/env bash
# Checks `meshwork` against independent implementations, as a user would run it:
#  - `meshwork cid` against py-multiformats (the IPFS project's Python CID library) on random files;
#  - the issue's did:key acceptance line (zero seed -> the W3C vector).
# Usage: scripts/interop-check.sh [path/to/meshwork]   (default .build/debug/meshwork)
set -euo pipefail
cd "$(dirname "$0")/.."
meshwork="${1:-.build/debug/meshwork}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import os, random, sys
from multiformats import CID, multihash
work = sys.argv[1]
rng = random.Random(20261121)
sizes = [0, 1, 31, 32, 33, 1023, 1024, 1025, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7]
sizes += [rng.randrange(0, 300_000) for _ in range(30)]
with open(os.path.join(work, "expected.txt"), "w") as expected:
    for index, size in enumerate(sizes):
        data = rng.randbytes(size)
        path = os.path.join(work, f"f{index:03d}")
        with open(path, "wb") as f:
            f.write(data)
        cid = CID("base32", 1, "raw", multihash.digest(data, "sha2-256"))
        expected.write(f"{cid}  {path}\n")
PY
"$meshwork" cid "$work"/f* > "$work/actual.txt"
if ! diff -u "$work/expected.txt" "$work/actual.txt"; then
  echo "interop: meshwork cid disagrees with py-multiformats" >&2
  exit 1
fi
echo "interop: meshwork cid matches py-multiformats on $(wc -l < "$work/expected.txt") files"

home="$work/home"
"$meshwork" keys import --home "$home" --name v0 --seed-hex "$(printf '0%.0s' {1..64})" --insecure-plaintext 2>/dev/null >/dev/null
did="$("$meshwork" keys show --home "$home" v0 --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["did"])')"
if [[ "$did" != "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp" ]]; then
  echo "interop: zero seed gave $did, not the W3C did:key vector" >&2
  exit 1
fi
echo "interop: zero seed -> $did (W3C vector)"
