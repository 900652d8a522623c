#!/usr/bin/env bash
# A backup killed with SIGKILL (no chance to clean up) at random moments
# leaves no snapshot and no damage: `check` passes, naming the packs it
# stored but did not index (segments are written every 64 packs or 180 s,
# so a short run killed has none). The next backup with the same cache
# indexes them from the pack journal (doc/format.md, "Pack journal") before
# it starts, so it stores only what is still missing: no manual step. Three
# kills, about ten seconds.
source "$(dirname "$0")/lib.sh"

RANDOM=20261203
src="$SCRATCH/src"
mkdir -p "$src"
for i in $(seq 1 6); do head -c 8388608 /dev/urandom >"$src/part$i"; done
full=$((6 * 8388608))  # incompressible: a full backup adds all of it

# Bytes of the pack objects in the repository now.
pack_bytes() {
  (find "$CAIRN_REPO/packs" -type f ! -name '.tmp-*' -printf '%s\n' 2>/dev/null || true) |
    awk '{ s += $1 } END { print s + 0 }'
}
pack_count() {
  (find "$CAIRN_REPO/packs" -type f ! -name '.tmp-*' 2>/dev/null || true) | wc -l
}

must init --pack-size 1  # 1 MiB packs: many moments with some stored
kills=0
# 1, 3 and 5 new packs and a few more (the backup stores ~100 a second):
# well under the 48 MiB in all.
for want_packs in 1 3 5; do
  before=$(pack_count)
  "$CAIRN" backup --threads 1 "$src" >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null &
  pid=$!
  # Wait for some new packs, then a random few milliseconds more.
  for _ in $(seq 1 400); do
    (($(pack_count) - before >= want_packs)) && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  sleep "0.0$((RANDOM % 5))"
  if ! kill -KILL $pid 2>/dev/null; then
    fail "the backup ended before the kill for $want_packs packs (source too small?)"
    wait $pid || true
    break
  fi
  kills=$((kills + 1))
  new_packs=$(($(pack_count) - before))
  echo "killed after $new_packs new packs (waited for $want_packs)"
  wait $pid 2>/dev/null || true
  must snapshots --json
  [[ "$OUT" == "[]" ]] || fail "a killed backup left a snapshot (kill for $want_packs packs)"
  must check
  [[ "$OUT$ERR" == *"no errors were found"* ]] || fail "check after a kill: $OUT $ERR"
  # Killed before its first index segment: its packs are there, unindexed
  # until the next backup reads the journal (check writes nothing). Those
  # of the run killed before were indexed when this one started.
  unindexed=$(grep -c 'not in any index' <<<"$OUT$ERR" || true)
  ((unindexed == new_packs)) ||
    fail "$unindexed packs unindexed after kill $kills, which stored $new_packs"
done

stored=$(pack_bytes)
((stored > 8388608)) || fail "the killed backups stored only $stored bytes"
((stored < full)) || fail "the killed runs stored everything ($stored bytes): kill earlier"
must backup --json "$src"
added=$(grep -o '"raw_bytes_added":[0-9]*' <<<"$OUT" | cut -d: -f2)
[[ -n "$added" ]] || fail "no raw_bytes_added in: $OUT"
must check --read-data
[[ "$OUT$ERR" == *"no errors were found"* ]] || fail "check after the rerun: $OUT $ERR"
# Every pack a killed run stored was journaled before its Put began, so
# the rerun indexed all of them: none is left for `cairn index rebuild`.
[[ "$OUT$ERR" != *"not in any index"* ]] || fail "packs left unindexed after the rerun"
# Every stored pack holds source data (plus ~1% of headers and tags), so
# the rerun adds only what the killed runs had not stored.
reused=$((full - added))
echo "full $full, stored by killed runs $stored, added by the rerun $added, reused $reused"
((reused * 100 >= stored * 99)) || fail "the rerun reused $reused of the $stored bytes stored"
((added * 100 <= (full - stored) * 101)) ||
  fail "the rerun added $added bytes, more than the $((full - stored)) not yet stored"
((added > 0)) || fail "the rerun added nothing although data was missing"
# The rerun indexed and cleared what the killed runs journaled.
for j in "$CAIRN_CACHE_DIR"/*/pack-journal.*; do
  (($(stat -c %s "$j") <= 8)) || fail "$j still holds records after a completed backup"
done
must restore latest --target "$SCRATCH/r"
diff -r "$src" "$SCRATCH/r$src" || fail "restore after killed backups differs"
finish
