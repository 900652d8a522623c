#!/usr/bin/env bash
# Two daemons, two series, one repository: each mounts it with its own
# cache and staging, rsyncs its own tree (sharing some data with the other)
# into its head/, and both seal at the same moment, twice. Both snapshots of
# every round must be complete: each restores equal to its source, `check
# --read-data` finds nothing wrong, and the data both trees share is stored
# once. Usage: head_two_series_test.sh CAIRN local|s3 (s3 needs the ctest
# fixture `radosgw`). Needs root and /dev/fuse; exits 77 without.
source "$(dirname "$0")/../cli/lib.sh"
HERE="$(cd "$(dirname "$0")" && pwd)"
KIND="${2:-local}"

if [[ $(id -u) -ne 0 || ! -c /dev/fuse ]]; then
  echo "SKIP: the mount tests need root and /dev/fuse" >&2
  exit 77
fi
for tool in rsync mountpoint python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed" >&2; exit 77; }
done
EP=()
if [[ "$KIND" == s3 ]]; then
  source "$HERE/../s3/s3lib.sh"
  cairn_s3_env
  export CAIRN_REPO="s3://cairn-two-$(date +%s%N | tail -c 10)-$$/repo"
  EP=(--endpoint "$CAIRN_TEST_S3_ENDPOINT")
fi

RSYNC=(rsync -aHAX --delete --numeric-ids)
differs() {  # nothing printed means equal (the snapshot root has no metadata)
  rsync -aHAXc --numeric-ids --delete -n -i "$1" "$2" | grep -v ' \./$' || true
}

# --- two sources: a shared 8 MB file, and 4 MB and 60 files of their own ---
head -c $((8 * 1024 * 1024)) /dev/urandom >"$SCRATCH/shared.bin"
for s in a b; do
  make_source "$SCRATCH/src-$s"
  cp "$SCRATCH/shared.bin" "$SCRATCH/src-$s/shared.bin"
  head -c $((4 * 1024 * 1024)) /dev/urandom >"$SCRATCH/src-$s/own.bin"
  mkdir -p "$SCRATCH/src-$s/many"
  for i in $(seq 1 60); do echo "$s $i" >"$SCRATCH/src-$s/many/f$i"; done
done

must "${EP[@]}" init
for s in a b; do
  mkdir -p "$SCRATCH/mnt-$s"
  CLEANUPS+=("umount -l '$SCRATCH/mnt-$s/head' 2>/dev/null; umount -l '$SCRATCH/mnt-$s' 2>/dev/null")
  CAIRN_CACHE_DIR="$SCRATCH/cache-$s" run "${EP[@]}" mount "$SCRATCH/mnt-$s" --series "series-$s" \
    --log "$SCRATCH/mount-$s.log"
  [[ "$RC" == 0 ]] || fail "cairn mount for series-$s"
  mountpoint -q "$SCRATCH/mnt-$s/head" || { fail "head/ of series-$s is not mounted"; finish; }
done

# Seals both heads at the same moment; prints "a-id b-id".
seal_both() {
  local s pids=()
  for s in a b; do
    "$CAIRN" seal "$SCRATCH/mnt-$s" --json >"$SCRATCH/seal-$s.json" 2>"$SCRATCH/seal-$s.err" &
    pids+=($!)
  done
  for s in 0 1; do
    wait "${pids[$s]}" || { RC=$?; ERR="$(cat "$SCRATCH"/seal-*.err)"; fail "concurrent seal exited $RC"; }
  done
}
snap_id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot"])' "$1"; }

for round in 1 2; do
  for s in a b; do
    "${RSYNC[@]}" "$SCRATCH/src-$s/" "$SCRATCH/mnt-$s/head/" || fail "rsync into head/ of series-$s"
  done
  seal_both
  for s in a b; do
    id="$(snap_id "$SCRATCH/seal-$s.json")" || { fail "no snapshot id from the seal of series-$s"; continue; }
    rm -rf "$SCRATCH/restored"
    CAIRN_CACHE_DIR="$SCRATCH/cache-check" must "${EP[@]}" restore "$id" --target "$SCRATCH/restored"
    d="$(differs "$SCRATCH/src-$s/" "$SCRATCH/restored/")"
    [[ -z "$d" ]] || fail "round $round: the snapshot of series-$s differs from its source: $d"
  done
  # A fresh cache sees both seals' index entries and packs.
  rm -rf "$SCRATCH/cache-check"
  CAIRN_CACHE_DIR="$SCRATCH/cache-check" run "${EP[@]}" check --read-data
  expect_rc 0 "round $round: check --read-data after concurrent seals"
  # The next round: each side changes a little.
  for s in a b; do
    echo "round $round" >>"$SCRATCH/src-$s/hello.txt"
    rm "$SCRATCH/src-$s/many/f$round"
    head -c 100000 /dev/urandom >"$SCRATCH/src-$s/many/new-$round"
  done
done

CAIRN_CACHE_DIR="$SCRATCH/cache-check" run "${EP[@]}" snapshots --json
for s in a b; do
  n="$(echo "$OUT" | python3 -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x.get("series")==sys.argv[1]))' "series-$s")"
  [[ "$n" == 2 ]] || fail "series-$s has $n snapshots, expected 2"
done
# The shared file is stored once: the trees hold 8 MiB shared and 7 MiB of
# random data each of their own (own.bin, random.bin), 22 MiB stored when
# deduplicated and at least 30 MiB if not.
CAIRN_CACHE_DIR="$SCRATCH/cache-check" run "${EP[@]}" stats --json
stored="$(echo "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"])' 2>/dev/null || echo 0)"
((stored > 0 && stored < 26 * 1024 * 1024)) || fail "stored $stored bytes: the shared file was not deduplicated"

for s in a b; do
  run umount "$SCRATCH/mnt-$s"
  expect_rc 0 "umount of series-$s"
done
finish
