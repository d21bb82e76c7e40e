#!/usr/bin/env bash
# How much load xinvoke makes per core, against one local endpoint, compared with a bare
# aws-sdk-lambda loop, boto3 and raw HTTP; the core's overhead per invoke; invoker init, RSS
# and zip size against a hello-world lambda_runtime bootstrap; the invoker's CPU per warm invoke
# under a Runtime API stub (both auth modes) against the same bootstrap; what the local endpoint
# adds over a do-nothing endpoint; the harness's RSS over a long run. Everything is built in
# release and runs on this machine. Last, a goals table: each figure, its goal, met or not.
#
#   scripts/bench.sh [--quick]
#
# The gateway is measured by protocol in the same run: the harness through it over HTTP/1.1,
# and h2load over HTTP/1.1, TLS with HTTP/1.1 and TLS with HTTP/2, each against the direct path.
#
# Environment: CARGO_TARGET_DIR (release build dir), XINVOKE_VENV (boto3 venv, default .venv).
set -euo pipefail

QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="${XINVOKE_VENV:-.venv}"
OUT="$(mktemp -d /tmp/xinvoke-bench.XXXXXX)"
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

if ((QUICK)); then
  HARNESS_C=(8 32 128 512); HARNESS_N=30000; SDK_N=20000; BOTO_N=2000; RAW_N=50000; LONG_N=1000000; CORE_N=200000; INIT_RUNS=5; WRK_S=3; WARM_N=5000
else
  HARNESS_C=(8 32 128 512); HARNESS_N=100000; SDK_N=100000; BOTO_N=10000; RAW_N=300000; LONG_N=10000000; CORE_N=2000000; INIT_RUNS=15; WRK_S=10; WARM_N=30000
fi
SDK_C=32; BOTO_C=16; RAW_C=32; LONG_C=32; WRK_C=(32 128)
FUNCTION="arn:aws:lambda:us-east-1:222222222222:function:target:live"

log() { echo "bench: $*" >&2; }
# jf JSON FIELD: a number field of a one-line JSON answer.
jf() { grep -oP "\"$2\": ?\K[0-9.]+" <<<"$1" || true; }

log "building release binaries in $TARGET_DIR"
# The invoker as cargo-lambda (and sam build) builds it: without the CLI's default features
# (Cargo.toml, [package.metadata.lambda]); the CLI with them.
CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet --no-default-features --bin invoker --example hello_runtime --example hello_post
cp "$TARGET_DIR/release/invoker" "$OUT/"
cp "$TARGET_DIR/release/examples/hello_runtime" "$TARGET_DIR/release/examples/hello_post" "$OUT/"
CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet --bin xinvoke
cp "$TARGET_DIR/release/xinvoke" "$OUT/"
# The baselines: the SDK crates with their default features, as most projects add them (the bare
# SDK loop in xbench, and the same invoker for the size comparison).
log "building the sdk-defaults baselines"
# Built as users build them: Cargo.toml's size-optimised crates back at the release profile's
# opt-level 3.
AS_USERS=()
for p in $(grep -oP '^\[profile\.release\.package\.\K[^\]]+' Cargo.toml); do
  AS_USERS+=(--config "profile.release.package.$p.opt-level=3")
done
CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet "${AS_USERS[@]}" --no-default-features --features sdk-defaults,bench --bin invoker --example xbench
cp "$TARGET_DIR/release/invoker" "$OUT/invoker-sdk-defaults"
cp "$TARGET_DIR/release/examples/xbench" "$OUT/"

if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y -qq wrk >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null; }
fi
# h2load (nghttp2's load client) drives the gateway over HTTP/1.1, TLS and HTTP/2 alike.
if ! command -v h2load >/dev/null; then
  log "installing h2load (Debian package nghttp2-client)"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y -qq nghttp2-client >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq nghttp2-client >/dev/null; }
fi
if ! "$VENV/bin/python" -c 'import boto3' 2>/dev/null; then
  log "installing boto3 into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet boto3
fi

