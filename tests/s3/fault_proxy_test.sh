#!/usr/bin/env bash
# tests/s3/fault_proxy.py between curl and radosgw: clean requests pass with
# their signatures, bodies and keep-alive intact, many at once; each fault
# (slowdown, reset, stall, truncate) hits exactly the requests configured and
# is logged; a seed makes random faults reproducible.
source "$(dirname "$0")/../cli/lib.sh"
source "$(dirname "$0")/s3lib.sh"
PROXY="$(dirname "$0")/fault_proxy.py"
UPSTREAM=$CAIRN_TEST_S3_ENDPOINT

# start_proxy NAME ARGS...: a proxy logging to $SCRATCH/NAME.log; sets
# S3_ENDPOINT to it and LOG to its log.
start_proxy() {
  local name=$1 i
  shift
  python3 "$PROXY" --listen 127.0.0.1:0 --upstream "$UPSTREAM" \
    --port-file "$SCRATCH/$name.port" --log "$SCRATCH/$name.log" "$@" &
  local pid=$!
  CLEANUPS+=("kill $pid 2>/dev/null")
  PROXY_PID=$pid
  for ((i = 0; i < 200; i++)); do
    [[ -s "$SCRATCH/$name.port" ]] && break
    kill -0 "$pid" 2>/dev/null || { echo "FAIL: fault_proxy.py $* exited" >&2; exit 1; }
    sleep 0.05
  done
  [[ -s "$SCRATCH/$name.port" ]] || { echo "FAIL: fault_proxy.py wrote no port file in 10 s" >&2; exit 1; }
  S3_ENDPOINT="http://127.0.0.1:$(cat "$SCRATCH/$name.port")"
  LOG="$SCRATCH/$name.log"
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }
direct() { S3_ENDPOINT=$UPSTREAM s3 "$@"; }
faults_logged() { grep -c "fault=$1" "$LOG" || true; }

B=$(unique_bucket proxy)
direct PUT "$B"
expect_status 200 "create bucket $B directly"
head -c $((1024 * 1024)) /dev/urandom >"$SCRATCH/big"
direct PUT "$B/big" -T "$SCRATCH/big"
expect_status 200 "PUT big directly"

# ---- no faults -------------------------------------------------------------------
start_proxy clean
printf 'small object\n' >"$SCRATCH/small"
s3 PUT "$B/via-proxy" -T "$SCRATCH/small" -H "Content-MD5: $(md5_b64 "$SCRATCH/small")"
expect_status 200 "signed PUT through the proxy"
direct GET "$B/via-proxy"
cmp -s "$SCRATCH/small" "$SCRATCH/s3.body" || fail "object PUT through the proxy differs on the server"
s3 PUT "$B/bad-md5" -T "$SCRATCH/small" -H "Content-MD5: AAAAAAAAAAAAAAAAAAAAAA=="
expect_status 400 "wrong Content-MD5 through the proxy"
[[ "$OUT" == *BadDigest* ]] || fail "BadDigest body not passed through: $OUT"
s3 GET "$B/big"
expect_status 200 "GET through the proxy"
cmp -s "$SCRATCH/big" "$SCRATCH/s3.body" || fail "GET through the proxy returned other bytes"
s3 HEAD "$B/big"
[[ "$RC" == 200 && "$(header content-length)" == 1048576 ]] || fail "HEAD through the proxy: $RC, length $(header content-length)"
s3 GET "$B/big" -H "Range: bytes=100-199"
[[ "$RC" == 206 && $(stat -c %s "$SCRATCH/s3.body") == 100 ]] || fail "range GET through the proxy: $RC"
s3 GET "$B?list-type=2"
[[ "$OUT" == *"<Key>via-proxy</Key>"* ]] || fail "listing through the proxy lacks via-proxy: $OUT"
AWS_SECRET_ACCESS_KEY=wrong s3 GET "$B/big"
expect_status 403 "a wrong signature still fails through the proxy"

# Keep-alive: three transfers in one curl use one connection.
conns=$(curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -w '%{http_code}/%{num_connects} ' \
  -o /dev/null "$S3_ENDPOINT/$B/big" -o /dev/null "$S3_ENDPOINT/$B/big" -o /dev/null "$S3_ENDPOINT/$B/via-proxy")
