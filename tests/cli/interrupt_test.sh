#!/usr/bin/env bash
# An interrupted backup leaves no snapshot and no damage; the rerun reuses
# what was stored.
source "$(dirname "$0")/lib.sh"

src="$SCRATCH/src"
mkdir -p "$src"
for i in $(seq 1 12); do head -c 40000000 /dev/urandom >"$src/big$i"; done
must init
"$CAIRN" backup --threads 1 "$src" >"$SCRATCH/out" 2>"$SCRATCH/err" &
pid=$!
# Interrupt once some packs are stored.
for _ in $(seq 1 200); do
  n=$( (find "$CAIRN_REPO/packs" -type f 2>/dev/null || true) | wc -l)
  ((n >= 3)) && break
  sleep 0.05
done
kill -INT $pid
set +e
wait $pid
RC=$?
set -e
ERR=$(cat "$SCRATCH/err")
expect_rc 130 "interrupted backup"
expect_err "no snapshot was written" "interrupted backup explains itself"
must snapshots --json
[[ "$OUT" == "[]" ]] || fail "an interrupted backup left a snapshot"
must check
must backup --json "$src"
added=$(grep -o '"raw_bytes_added":[0-9]*' <<<"$OUT" | cut -d: -f2)
((added < 480000000)) || fail "the rerun stored everything again ($added bytes)"
must check --read-data
must restore latest --target "$SCRATCH/r"
diff -r "$src" "$SCRATCH/r$src" || fail "restore after an interrupted backup differs"
finish