"$OUT/xinvoke" local --listen 127.0.0.1:0 >"$OUT/local.log" 2>&1 &
LOCAL_PID=$!
NULL_PID=""
GW_PID=""
cleanup() { kill "$LOCAL_PID" $NULL_PID $GW_PID 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 50); do grep -q "listening on" "$OUT/local.log" && break; sleep 0.1; done
ENDPOINT="$(grep -o 'http://[0-9.:]*' "$OUT/local.log" | head -1)"
log "local endpoint (release) at $ENDPOINT, pid $LOCAL_PID"

export AWS_ACCESS_KEY_ID=ASIAXINVOKESOURCE001 AWS_SECRET_ACCESS_KEY=xinvoke-local-source-secret
export AWS_SESSION_TOKEN=IQoJxinvokelocalsourcesessiontoken00000000000001
export AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$ENDPOINT"
unset AWS_PROFILE XINVOKE_TARGETS XINVOKE_TARGETS_FILE 2>/dev/null || true

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run NAME REQUESTS CMD...: time CMD, count the endpoint's CPU meanwhile (SERVER_PID, the local
# account 2 unless set). Appends "name rate client_cpu_us local_cpu_us max_rss_kb" to $OUT/rows.
run() {
  local name=$1 n=$2; shift 2
  local t0 out rate server=${SERVER_PID:-$LOCAL_PID}
  t0=$(ticks "$server")
  out=$(/usr/bin/time -f 'TIME %e %U %S %M' "$@" 2>&1)
  local t1; t1=$(ticks "$server")
  read -r _ wall user sys rss <<<"$(grep '^TIME ' <<<"$out" | tail -1)"
  rate=$(grep -oP 'rate \K[0-9.]+(?=/s sent)|"rate": ?\K[0-9.]+' <<<"$out" | head -1 || true)
  [[ -z "$rate" ]] && rate=$(awk -v n="$n" -v w="$wall" 'BEGIN{printf "%.1f", n/w}')
  local cpu_us local_us
  cpu_us=$(awk -v u="$user" -v s="$sys" -v n="$n" 'BEGIN{printf "%.1f", (u+s)*1e6/n}')
  local_us=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$HZ" 'BEGIN{printf "%.1f", (b-a)*1e6/hz/n}')
  echo "$name $rate $cpu_us $local_us $rss" >>"$OUT/rows"
  log "$name: $rate/s, client ${cpu_us} us CPU/invoke, local ${local_us} us CPU/invoke, max RSS ${rss} KB"
}

LOAD=("$OUT/xinvoke" load --target "$FUNCTION" --payload '{}' --quiet)

: >"$OUT/rows"
for c in "${HARNESS_C[@]}"; do run "harness-signed-c$c" "$HARNESS_N" "${LOAD[@]}" --concurrency "$c" --requests "$HARNESS_N" --path signed; done
run "harness-sdk-c$SDK_C" "$SDK_N" "${LOAD[@]}" --concurrency "$SDK_C" --requests "$SDK_N" --path sdk
run "bare-sdk-loop-c$SDK_C" "$SDK_N" "$OUT/xbench" sdk "$ENDPOINT" "$SDK_C" "$SDK_N"
run "boto3-threads$BOTO_C" "$BOTO_N" "$VENV/bin/python" scripts/bench_boto3.py "$ENDPOINT" "$BOTO_C" "$BOTO_N"
run "raw-hyper-403-c$RAW_C" "$RAW_N" "$OUT/xbench" raw "$ENDPOINT" "$RAW_C" "$RAW_N"
# wrk: one thread, for WRK_S seconds; it says how many requests it sent.
printf 'wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n' >"$OUT/post.lua"
for wc in "${WRK_C[@]}"; do
  t0=$(ticks "$LOCAL_PID")
  out=$(/usr/bin/time -f 'TIME %e %U %S %M' wrk -t1 -c"$wc" -d"${WRK_S}s" -s "$OUT/post.lua" \
    "$ENDPOINT/2015-03-31/functions/target/invocations" 2>&1)
  t1=$(ticks "$LOCAL_PID")
  read -r _ wall user sys rss <<<"$(grep '^TIME ' <<<"$out" | tail -1)"
  n=$(grep -oP '^\s*\K[0-9]+(?= requests in)' <<<"$out")
  rate=$(grep -oP 'Requests/sec:\s*\K[0-9.]+' <<<"$out")
  echo "raw-wrk-403-c$wc $rate $(awk -v u="$user" -v s="$sys" -v n="$n" 'BEGIN{printf "%.1f", (u+s)*1e6/n}') $(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$HZ" 'BEGIN{printf "%.1f", (b-a)*1e6/hz/n}') $rss" >>"$OUT/rows"
  log "raw-wrk-403-c$wc: $rate/s over $n requests"
