# Shared helpers for the CLI integration tests. Each test script sources this
# with the cairn binary as $1; it gets a scratch directory, a repository
# location and a password, and assertion helpers that print what differed.
set -euo pipefail

CAIRN="${1:?usage: $0 /path/to/cairn}"
SCRATCH="$(mktemp -d /tmp/cairn-cli-XXXXXX)"
export CAIRN_PASSWORD="correct horse battery staple"
export CAIRN_CACHE_DIR="$SCRATCH/cache"
export CAIRN_REPO="$SCRATCH/repo"
unset CAIRN_PASSWORD_FILE
FAILURES=0
CLEANUPS=()

cleanup() {
  local c
  for c in "${CLEANUPS[@]}"; do eval "$c" || true; done
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

# Runs cairn, capturing stdout, stderr and the exit status in OUT, ERR, RC.
run() {
  set +e
  "$CAIRN" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null
  RC=$?
  set -e
  OUT="$(cat "$SCRATCH/out")"
  ERR="$(cat "$SCRATCH/err")"
}

fail() {
  echo "FAIL: $*" >&2
  echo "  exit status: ${RC:-}" >&2
  echo "  stdout: ${OUT:-}" | head -n 20 >&2
  echo "  stderr: ${ERR:-}" | head -n 20 >&2
  FAILURES=$((FAILURES + 1))
}

expect_rc() {  # expect_rc CODE what...
  local want=$1
  shift
  [[ "$RC" == "$want" ]] || fail "$* : expected exit status $want, got $RC"
}

expect_err() {  # expect_err SUBSTRING what...
  local want=$1
  shift
  [[ "$ERR" == *"$want"* ]] || fail "$* : stderr lacks \"$want\""
}

expect_out() {
  local want=$1
  shift
  [[ "$OUT" == *"$want"* ]] || fail "$* : stdout lacks \"$want\""
}

must() {  # must CMD...: runs cairn and fails the test unless it exits 0
  run "$@"
  [[ "$RC" == 0 ]] || fail "cairn $* exited $RC"
}

finish() {
  if ((FAILURES)); then
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# A small source tree with several kinds of entries.
make_source() {
  local d=$1
  mkdir -p "$d/sub/deeper" "$d/empty"
  printf 'hello\n' >"$d/hello.txt"
  head -c 3000000 /dev/urandom >"$d/random.bin"
  seq 1 200000 >"$d/sub/numbers.txt"
  printf 'x' >"$d/sub/deeper/one"
  ln -s ../hello.txt "$d/sub/link"
  ln "$d/hello.txt" "$d/sub/hardlink"
  mkfifo "$d/fifo"
  touch -d '2001-02-03 04:05:06' "$d/sub/numbers.txt"
}
