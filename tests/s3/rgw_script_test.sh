#!/usr/bin/env bash
# tests/s3/rgw.sh's contract without a server: env and stop on a directory
# where nothing was started, and stop never signals a process it did not
# start (a pid in DIR/pids whose command line does not name DIR/ceph.conf).
source "$(dirname "$0")/../cli/lib.sh"
RGW_SH="$(dirname "$0")/rgw.sh"

runsh() {
  set +e
  bash "$RGW_SH" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
  RC=$?
  set -e
  OUT=$(cat "$SCRATCH/out")
  ERR=$(cat "$SCRATCH/err")
}

runsh env "$SCRATCH/none"
expect_rc 1 "env where nothing was started"
expect_err "no radosgw was started in" "env where nothing was started"
runsh stop "$SCRATCH/none"
expect_rc 0 "stop on a directory that does not exist"
[[ ! -e "$SCRATCH/none" ]] || fail "stop created $SCRATCH/none"

mkdir -p "$SCRATCH/d"
sleep 300 &
stranger=$!
CLEANUPS+=("kill $stranger")
printf '%s mon\n999999999 osd\nnot-a-pid radosgw\n' "$stranger" >"$SCRATCH/d/pids"
printf 'export CAIRN_TEST_S3_ENDPOINT=http://127.0.0.1:1\n' >"$SCRATCH/d/env"
mkdir -p "$SCRATCH/d/log" && echo keep >"$SCRATCH/d/log/x.log"
runsh stop "$SCRATCH/d"
expect_rc 0 "stop with stale and foreign pids"
kill -0 "$stranger" 2>/dev/null || fail "stop killed pid $stranger, which it did not start"
[[ ! -e "$SCRATCH/d/pids" && ! -e "$SCRATCH/d/env" ]] || fail "stop left DIR/pids or DIR/env"
[[ -f "$SCRATCH/d/log/x.log" ]] || fail "stop removed the logs"
runsh stop "$SCRATCH/d"
expect_rc 0 "stop again (idempotent)"

runsh start "$SCRATCH/d" --memstore-gib 0
expect_rc 1 "start with a zero size"
runsh frobnicate "$SCRATCH/d"
expect_rc 2 "an unknown action"

finish