done

# The floor: the same harness run against an endpoint that does nothing but answer 200.
"$OUT/xbench" null >"$OUT/null.log" 2>&1 &
NULL_PID=$!
for _ in $(seq 50); do grep -q "listening on" "$OUT/null.log" && break; sleep 0.1; done
NULL_ENDPOINT="$(grep -o 'http://[0-9.:]*' "$OUT/null.log" | head -1)"
# What the local endpoint adds over it: the same harness run against one, then the other, twice
# (local, null, local, null), so both see the same machine; the rows' sums give the ratio.
for i in 1 2; do
  run "pair$i-local-c$SDK_C" "$HARNESS_N" "${LOAD[@]}" --concurrency "$SDK_C" --requests "$HARNESS_N" --path signed
  SERVER_PID=$NULL_PID run "pair$i-null-c$SDK_C" "$HARNESS_N" env AWS_ENDPOINT_URL="$NULL_ENDPOINT" \
    "${LOAD[@]}" --concurrency "$SDK_C" --requests "$HARNESS_N" --path signed
done
kill "$NULL_PID" 2>/dev/null || true

# The gateway: the same harness, each request an HTTP POST through `xinvoke gateway` (release),
# which invokes on the signed path; the server CPU column is the gateway's. Then h2load sends
# the same POSTs at the same concurrency over plain HTTP/1.1, and to the gateway serving TLS
# (a throwaway certificate) over HTTP/1.1 and HTTP/2 (ALPN h2), one stream per connection.
cat >"$OUT/gateway.yaml" <<EOF
upstreams:
  - {name: account2, region: us-east-1, awsAccountId: "222222222222",
     lambdaFunctions: [{lambdaFunctionName: target, logicalName: target, qualifier: live}]}
routes:
  - {name: target, upstream: account2, logicalName: target, matchers: [{exact: /target}]}
EOF
# gateway OUTFILE [ARGS...]: start a gateway in the background (its pid in GW_PID), wait for its
# first line, leave its URL in GW_URL.
gateway() {
  local out=$1; shift
  "$OUT/xinvoke" gateway --config "$OUT/gateway.yaml" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 "$@" >"$out" 2>"$out.log" &
  GW_PID=$!
  for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
  GW_URL="$(grep -o 'https\?://[0-9.:]*' "$out" | head -1)"
}
# h2load_row NAME URL [ARGS...]: h2load's GW_N POSTs at concurrency SDK_C through the gateway
# at GW_PID, as a row of $OUT/rows; says so when an answer was not a 2xx.
printf '{}' >"$OUT/body.json"
h2load_row() {
  local name=$1 url=$2; shift 2
  local t0 t1 out wall user sys rss rate ok gw_us
  t0=$(ticks "$GW_PID")
  out=$(/usr/bin/time -f 'TIME %e %U %S %M' h2load -n "$GW_N" -c "$SDK_C" -m 1 -d "$OUT/body.json" \
    -H 'content-type: application/json' "$@" "$url" 2>&1)
  t1=$(ticks "$GW_PID")
  read -r _ wall user sys rss <<<"$(grep '^TIME ' <<<"$out" | tail -1)"
  rate=$(grep -oP 'finished in [0-9.]+m?s, \K[0-9.]+(?= req/s)' <<<"$out" | head -1 || true)
  ok=$(grep -oP 'status codes: \K[0-9]+(?= 2xx)' <<<"$out" | head -1 || true)
  [[ "$ok" == "$GW_N" ]] || log "warning: $name: ${ok:-0} of $GW_N answers were 2xx"
  gw_us=$(awk -v a="$t0" -v b="$t1" -v n="$GW_N" -v hz="$HZ" 'BEGIN{printf "%.1f", (b-a)*1e6/hz/n}')
  echo "$name ${rate:-0} $(awk -v u="$user" -v s="$sys" -v n="$GW_N" 'BEGIN{printf "%.1f", (u+s)*1e6/n}') $gw_us $rss" >>"$OUT/rows"
  log "$name: ${rate:-0}/s, gateway ${gw_us} us CPU/request"
}
GW_N=$HARNESS_N
gateway "$OUT/gateway.out"
SERVER_PID=$GW_PID run "gateway-c$SDK_C" "$HARNESS_N" "$OUT/xinvoke" load --via gateway "$GW_URL/target" \
  --payload '{}' --quiet --concurrency "$SDK_C" --requests "$HARNESS_N"
