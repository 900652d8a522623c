#!/usr/bin/env bash
# The CLI on s3://bucket/prefix against a real radosgw (the ctest fixture
# `radosgw` starts it; $CAIRN_TEST_S3_ENV names its env file): init creates
# the bucket, backup/snapshots/ls/cat/restore/check work and the restore is
# byte-identical; init refuses a prefix holding a repository; a wrong secret
# key fails within seconds with exit status 14 and S3's code; an unreachable
# endpoint fails within the configured retry time. Then backup -> restore ->
# check --read-data through tests/s3/fault_proxy.py (503 SlowDown, resets
# mid-body, stalls, truncated bodies) gives byte-identical results.
source "$(dirname "$0")/../cli/lib.sh"

source "$(dirname "$0")/s3lib.sh"
cairn_s3_env
ENDPOINT=$CAIRN_TEST_S3_ENDPOINT
FAULT_PROXY=${FAULT_PROXY:-$(dirname "$0")/fault_proxy.py}
BUCKET="cairn-cli-$(date +%s%N | tail -c 10)-$$"
export CAIRN_REPO="s3://$BUCKET/repo one?endpoint=$ENDPOINT"

elapsed_since() { echo $(( $(date +%s%N) / 1000000 - $1 )); }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- data: small files, an empty one, a 20 MiB one (more than a pack) ----------
src="$SCRATCH/src"
mkdir -p "$src/sub/deeper" "$SCRATCH/home"
printf 'hello s3\n' >"$src/hello.txt"
: >"$src/empty"
seq 1 50000 >"$src/sub/numbers.txt"
head -c $((20 * 1024 * 1024)) /dev/urandom >"$src/sub/deeper/big.bin"
for i in $(seq 1 40); do head -c $((i * 3000)) /dev/urandom >"$src/sub/f$i"; done
ln -s hello.txt "$src/link"

# --- init creates the bucket, then refuses to run again --------------------------
must init
expect_out "created cairn repository" "init on s3"
[[ "$OUT" == *"s3://$BUCKET/repo one"* ]] || fail "init names the s3 location: $OUT"
run init
expect_rc 1 "init over an existing repository"
[[ "$ERR" == *"already holds a cairn repository"* ]] || fail "init refusal message: $ERR"

# --- backup, snapshots, ls, cat, restore, check ----------------------------------
must backup "$src"
must snapshots
[[ "$OUT" == *"$src"* ]] || fail "snapshots lists the backup of $src: $OUT"
must ls latest
[[ "$OUT" == *"big.bin"* && "$OUT" == *"numbers.txt"* ]] || fail "ls shows the files: $OUT"
must cat latest "$src/sub/numbers.txt"
[[ "$OUT" == "$(cat "$src/sub/numbers.txt")" ]] || fail "cat returns the file's content"
must restore latest --target "$SCRATCH/restore"
diff -r --no-dereference "$src" "$SCRATCH/restore$src" >/dev/null || fail "restore from s3 differs from the source"
must check --read-data
# A second backup of unchanged data stores (almost) nothing new.
must backup "$src"
must snapshots --json
[[ $(grep -o '"id"' <<<"$OUT" | wc -l) == 2 ]] || fail "two snapshots after two backups: $OUT"

# --- a wrong secret key fails fast, clearly, with its own exit status --------------
start=$(now_ms)
AWS_SECRET_ACCESS_KEY=not-the-secret run snapshots
took=$(elapsed_since "$start")
expect_rc 14 "wrong secret key"
[[ "$ERR" == *SignatureDoesNotMatch* && "$ERR" == *"secret key"* ]] || fail "wrong secret message: $ERR"
[[ "$ERR" != *not-the-secret* ]] || fail "the secret appears in the message: $ERR"
((took < 5000)) || fail "wrong secret took $took ms (want < 5 s)"

AWS_ACCESS_KEY_ID=NOSUCHKEY run snapshots
expect_rc 14 "unknown access key id"
[[ "$ERR" == *InvalidAccessKeyId* ]] || fail "unknown key message: $ERR"

# --- an unreachable endpoint fails within the configured retry time ----------------
start=$(now_ms)
run snapshots --endpoint http://127.0.0.1:1 --retries 100 --retry-time 3 --connect-timeout 1
took=$(elapsed_since "$start")
expect_rc 16 "unreachable endpoint"
[[ "$ERR" == *"127.0.0.1"* || "$ERR" == *"connect"* ]] || fail "unreachable endpoint message: $ERR"
[[ "$ERR" == *"gave up after"* ]] || fail "unreachable endpoint says it retried: $ERR"
((took < 8000)) || fail "unreachable endpoint took $took ms (want about 3 s)"

# --- --limit-upload holds for the whole process --------------------------------------
mkdir -p "$SCRATCH/limited"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$SCRATCH/limited/random.bin"
must init -r "s3://$BUCKET/limited?endpoint=$ENDPOINT"
start=$(now_ms)
must backup -r "s3://$BUCKET/limited?endpoint=$ENDPOINT" --limit-upload 2048 "$SCRATCH/limited"
took=$(elapsed_since "$start")
# 6 MiB at 2 MiB/s with a 2 MiB burst: at least 2 s.
((took >= 1800)) || fail "6 MiB with --limit-upload 2048 took only $took ms"

# --- the whole cycle through a faulty network ---------------------------------------
[[ -f "$FAULT_PROXY" ]] || { echo "FAIL: no fault proxy at $FAULT_PROXY" >&2; exit 1; }
python3 "$FAULT_PROXY" --listen 127.0.0.1:0 --upstream "$ENDPOINT" --port-file "$SCRATCH/proxy.port" \
  --log "$SCRATCH/proxy.log" --seed 7 --slowdown-every 8 --reset-every 13 --truncate-every 17 \
  --stall-every 29 --stall-seconds 30 &
proxy_pid=$!
CLEANUPS+=("kill $proxy_pid 2>/dev/null")
for ((i = 0; i < 200; i++)); do [[ -s "$SCRATCH/proxy.port" ]] && break; sleep 0.05; done
[[ -s "$SCRATCH/proxy.port" ]] || { echo "FAIL: fault proxy did not start" >&2; exit 1; }
PROXY="http://127.0.0.1:$(cat "$SCRATCH/proxy.port")"
FLAKY=(--endpoint "$PROXY" --stall-timeout 2 --retries 20 --retry-time 120)
export CAIRN_REPO="s3://$BUCKET/flaky"
export CAIRN_CACHE_DIR="$SCRATCH/cache-flaky"
must init "${FLAKY[@]}"
must backup "${FLAKY[@]}" "$src"
must restore latest --target "$SCRATCH/restore-flaky" "${FLAKY[@]}"
diff -r --no-dereference "$src" "$SCRATCH/restore-flaky$src" >/dev/null || fail "restore through the faulty proxy differs"
rm -rf "$SCRATCH/cache-flaky"  # check reads everything from the store again
must check --read-data "${FLAKY[@]}"
for f in slowdown reset truncate stall; do
  grep -q "fault=$f" "$SCRATCH/proxy.log" || fail "the proxy injected no $f fault (log: $(wc -l <"$SCRATCH/proxy.log") requests)"
done
kill "$proxy_pid" 2>/dev/null || true
wait "$proxy_pid" 2>/dev/null || true

finish
