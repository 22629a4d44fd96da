#!/usr/bin/env bash
# Builds and runs the fuzz targets with libFuzzer: MeshCore's decoders, the ledger's transaction
# decoding + checkTx, consensus/WAL/P2P decoders, the gateway's MQTT decoder and device tokens, and
# the storage client's capabilities, manifests and shard reads, and the WASM runtime's modules.
#   Fuzz/run.sh [SECONDS]     seconds per target, default 60; e.g. Fuzz/run.sh 3600 for a long run
# Corpora grow in Fuzz/corpus-*/ (ignored by git); crashes land in Fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
mkdir -p Fuzz/bin Fuzz/corpus-canonical Fuzz/crashes

# Runs one fuzz binary with its log in Fuzz/crashes/NAME.log. On a crash it prints the error,
# the top of the stack and the crashing input in hex (so a CI log is enough to reproduce), then fails.
fuzz() {
  local name="$1" lines="$2"
  shift 2
  local log="Fuzz/crashes/$name.log"
  if "$@" > "$log" 2>&1; then
    grep -v "Cannot export local symbol" "$log" | tail -n "$lines"
    echo "fuzz: $name, no crash in ${seconds}s"
    return 0
  fi
  echo "fuzz: $name FAILED; the error and the top of the stack:"
  grep -E "Fatal error|Precondition|Assertion|ERROR: |SUMMARY|Test unit written|^ *#?[0-9]+ +0x" "$log" |
    grep -v "Cannot export local symbol" | head -n 40
  local input
  input="$(grep -o "Test unit written to [^ ]*" "$log" | tail -n 1 | sed 's/Test unit written to //')"
  if [ -n "$input" ] && [ -f "$input" ]; then
    echo "fuzz: the input ($(wc -c < "$input") bytes, first 4 KiB in hex):"
    head -c 4096 "$input" | od -An -tx1 -v
  fi
  return 1
}
core=Sources/MeshCore
# The decoders under test need neither swift-crypto nor Foundation, so they compile alone.
sources=(
  "$core/Errors/MeshError.swift"
  "$core"/Encoding/*.swift
  "$core"/Multiformats/*.swift
  "$core/Hashing/Hash256.swift"
  "$core/Content/CID.swift"
  "$core/Identity/DIDKey.swift"
  "$core/Keys/Ed25519.swift"
  "$core/Keys/SigningDomain.swift"
)
echo "fuzz: building Fuzz/bin/canonical-fuzz"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MeshCoreFuzz \
  "${sources[@]}" Fuzz/CanonicalDecoder/FuzzTarget.swift -o Fuzz/bin/canonical-fuzz
# Seeds: one valid input per decoder, so mutation starts from accepted shapes.
seed() { printf "$2" > "Fuzz/corpus-canonical/seed-$1"; }
seed record '\x00\x01\x05\x03\x03abc\x02\x01\x02\x01\x07\x01\x02\x01\x02\x01\x01a\x05'
seed map '\x01\x01\x01k\x02vv'
seed optionals '\x02\x00\x01\x2a'
seed cid-bytes '\x03\x01\x55\x12\x20AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
seed cid-text '\x04bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
seed did '\x05did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp'
seed base '\x06StV1DL6CwTryKyV'
seed hex '\x07deadbeef'
echo "fuzz: running canonical-fuzz for ${seconds}s"
fuzz canonical-fuzz 8 Fuzz/bin/canonical-fuzz -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
  -artifact_prefix=Fuzz/crashes/ Fuzz/corpus-canonical

# The ledger target (Fuzz/Ledger): transaction decoding + checkTx against a SQLite ledger, and
# provenance records, device envelopes and storage upload headers. It needs
# GRDB and swift-crypto, so SwiftPM builds it, in its own scratch directory (sanitizer flags
# apply to every module). Its entry point calls libFuzzer's LLVMFuzzerRunDriver.
echo "fuzz: building ledger-fuzz (first build compiles the dependencies, a few minutes)"
swift build -c debug --product ledger-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 |
  grep -v "Cannot export local symbol" | tail -n 3
mkdir -p Fuzz/corpus-ledger
# Seed: mode 1 (body signed by the harness), a transfer of 0x23 to a did:key, fee 5.
printf '\x01\x04fuzz\x00%s\x00\x01\x01\x01\x01\x23\x00\x00%s\x05' \
  "$(printf 'A%.0s' {1..32})" "$(printf 'B%.0s' {1..32})" > Fuzz/corpus-ledger/seed-transfer-body
# Seeds for mode 0xF0: a provenance record (did:key device, topic a/b, hash, did:key node, batch 9,
# time 5, no signature) and a device envelope (MWE1, key, signature, payload "21.5").
printf '\xf0\x01\x00%s\x03a/b%s\x00%s\x09\x05\x00' "$(printf 'A%.0s' {1..32})" "$(printf 'H%.0s' {1..32})" \
  "$(printf 'N%.0s' {1..32})" > Fuzz/corpus-ledger/seed-provenance-record
printf '\xf1MWE1%s%s21.5' "$(printf 'K%.0s' {1..32})" "$(printf 'S%.0s' {1..64})" > Fuzz/corpus-ledger/seed-envelope
# Mode 0xF2: a storage upload's Authorization header (key and signature in base64url).
printf '\xf2Mesh-Upload %s.%s' "$(printf 'A%.0s' {1..43})" "$(printf 'B%.0s' {1..86})" > Fuzz/corpus-ledger/seed-upload-header
# Mode 0xF3: a voucher (chain "fuzz", channel 1, amount 100, nonce 1, key, signature) and 0xF4 its text form.
printf '\xf3\x04fuzz\x01\x64\x01%s%s' "$(printf 'K%.0s' {1..32})" "$(printf 'S%.0s' {1..64})" > Fuzz/corpus-ledger/seed-voucher
printf '\xf4mwv1.BGZ1enoBZAFLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1M' > Fuzz/corpus-ledger/seed-voucher-text
# Mode 0xF5: an observation (feed "t", value 2150 zigzag, time 5, did:key reporter, key, signature).
printf '\xf5\x01t\xcc\x21\x05\x00%s%s%s' "$(printf 'K%.0s' {1..32})" "$(printf 'K%.0s' {1..32})" "$(printf 'S%.0s' {1..64})" > Fuzz/corpus-ledger/seed-observation
# Mode 0xF6: a VC-JWT's shape (header {"alg":"EdDSA","typ":"vc+jwt"}, a VC 2.0 payload, a signature).
printf '\xf6eyJhbGciOiJFZERTQSIsInR5cCI6InZjK2p3dCJ9.eyJAY29udGV4dCI6WyJodHRwczovL3d3dy53My5vcmcvbnMvY3JlZGVudGlhbHMvdjIiXSwidHlwZSI6WyJWZXJpZmlhYmxlQ3JlZGVudGlhbCJdLCJpc3N1ZXIiOiJkaWQ6a2V5OnoiLCJ2YWxpZEZyb20iOiIyMDI2LTEyLTA3VDAwOjAwOjAwWiIsImNyZWRlbnRpYWxTdWJqZWN0Ijp7ImlkIjoiZGlkOmtleTp6In19.%s' "$(printf 'A%.0s' {1..86})" > Fuzz/corpus-ledger/seed-vc-jwt
echo "fuzz: running ledger-fuzz for ${seconds}s"
LSAN_OPTIONS=suppressions=Fuzz/lsan.supp fuzz ledger-fuzz 8 .build-fuzz/debug/ledger-fuzz \
  -max_total_time="$seconds" -max_len=70000 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix=Fuzz/crashes/ Fuzz/corpus-ledger

# The consensus target (Fuzz/Consensus): consensus messages, WAL records, P2P frames.
echo "fuzz: building consensus-fuzz"
swift build -c debug --product consensus-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 |
  grep -v "Cannot export local symbol" | tail -n 3
mkdir -p Fuzz/corpus-consensus
# Seeds: a nil prevote (mode 0), an end-of-height WAL record (mode 1), a handshake start (mode 2).
printf '\x00\x02\x01\x05\x00\x00\x01\x00%s%s' "$(printf 'K%.0s' {1..32})" "$(printf 'S%.0s' {1..64})" \
  > Fuzz/corpus-consensus/seed-vote
printf '\x01\x00\x00\x00\x02\x5b\x9a\x1e\x4c\x01\x07' > Fuzz/corpus-consensus/seed-wal
printf '\x02\x00\x20%s' "$(printf 'E%.0s' {1..32})" > Fuzz/corpus-consensus/seed-handshake
echo "fuzz: running consensus-fuzz for ${seconds}s"
LSAN_OPTIONS=suppressions=Fuzz/lsan.supp fuzz consensus-fuzz 8 .build-fuzz/debug/consensus-fuzz \
  -max_total_time="$seconds" -max_len=200000 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix=Fuzz/crashes/ Fuzz/corpus-consensus

# The gateway target (Fuzz/Gateway): MQTT framing and decoding at every protocol level, device tokens,
# shadow requests, relay message frames and shared subscription filters.
echo "fuzz: building gateway-fuzz"
swift build -c debug --product gateway-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 |
  grep -v "Cannot export local symbol" | tail -n 3
mkdir -p Fuzz/corpus-gateway
# Seeds: a 3.1.1 CONNECT then PUBLISH QoS 1 (mode 0), a 5.0 SUBSCRIBE with a user property (mode 2),
# and a token-shaped string (mode 5; 3 is shadow requests, 4 relay message frames).
printf '\x00\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04dev1\x32\x09\x00\x03a/b\x00\x01hi' \
  > Fuzz/corpus-gateway/seed-connect-publish
printf '\x02\x82\x10\x00\x07\x07\x26\x00\x01k\x00\x01v\x00\x03a/#\x01' > Fuzz/corpus-gateway/seed-subscribe-v5
printf '\x05eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6a2V5OngiLCJhdWQiOiJmdXp6IiwiaWF0IjoxLCJleHAiOjJ9.%s' \
  "$(printf 'A%.0s' {1..86})" > Fuzz/corpus-gateway/seed-token
# Regression: iat = Int64.min once overflowed exp - iat before any signature check.
printf '\x05eyJhbGciOiJFZERTQSJ9.%s.%s' \
  "$(printf '{"aud":"fuzz","exp":1800000060,"iat":-9223372036854775808,"iss":"d"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')" \
  "$(printf 'A%.0s' {1..86})" > Fuzz/corpus-gateway/seed-token-extreme-iat
echo "fuzz: running gateway-fuzz for ${seconds}s"
LSAN_OPTIONS=suppressions=Fuzz/lsan.supp fuzz gateway-fuzz 8 .build-fuzz/debug/gateway-fuzz \
  -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix=Fuzz/crashes/ Fuzz/corpus-gateway

# The storage target (Fuzz/Storage): read capabilities, manifests, sealed manifests, shard bytes.
echo "fuzz: building storage-fuzz"
swift build -c debug --product storage-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 |
  grep -v "Cannot export local symbol" | tail -n 3
mkdir -p Fuzz/corpus-storage
# Seeds: a capability (mode 1), an overwrite of shard 0 byte 0x0100 and a dropped shard 1 (mode 3).
printf '\x01bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku:%s' "$(printf 'A%.0s' {1..43})" \
  > Fuzz/corpus-storage/seed-capability
printf '\x03\x00\x01\x00\x55\x06\x00\x01\x00' > Fuzz/corpus-storage/seed-shards
echo "fuzz: running storage-fuzz for ${seconds}s"
LSAN_OPTIONS=suppressions=Fuzz/lsan.supp fuzz storage-fuzz 8 .build-fuzz/debug/storage-fuzz \
  -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix=Fuzz/crashes/ Fuzz/corpus-storage

# The compute target (Fuzz/Compute): WASM modules as contract code (validation, compilation, every
# export under fuel) and as compute jobs, and sealed capability boxes.
echo "fuzz: building compute-fuzz"
swift build -c debug --product compute-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 |
  grep -v "Cannot export local symbol" | tail -n 3
mkdir -p Fuzz/corpus-compute
# Seeds: each example contract (mode 0), the sha256 job (mode 1), and a sealed-box-sized blob (mode 2).
for name in counter escrow multisig token; do
  { printf '\x00'; cat "Examples/contracts/$name/$name.wasm"; } > "Fuzz/corpus-compute/seed-$name"
done
for bad in loop grow trap noexport float malformed; do
  { printf '\x00'; cat "Examples/contracts/bad/$bad.wasm"; } > "Fuzz/corpus-compute/seed-bad-$bad"
done
{ printf '\x01'; cat Examples/jobs/sha256.wasm; } > Fuzz/corpus-compute/seed-job
printf '\x02%s' "$(printf 'E%.0s' {1..80})" > Fuzz/corpus-compute/seed-box
echo "fuzz: running compute-fuzz for ${seconds}s"
LSAN_OPTIONS=suppressions=Fuzz/lsan.supp fuzz compute-fuzz 8 .build-fuzz/debug/compute-fuzz \
  -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix=Fuzz/crashes/ Fuzz/corpus-compute