h2load_row "gateway-h1-c$SDK_C" "$GW_URL/target" --h1
kill "$GW_PID" 2>/dev/null || true
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$OUT/tls.key" -out "$OUT/tls.pem" 2>/dev/null
gateway "$OUT/gateway-tls.out" --tls-cert "$OUT/tls.pem" --tls-key "$OUT/tls.key"
h2load_row "gateway-tls-h1-c$SDK_C" "$GW_URL/target" --h1
h2load_row "gateway-tls-h2-c$SDK_C" "$GW_URL/target"
kill "$GW_PID" 2>/dev/null || true

log "core overhead ($CORE_N iterations)"
CORE=$("$OUT/xbench" core "$CORE_N")
log "local endpoint's own work per invoke, in process ($CORE_N iterations)"
LOCAL_WORK=$("$OUT/xbench" local "$CORE_N")

log "invoker init vs hello-world lambda_runtime ($INIT_RUNS runs each)"
INIT_ENV=("XINVOKE_TARGET_ARN=$FUNCTION" "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID"
  "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" "AWS_ENDPOINT_URL=$ENDPOINT")
INIT_INVOKER=$("$OUT/xbench" init "$OUT/invoker" "$INIT_RUNS" "${INIT_ENV[@]}")
INIT_DEFAULTS=$("$OUT/xbench" init "$OUT/invoker-sdk-defaults" "$INIT_RUNS" "${INIT_ENV[@]}")
INIT_HELLO=$("$OUT/xbench" init "$OUT/hello_runtime" "$INIT_RUNS")
# The invoker's CPU per warm invoke: one direct event at a time from a Runtime API stub, the
# invoke sent to the local endpoint (whose process runs the target, so its time is not counted),
# in both auth modes. The hello-world bootstrap on the same one-thread runtime, which only
# echoes, is the Runtime API's own cost (two exchanges per event): the invoker's handler is the
# difference, measured in turn, twice, the lower of each kept (other work on the machine only
# adds). The whole sandbox's figure is what Lambda bills.
log "invoker CPU per warm invoke under a Runtime API stub ($WARM_N events each, twice)"
ROLE_ENV=("XINVOKE_TARGET_ARN=arn:aws:lambda:us-east-1:222222222222:function:target"
  "XINVOKE_ROLE_ARN=arn:aws:iam::222222222222:role/xinvoke-invoke" "XINVOKE_EXTERNAL_ID=xinvoke-local-external-id")
lower() { awk -v a="$(jf "$1" cpu_us_per_event)" -v b="$(jf "$2" cpu_us_per_event)" 'BEGIN{ if (b != "" && b + 0 < a + 0) print 2; else print 1 }'; }
# Two more references split the handler's figure: the hello-world making one bare HTTP POST per
# event (unsigned, to the same endpoint, on the same client stack: the floor of any bootstrap
# that calls out once per event), and the invoker with its log line and EMF document off.
POST_URL="$ENDPOINT/2015-03-31/functions/target/invocations"
W=()
for _ in 1 2; do
  W+=("$("$OUT/xbench" warm "$OUT/hello_runtime" "$WARM_N" HELLO_CURRENT_THREAD=1)")
  W+=("$("$OUT/xbench" warm "$OUT/invoker" "$WARM_N" "${INIT_ENV[@]}")")
  W+=("$("$OUT/xbench" warm "$OUT/invoker" "$WARM_N" "${INIT_ENV[@]}" "${ROLE_ENV[@]}")")
  W+=("$("$OUT/xbench" warm "$OUT/hello_post" "$WARM_N" "HELLO_POST_URL=$POST_URL")")
  W+=("$("$OUT/xbench" warm "$OUT/invoker" "$WARM_N" "${INIT_ENV[@]}" XINVOKE_METRICS=off RUST_LOG=warn)")
