#!/usr/bin/env bash
# A mount of an s3:// repository on a real radosgw (the ctest fixture
# `radosgw`; $CAIRN_TEST_S3_ENV names its env file), reached through
# tests/s3/fault_proxy.py so the test can take the store away mid-read:
#  - files read back byte-identical (sha256sum, user.cairn.sha256);
#  - the store hanging (proxy stopped with SIGSTOP: connections accept
#    nothing) makes a read that needs the store fail with EIO within the
#    stall timeout and the bounded retries, never hang; the mount keeps
#    serving what it has cached and reads work again once the store answers;
#  - the store gone (proxy killed: connection refused) gives EIO within the
#    retry time; listing directories still works (decoded trees are local);
#  - `cairn umount` works while the store is down.
source "$(dirname "$0")/../cli/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"

if [[ $(id -u) -ne 0 || ! -c /dev/fuse ]]; then
  echo "SKIP: the mount tests need root and /dev/fuse" >&2
  exit 77
fi
source "$HERE/../s3/s3lib.sh"
cairn_s3_env
BUCKET="cairn-mount-$(date +%s%N | tail -c 10)-$$"
export CAIRN_REPO="s3://$BUCKET/repo"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

SRC="$SCRATCH/src"
MNT="$SCRATCH/mnt"
mkdir -p "$SRC/sub" "$MNT"
printf 'hello from s3\n' >"$SRC/hello.txt"
head -c $((24 * 1024 * 1024)) /dev/urandom >"$SRC/sub/big.bin"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$SRC/sub/other.bin"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$SRC/sub/third.bin"
seq 1 100000 >"$SRC/sub/numbers.txt"

must --endpoint "$CAIRN_TEST_S3_ENDPOINT" init
must --endpoint "$CAIRN_TEST_S3_ENDPOINT" backup "$SRC"

# The proxy, fault-free: the test stops and kills it to take the store away.
python3 "$HERE/../s3/fault_proxy.py" --listen 127.0.0.1:0 --upstream "$CAIRN_TEST_S3_ENDPOINT" \
  --port-file "$SCRATCH/proxy.port" --log "$SCRATCH/proxy.log" &
proxy_pid=$!
CLEANUPS+=("kill -CONT $proxy_pid 2>/dev/null; kill $proxy_pid 2>/dev/null")
for ((i = 0; i < 200; i++)); do [[ -s "$SCRATCH/proxy.port" ]] && break; sleep 0.05; done
[[ -s "$SCRATCH/proxy.port" ]] || { echo "FAIL: fault proxy did not start" >&2; exit 1; }
PROXY="http://127.0.0.1:$(cat "$SCRATCH/proxy.port")"

# Short bounds so the test is quick: a stalled transfer is given up after
# 2 s, a request is retried at most twice and never for more than 4 s.
BOUNDS=(--endpoint "$PROXY" --stall-timeout 2 --connect-timeout 2 --retries 2 --retry-time 4)
CLEANUPS+=("umount -l '$MNT' 2>/dev/null")
run "${BOUNDS[@]}" mount "$MNT" --log "$SCRATCH/mount.log"
[[ "$RC" == 0 ]] || fail "cairn mount of an s3:// repository"
mountpoint -q "$MNT" || { fail "$MNT is not mounted"; finish; }
S="$MNT/snapshots/latest$SRC"

# --- content through the mount ---
for f in hello.txt sub/numbers.txt sub/other.bin; do
  want="$(sha256sum <"$SRC/$f" | cut -d' ' -f1)"
  got="$(sha256sum <"$S/$f" | cut -d' ' -f1)" || fail "reading $f"
  [[ "$got" == "$want" ]] || fail "$f read through the s3 mount differs"
  x="$(getfattr -n user.cairn.sha256 --only-values "$S/$f" 2>/dev/null)"
  [[ "$x" == "$want" ]] || fail "user.cairn.sha256 of $f: '$x'"
done
# The first MiB of big.bin, so its read is under way when the store goes.
head -c 1048576 "$S/sub/big.bin" | cmp -s - <(head -c 1048576 "$SRC/sub/big.bin") ||
  fail "the first MiB of big.bin differs"

# --- the store hangs: a read that needs it fails with EIO, in bounded time ---
kill -STOP "$proxy_pid"
t0=$(now_ms)
set +e
timeout 60 dd if="$S/sub/big.bin" of=/dev/null bs=1M skip=20 count=2 status=none 2>"$SCRATCH/dd.err"
rc=$?
set -e
ms=$(($(now_ms) - t0))
[[ $rc != 124 ]] || fail "a read with the store hanging was still blocked after 60 s"
[[ $rc != 0 ]] || fail "a read of uncached data succeeded with the store hanging"
grep -q "Input/output error" "$SCRATCH/dd.err" || fail "the failed read is not EIO: $(cat "$SCRATCH/dd.err")"
((ms < 30000)) || fail "EIO took $ms ms with the store hanging (bounds: 2 s stall, 2 retries, 4 s)"
echo "store hanging: EIO after $ms ms"
# What the mount already has still works: listings and the cached file.
ls "$S/sub" | grep -q numbers.txt || fail "listing a directory with the store hanging"
cmp -s "$S/hello.txt" "$SRC/hello.txt" || fail "a cached file with the store hanging"
grep -q "big.bin" "$SCRATCH/mount.log" || fail "the mount log does not name the file that failed"

# --- the store answers again: the same read works without a remount ---
kill -CONT "$proxy_pid"
dd if="$S/sub/big.bin" of="$SCRATCH/tail.bin" bs=1M skip=20 count=2 status=none ||
  fail "reading again once the store answers"
cmp -s "$SCRATCH/tail.bin" <(dd if="$SRC/sub/big.bin" bs=1M skip=20 count=2 status=none) ||
  fail "the re-read part of big.bin differs"

# --- the store is gone (connection refused): EIO within the retry time ---
kill "$proxy_pid"
wait "$proxy_pid" 2>/dev/null || true
t0=$(now_ms)
set +e
timeout 60 cat "$S/sub/third.bin" >/dev/null 2>"$SCRATCH/cat.err"
rc=$?
set -e
ms=$(($(now_ms) - t0))
[[ $rc != 124 ]] || fail "a read with the store gone was still blocked after 60 s"
[[ $rc != 0 ]] || fail "a read of uncached data succeeded with the store gone"
grep -q "Input/output error" "$SCRATCH/cat.err" || fail "the failed read is not EIO: $(cat "$SCRATCH/cat.err")"
((ms < 20000)) || fail "EIO took $ms ms with the store gone (retry time 4 s)"
echo "store gone: EIO after $ms ms"
ls "$MNT/snapshots" >/dev/null || fail "listing snapshots/ with the store gone"

# --- unmount while the store is down ---
run umount "$MNT"
[[ "$RC" == 0 ]] || fail "cairn umount with the store down"
for ((i = 0; i < 100; i++)); do mountpoint -q "$MNT" || break; sleep 0.1; done
mountpoint -q "$MNT" && fail "$MNT still mounted after cairn umount"
finish
