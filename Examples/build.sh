#!/usr/bin/env bash
# Rebuilds every .wasm under Examples/ from its source and checks each one
# against the ledger's determinism profile:
#   C contracts  contracts/<name>/<name>.c + contracts/include/mesh.c -> contracts/<name>/<name>.wasm
#   C job        jobs/sha256/sha256.c                                 -> jobs/sha256.wasm
#   WAT          contracts/bad/*.wat                                  -> contracts/bad/*.wasm
#   junk         contracts/bad/malformed.wasm (16 bytes: the wasm header, then junk)
#
# Needs clang with the wasm32 target and wasm-ld (CLANG=..., default: the
# Swift toolchain's /opt/swift/usr/bin/clang, else clang on PATH) and wabt
# (wat2wasm, wasm2wat, wasm-objdump: apt-get install wabt).
# The output is byte-for-byte reproducible: names, debug info and producer
# sections are stripped, so no path or timestamp ends up in a module.
set -euo pipefail

cd "$(dirname "$0")"

if [[ -z "${CLANG:-}" ]]; then
    if [[ -x /opt/swift/usr/bin/clang ]]; then CLANG=/opt/swift/usr/bin/clang; else CLANG=clang; fi
fi
for tool in "$CLANG" wat2wasm wasm2wat wasm-objdump; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found" >&2; exit 1; }
done

# Plain MVP WebAssembly (no SIMD, threads, bulk memory, sign-ext, multivalue,
# reference types or saturating float-to-int), no libc, no entry point;
# entry points are exported with __attribute__((export_name)).
CFLAGS=(--target=wasm32 -mcpu=mvp -nostdlib -O2 -Wall -Wextra -Werror
        -Wl,--no-entry -Wl,--strip-all -Wl,-z,stack-size=32768)
# Contracts: 2 pages (128 KiB) at start, at most 16 pages (1 MiB).
CONTRACT_MEM=(-Wl,--initial-memory=131072 -Wl,--max-memory=1048576)
# Jobs: 128 KiB at start, at most 16 MiB (the input is read into memory whole).
JOB_MEM=(-Wl,--initial-memory=131072 -Wl,--max-memory=16777216)

CONTRACTS=(counter escrow multisig token)
status=0

# check WASM MODULE_NAME EXPORTS...: only imports from MODULE_NAME, exactly
# the given exports, one memory with a maximum, and no float anywhere.
check() {
    local wasm=$1 module=$2; shift 2
    local dump bad
    dump=$(wasm-objdump -x "$wasm")
    bad=$(grep -E '^ - (func|memory|table|global)\[[0-9]+\].* <- ' <<<"$dump" | grep -v " <- $module\." || true)
    if [[ -n "$bad" ]]; then echo "FAIL $wasm imports from outside \"$module\":"; echo "$bad"; status=1; fi
    local exports want
    exports=$(sed -n 's/^ - [a-z]*\[[0-9]*\].* -> "\(.*\)"$/\1/p' <<<"$dump" | sort | tr '\n' ' ')
    want=$(printf '%s\n' memory "$@" | sort | tr '\n' ' ')
    if [[ "$exports" != "$want" ]]; then echo "FAIL $wasm exports [$exports], want [$want]"; status=1; fi
    if [[ $(grep -c '^ - memory\[[0-9]*\] pages:' <<<"$dump") != 1 ]] || ! grep -q '^ - memory\[0\] pages: initial=[0-9]* max=' <<<"$dump"; then
        echo "FAIL $wasm needs exactly one memory with a maximum"; status=1
    fi
    # Code, types, locals and globals only: data segments are skipped.
    if wasm2wat "$wasm" | grep -v '^ *(data' | grep -qE 'f32|f64|v128'; then
        echo "FAIL $wasm uses floating point or SIMD"; status=1
    fi
}

for name in "${CONTRACTS[@]}"; do
    out=contracts/$name/$name.wasm
    "$CLANG" "${CFLAGS[@]}" "${CONTRACT_MEM[@]}" "contracts/$name/$name.c" contracts/include/mesh.c -o "$out"
    check "$out" mesh instantiate execute query
done

"$CLANG" "${CFLAGS[@]}" "${JOB_MEM[@]}" jobs/sha256/sha256.c -o jobs/sha256.wasm
check jobs/sha256.wasm mesh_job run

for wat in contracts/bad/*.wat; do
    wat2wasm "$wat" -o "${wat%.wat}.wasm"
done
printf '\0asm\1\0\0\0\336\255\276\357\336\255\276\357' > contracts/bad/malformed.wasm
# The bad modules break the profile on purpose; only check that float.wasm
# is still caught by the float check and the others are not.
for wasm in contracts/bad/*.wasm; do
    [[ $wasm == */malformed.wasm ]] && continue
    if wasm2wat "$wasm" | grep -qE 'f32|f64'; then floats=yes; else floats=no; fi
    if [[ $wasm == */float.wasm && $floats == no ]] || [[ $wasm != */float.wasm && $floats == yes ]]; then
        echo "FAIL $wasm: float check says $floats"; status=1
    fi
done

for wasm in contracts/*/*.wasm jobs/*.wasm; do
    printf '%7d  %s\n' "$(wc -c <"$wasm")" "$wasm"
done
if [[ $status != 0 ]]; then echo "build.sh: checks failed" >&2; fi
exit $status