done
pick() { if [[ $(lower "${W[$1]}" "${W[$(($1 + 5))]}") == 2 ]]; then echo "${W[$(($1 + 5))]}"; else echo "${W[$1]}"; fi; }
WARM_HELLO=$(pick 0); WARM_RESOURCE=$(pick 1); WARM_ROLE=$(pick 2); WARM_POST=$(pick 3); WARM_QUIET=$(pick 4)
# The floor holds only if every event made its exchange (the endpoint answers the unsigned POST 403).
[[ "$(jf "$WARM_POST" ok)" == "$WARM_N" ]] || log "warning: hello_post answered $(jf "$WARM_POST" ok) of $WARM_N events: the one-exchange floor below is not one"
WARM_HELLO_MT=$("$OUT/xbench" warm "$OUT/hello_runtime" "$WARM_N")
# zipped NAME BINARY: strip it as the Lambda packages it, zip it; prints "stripped_bytes zip_bytes".
zipped() {
  mkdir -p "$OUT/zip-$1"
  strip -o "$OUT/zip-$1/bootstrap" "$2" 2>/dev/null || cp "$2" "$OUT/zip-$1/bootstrap"
  (cd "$OUT/zip-$1" && zip -q -9 bootstrap.zip bootstrap)
  echo "$(stat -c %s "$OUT/zip-$1/bootstrap") $(stat -c %s "$OUT/zip-$1/bootstrap.zip")"
}
read -r BIN_BYTES ZIP_BYTES <<<"$(zipped invoker "$OUT/invoker")"
read -r DEF_BIN_BYTES DEF_ZIP_BYTES <<<"$(zipped sdk-defaults "$OUT/invoker-sdk-defaults")"
read -r HELLO_BIN_BYTES HELLO_ZIP_BYTES <<<"$(zipped hello "$OUT/hello_runtime")"

log "long run: $LONG_N requests at concurrency $LONG_C, RSS sampled every half second"
"${LOAD[@]}" --concurrency "$LONG_C" --requests "$LONG_N" --path signed >"$OUT/long.txt" 2>&1 &
LONG_PID=$!
: >"$OUT/rss"
while kill -0 "$LONG_PID" 2>/dev/null; do
  awk '/^VmRSS:/{print $2}' "/proc/$LONG_PID/status" 2>/dev/null >>"$OUT/rss" || true
  sleep 0.5
done
wait "$LONG_PID" || true
LONG_RATE=$(grep -oP 'rate \K[0-9.]+(?=/s sent)' "$OUT/long.txt" | head -1)
RSS_SAMPLES=$(grep -c . "$OUT/rss" || true)
RSS_EARLY=$(sed -n "$(((RSS_SAMPLES + 3) / 4))p" "$OUT/rss")
RSS_LAST=$(grep . "$OUT/rss" | tail -1)
RSS_MAX=$(sort -n "$OUT/rss" | tail -1)

# ---- the table ------------------------------------------------------------------------------
get() { awk -v k="$1" -v f="$2" '$1==k{print $f}' "$OUT/rows"; }
best_harness=$(awk '$1 ~ /^harness-signed-c[0-9]+$/ {if ($2>m) {m=$2; k=$1}} END{print k}' "$OUT/rows")
H_RATE=$(get "$best_harness" 2); H_CPU=$(get "$best_harness" 3); H_LOCAL=$(get "$best_harness" 4)
SDK_RATE=$(get "bare-sdk-loop-c$SDK_C" 2); SDK_CPU=$(get "bare-sdk-loop-c$SDK_C" 3)
BOTO_RATE=$(get "boto3-threads$BOTO_C" 2); BOTO_CPU=$(get "boto3-threads$BOTO_C" 3)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.1f", a/b; else print "-" }'; }
cap() { awk -v c="$1" 'BEGIN{ if (c>0) printf "%.0f", 2e6/c; else print "-" }'; }