[[ "$conns" == "200/1 200/0 200/0 " ]] || fail "keep-alive: expected 200/1 200/0 200/0, got $conns"

# HEAD, then GET, on one kept-alive connection (the proxy must finish a
# bodiless answer before the next request goes upstream).
conns=$(curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -w '%{http_code}/%{num_connects} ' -o /dev/null \
  --head "$S3_ENDPOINT/$B/big" --next --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
  -w '%{http_code}/%{num_connects} ' -o "$SCRATCH/after-head" "$S3_ENDPOINT/$B/big")
[[ "$conns" == "200/1 200/0 " ]] || fail "HEAD then GET on one connection: expected 200/1 200/0, got $conns"
cmp -s "$SCRATCH/big" "$SCRATCH/after-head" || fail "GET after HEAD on one connection returned other bytes"

# Many connections at once: 40 GETs, 20 in parallel, all complete and intact.
export S3_ENDPOINT B AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY SCRATCH
seq 1 40 | xargs -P 20 -I{} bash -c 'curl -sS -f --max-time 60 --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
  -o "$SCRATCH/par-{}" "$S3_ENDPOINT/$B/big"' || fail "parallel GETs through the proxy failed"
for i in $(seq 1 40); do
  cmp -s "$SCRATCH/big" "$SCRATCH/par-$i" || { fail "parallel GET $i returned other bytes"; break; }
done
rm -f "$SCRATCH"/par-*
n=$(grep -c 'fault=none' "$LOG" || true)
((n == 52)) || fail "clean proxy logged $n requests, expected 52"
(($(grep -c 'fault=' "$LOG") == n)) || fail "clean proxy logged faults: $(grep -v 'fault=none' "$LOG")"
! grep -q ' -> 502 ' "$LOG" || fail "clean proxy answered 502 (upstream errors): $(grep ' -> 502 ' "$LOG")"
stop_proxy

# ---- 503 SlowDown on every 3rd request, not forwarded -----------------------------
start_proxy slowdown --slowdown-every 3
got=""
for i in 1 2 3 4 5 6; do
  s3 PUT "$B/slow-$i" -T "$SCRATCH/small"
  got+="$RC "
  if [[ "$RC" == 503 ]]; then
    [[ "$OUT" == *"<Code>SlowDown</Code>"* ]] || fail "503 without an S3 SlowDown body: $OUT"
  fi
done
[[ "$got" == "200 200 503 200 200 503 " ]] || fail "slowdown every 3: statuses $got"
direct HEAD "$B/slow-3"
expect_status 404 "a request answered with SlowDown must not reach the server"
direct HEAD "$B/slow-4"
expect_status 200 "the request after a SlowDown reaches the server"
[[ $(faults_logged slowdown) == 2 ]] || fail "slowdown: expected 2 logged faults: $(cat "$LOG")"
stop_proxy

# ---- connection reset mid-body on every 2nd request -------------------------------
start_proxy reset --reset-every 2
s3 GET "$B/big"
[[ "$RC" == 200 && "$CURL_RC" == 0 ]] || fail "reset every 2: request 1 should pass (HTTP $RC, curl $CURL_RC)"
s3 GET "$B/big"
[[ "$CURL_RC" == 56 ]] || fail "reset every 2: request 2 should be reset (curl exit 56), got curl $CURL_RC: $ERR"
(($(stat -c %s "$SCRATCH/s3.body") < 1048576)) || fail "reset: the whole body arrived"
grep -q 'fault=reset reset after 524288 of 1048576 body bytes' "$LOG" || fail "reset not logged: $(cat "$LOG")"
s3 PUT "$B/reset-put" -T "$SCRATCH/small"
expect_status 200 "reset every 2: request 3 passes"
s3 PUT "$B/lost-reply" -T "$SCRATCH/small"
[[ "$CURL_RC" == 56 || "$CURL_RC" == 52 ]] || fail "request 4 (empty body) should be reset, curl $CURL_RC"
direct HEAD "$B/lost-reply"
expect_status 200 "a reset reply: the server did the PUT all the same"
[[ $(faults_logged reset) == 2 ]] || fail "reset: expected 2 logged faults: $(cat "$LOG")"
stop_proxy