echo
echo "xinvoke bench $( ((QUICK)) && echo '--quick' ) · $(nproc) cores · $(date -u +%FT%TZ) · endpoint: local endpoint (release, SigV4 on)"
echo
printf '%-24s %12s %14s %14s %12s %12s\n' "client" "invokes/s" "client CPU µs" "server CPU µs" "max RSS MB" "per-core/s"
while read -r name rate cpu lcpu rss; do
  printf '%-24s %12s %14s %14s %12.1f %12s\n' "$name" "$rate" "$cpu" "$lcpu" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" "$(cap "$cpu" | awk '{printf "%.0f", $1/2}')"
done <"$OUT/rows"
echo
echo "best harness run: $best_harness"
echo "harness vs bare SDK loop: throughput $(ratio "$H_RATE" "$SDK_RATE")x, CPU per invoke $(ratio "$SDK_CPU" "$H_CPU")x less   (target >= 3x)"
echo "harness vs boto3:         throughput $(ratio "$H_RATE" "$BOTO_RATE")x, CPU per invoke $(ratio "$BOTO_CPU" "$H_CPU")x less   (target >= 40x)"
echo "core overhead per invoke (classify + decide + attempt log + load record + stats): ok $(jf "$CORE" ok_ns) ns, not found $(jf "$CORE" not_found_ns) ns   (target <= 10000 ns)"
echo "local endpoint's own work per invoke (handler, no network): $(jf "$LOCAL_WORK" handler_ns) ns CPU, of which SigV4 verification $(jf "$LOCAL_WORK" sigv4_ns) ns"
GW_RATE=$(get "gateway-c$SDK_C" 2); GW_CPU=$(get "gateway-c$SDK_C" 4)
D32_RATE=$(get "harness-signed-c$SDK_C" 2); D32_CPU=$(get "harness-signed-c$SDK_C" 3)
echo "gateway (c$SDK_C): $GW_CPU µs CPU per request in the gateway, $(awk -v g="$GW_CPU" -v d="$D32_CPU" 'BEGIN{printf "%.1f", g-d}') µs over the harness's direct signed path ($D32_CPU µs)   (target <= 25 µs); $GW_RATE requests/s through it = $(awk -v g="$GW_RATE" -v d="$D32_RATE" 'BEGIN{ if (d>0) printf "%.2f", g/d; else print "-" }')x the direct harness at c$SDK_C ($D32_RATE/s)   (target >= 0.7x)"
# The same gateway by protocol, h2load the client: its CPU per request and throughput against
# the direct path (the harness's own CPU per invoke and rate at c$SDK_C).
for proto in "h1:HTTP/1.1" "tls-h1:TLS, HTTP/1.1" "tls-h2:TLS, HTTP/2"; do
  row="gateway-${proto%%:*}-c$SDK_C"
  echo "gateway over ${proto#*:} (h2load, c$SDK_C): $(get "$row" 4) µs CPU per request in the gateway, $(awk -v g="$(get "$row" 4)" -v d="$D32_CPU" 'BEGIN{printf "%.1f", g-d}') µs over the direct signed path; $(get "$row" 2) requests/s = $(awk -v g="$(get "$row" 2)" -v d="$D32_RATE" 'BEGIN{ if (d>0) printf "%.2f", g/d; else print "-" }')x the direct harness"
done
NULL_CPU=$(awk -v a="$(get "pair1-null-c$SDK_C" 4)" -v b="$(get "pair2-null-c$SDK_C" 4)" 'BEGIN{printf "%.1f", (a+b)/2}')
PAIR_LOCAL=$(awk -v a="$(get "pair1-local-c$SDK_C" 4)" -v b="$(get "pair2-local-c$SDK_C" 4)" 'BEGIN{printf "%.1f", (a+b)/2}')
echo "local endpoint over the do-nothing endpoint, alternating runs at c$SDK_C: $PAIR_LOCAL vs $NULL_CPU µs CPU per invoke = $(ratio "$PAIR_LOCAL" "$NULL_CPU")x, $(awk -v a="$PAIR_LOCAL" -v b="$NULL_CPU" 'BEGIN{printf "%.1f", a-b}') µs added per invoke   (goal <= 1.3x)"
echo "null endpoint (fixed 200, no work, same serving): $NULL_CPU µs CPU per invoke, what HTTP over loopback costs any server here"
mb() { awk -v b="$1" 'BEGIN{printf "%.2f", b/1048576}'; }
ms() { jf "$1" init_ms_median; }
rss() { awk -v k="$(jf "$1" rss_kb_median)" 'BEGIN{printf "%.1f", k/1024}'; }
echo "invoker init: $(ms "$INIT_INVOKER") ms to first /next, RSS $(rss "$INIT_INVOKER") MB; with sdk-defaults: $(ms "$INIT_DEFAULTS") ms, RSS $(rss "$INIT_DEFAULTS") MB; hello-world lambda_runtime: $(ms "$INIT_HELLO") ms, RSS $(rss "$INIT_HELLO") MB; ratio $(ratio "$(ms "$INIT_INVOKER")" "$(ms "$INIT_HELLO")")x   (goals <= 1.3x, <= 8 MB)"
echo "invoker bootstrap: $(mb "$BIN_BYTES") MB stripped, $(mb "$ZIP_BYTES") MB zipped; with sdk-defaults: $(mb "$DEF_BIN_BYTES") MB, $(mb "$DEF_ZIP_BYTES") MB zipped ($(ratio "$DEF_ZIP_BYTES" "$ZIP_BYTES")x); hello-world: $(mb "$HELLO_BIN_BYTES") MB, $(mb "$HELLO_ZIP_BYTES") MB zipped   (target <= 3 MB zipped)"
echo "long run: $LONG_N requests at $LONG_RATE/s; harness RSS at 1/4 $((RSS_EARLY / 1024)) MB, max $((RSS_MAX / 1024)) MB, last $((RSS_LAST / 1024)) MB over $RSS_SAMPLES samples   (goal: flat)"
wf() { jf "$1" cpu_us_per_event; }
cs() { jf "$1" context_switches_per_event; }
over() { awk -v a="$(wf "$1")" -v b="$(wf "$WARM_HELLO")" 'BEGIN{ if (a != "" && b != "") printf "%.1f", a-b; else print "-" }'; }
echo "invoker CPU per warm invoke, the whole sandbox (Runtime API stub, local endpoint): resource $(wf "$WARM_RESOURCE") µs, role $(wf "$WARM_ROLE") µs (wall $(jf "$WARM_RESOURCE" wall_us_per_event) / $(jf "$WARM_ROLE" wall_us_per_event) µs; $(cs "$WARM_RESOURCE") / $(cs "$WARM_ROLE") context switches per event; RSS $(jf "$WARM_ROLE" rss_kb) KB)"
echo "  the Runtime API alone (hello-world, one thread): $(wf "$WARM_HELLO") µs, $(cs "$WARM_HELLO") context switches per event (tokio's multi-threaded runtime: $(wf "$WARM_HELLO_MT") µs, $(cs "$WARM_HELLO_MT") switches)"
echo "  the invoker's handler over it: resource $(over "$WARM_RESOURCE") µs, role $(over "$WARM_ROLE") µs   (goal <= 30 µs)"
# less A B: A's CPU per event less B's.
less() { awk -v a="$(wf "$1")" -v b="$(wf "$2")" 'BEGIN{ if (a != "" && b != "") printf "%.1f", a-b; else print "-" }'; }
echo "  of which one more HTTP exchange (hello-world + one bare POST per event: $(wf "$WARM_POST") µs, $(cs "$WARM_POST") switches): $(less "$WARM_POST" "$WARM_HELLO") µs; the invoker's own work over that: resource $(less "$WARM_RESOURCE" "$WARM_POST") µs, role $(less "$WARM_ROLE" "$WARM_POST") µs, of which its log line and EMF document $(less "$WARM_RESOURCE" "$WARM_QUIET") µs ($(jf "$WARM_RESOURCE" log_bytes_per_event) bytes per event; XINVOKE_METRICS=off RUST_LOG=warn: $(wf "$WARM_QUIET") µs)"
for m in 128 512 1769; do
  echo "  at $m MB ($(awk -v m=$m 'BEGIN{printf "%.2f", m/1769}') vCPU) the invoker's CPU is ~$(awk -v c="$(wf "$WARM_ROLE")" -v m=$m 'BEGIN{printf "%.0f", c*1769/m}') µs of each warm invoke (role; $(awk -v c="$(wf "$WARM_RESOURCE")" -v m=$m 'BEGIN{printf "%.0f", c*1769/m}') µs resource), of which the handler ~$(awk -v c="$(over "$WARM_ROLE")" -v m=$m 'BEGIN{printf "%.0f", c*1769/m}') µs"