# ---- stalled response: headers, then nothing ---------------------------------------
start_proxy stall --stall-every 2 --stall-seconds 30
s3 GET "$B/via-proxy"
expect_status 200 "stall every 2: request 1 passes"
t0=$(date +%s%N)
S3_MAX_TIME=2 s3 GET "$B/big"
ms=$((($(date +%s%N) - t0) / 1000000))
[[ "$CURL_RC" == 28 ]] || fail "a stalled response should time out (curl exit 28), got $CURL_RC"
[[ "$HDRS" == *"HTTP/1.1 200"* ]] || fail "stall: the status line and headers should arrive first: $HDRS"
[[ ! -s "$SCRATCH/s3.body" ]] || fail "stall: body bytes arrived"
((ms < 6000)) || fail "stall: curl took $ms ms with --max-time 2"
for ((i = 0; i < 60; i++)); do grep -q 'fault=stall' "$LOG" && break; sleep 0.1; done
grep -q 'fault=stall headers sent, then client went away' "$LOG" ||
  fail "stall: the proxy should notice the client leaving: $(cat "$LOG")"
stop_proxy

# ---- truncated body ----------------------------------------------------------------
start_proxy truncate --truncate-every 1
s3 GET "$B/big"
[[ "$CURL_RC" == 18 ]] || fail "a truncated body should be a partial transfer (curl exit 18), got $CURL_RC"
[[ "$(header content-length)" == 1048576 && $(stat -c %s "$SCRATCH/s3.body") == 524288 ]] ||
  fail "truncate: Content-Length $(header content-length), received $(stat -c %s "$SCRATCH/s3.body")"
[[ $(faults_logged truncate) == 1 ]] || fail "truncate not logged: $(cat "$LOG")"
stop_proxy

# ---- random faults, reproducible from the seed -----------------------------------------
sequence() {
  local seq="" i
  for i in $(seq 1 24); do s3 HEAD "$B/big"; seq+="$RC "; done
  echo "$seq"
}
start_proxy seed1 --seed 7 --slowdown-every 3
first=$(sequence)
stop_proxy
start_proxy seed2 --seed 7 --slowdown-every 3
second=$(sequence)
stop_proxy
[[ "$first" == "$second" ]] || fail "seed 7 gave different faults: '$first' vs '$second'"
[[ "$first" == *503* && "$first" == *200* ]] || fail "seed 7, 1 in 3: expected both 200 and 503: $first"
[[ "$first" != "200 200 503 200 200 503 "* ]] || fail "with --seed the faults should be random, not every 3rd: $first"

# ---- chunked responses (radosgw answers with Content-Length; a stub does not) ----------
cat >"$SCRATCH/chunked_server.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(3):
            part = (b"%d" % i) * 40000
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
__import__("os").replace(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
python3 "$SCRATCH/chunked_server.py" "$SCRATCH/stub.port" &
stub=$!
CLEANUPS+=("kill $stub 2>/dev/null")
for ((i = 0; i < 100; i++)); do [[ -s "$SCRATCH/stub.port" ]] && break; sleep 0.05; done
UPSTREAM="http://127.0.0.1:$(cat "$SCRATCH/stub.port")"
{ printf '0%.0s' $(seq 40000); printf '1%.0s' $(seq 40000); printf '2%.0s' $(seq 40000); } >"$SCRATCH/chunked.want"
start_proxy chunked --truncate-every 2
set +e
curl -sS -o "$SCRATCH/chunked.got" -D "$SCRATCH/chunked.hdrs" "$S3_ENDPOINT/x" 2>/dev/null
rc1=$?
curl -sS -o "$SCRATCH/chunked.cut" "$S3_ENDPOINT/x" 2>/dev/null
rc2=$?
set -e
[[ $rc1 == 0 ]] && cmp -s "$SCRATCH/chunked.want" "$SCRATCH/chunked.got" ||
  fail "a chunked response through the proxy: curl $rc1, body differs"
grep -qi '^transfer-encoding: chunked' "$SCRATCH/chunked.hdrs" || fail "chunked response not passed on chunked"
[[ $rc2 == 18 && $(stat -c %s "$SCRATCH/chunked.cut") == 60000 ]] ||
  fail "a truncated chunked response: curl $rc2 (want 18), $(stat -c %s "$SCRATCH/chunked.cut") bytes (want 60000)"
stop_proxy

finish