done

# ---- the goals ------------------------------------------------------------------------------
GOALS="$OUT/goals"
: >"$GOALS"
# goal FIGURE MEASURED OP LIMIT UNIT: one row, met when MEASURED OP LIMIT.
goal() {
  local met
  met=$(awk -v m="$2" -v l="$4" -v op="$3" 'BEGIN{
    if (m == "" || m == "-") { print "?"; exit }
    if ((op == "<=" && m + 0 <= l + 0) || (op == ">=" && m + 0 >= l + 0)) print "yes"; else print "NO" }')
  printf '%s|%s %s|%s %s %s|%s\n' "$1" "$2" "$5" "$3" "$4" "$5" "$met" >>"$GOALS"
}
# The harness over wrk at each concurrency both ran at; the goal asks it of at least one.
WRK_RATIO="-"; WRK_AT=""
for wc in "${WRK_C[@]}"; do
  r=$(ratio "$(get "harness-signed-c$wc" 3)" "$(get "raw-wrk-403-c$wc" 3)")
  echo "harness CPU per invoke over wrk's per request at c$wc: $(get "harness-signed-c$wc" 3) / $(get "raw-wrk-403-c$wc" 3) µs = ${r}x"
  if [[ "$WRK_RATIO" == "-" ]] || awk -v a="$r" -v b="$WRK_RATIO" 'BEGIN{exit !(a < b)}'; then WRK_RATIO=$r; WRK_AT=$wc; fi
done
C512_RSS=$(awk -v k="$(get "harness-signed-c512" 5)" 'BEGIN{ if (k > 0) printf "%.1f", k/1024; else print "-" }')
goal "invoker handler CPU per warm invoke, resource-based" "$(over "$WARM_RESOURCE")" "<=" 30 µs
goal "invoker handler CPU per warm invoke, role chaining" "$(over "$WARM_ROLE")" "<=" 30 µs
goal "invoker init vs hello-world bootstrap" "$(ratio "$(ms "$INIT_INVOKER")" "$(ms "$INIT_HELLO")")" "<=" 1.3 x
goal "invoker RSS after init" "$(rss "$INIT_INVOKER")" "<=" 8 MB
goal "invoker bootstrap zipped" "$(mb "$ZIP_BYTES")" "<=" 3 MB
goal "harness CPU/invoke over wrk's CPU/request (best: c$WRK_AT)" "$WRK_RATIO" "<=" 2 x
goal "harness RSS at concurrency 512" "$C512_RSS" "<=" 48 MB
# Flat: what the run keeps per second (its per-second latency series, ~7 KB a second) may add a
# few MB over ten minutes; memory that grew with requests would add far more.
goal "long run RSS growth from 1/4 to the end" "$(awk -v a="$RSS_EARLY" -v b="$RSS_LAST" 'BEGIN{ if (a > 0) printf "%.1f", (b-a)/1024; else print "-" }')" "<=" 4 MB
goal "local endpoint CPU/invoke over the do-nothing endpoint's, c$SDK_C" "$(ratio "$PAIR_LOCAL" "$NULL_CPU")" "<=" 1.3 x
goal "harness vs bare SDK loop, throughput" "$(ratio "$H_RATE" "$SDK_RATE")" ">=" 3 x
goal "harness vs boto3, throughput" "$(ratio "$H_RATE" "$BOTO_RATE")" ">=" 40 x
goal "core overhead per invoke" "$(jf "$CORE" ok_ns)" "<=" 10000 ns
goal "gateway CPU per request over the direct path" "$(awk -v g="$GW_CPU" -v d="$D32_CPU" 'BEGIN{printf "%.1f", g-d}')" "<=" 25 µs
echo
echo "goals"
printf '%-66s %14s %12s %5s\n' "figure" "measured" "goal" "met?"
while IFS='|' read -r f m g ok; do printf '%-66s %14s %12s %5s\n' "$f" "$m" "$g" "$ok"; done <"$GOALS"
echo "load average (1, 5, 15 min) on $(nproc) cores: $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; other work on the machine moves every figure"
echo "took $(($(date +%s) - START)) s; raw output in $OUT"
