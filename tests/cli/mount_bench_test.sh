#!/usr/bin/env bash
# bench/mount_bench.sh end to end on a tiny dataset, with real FUSE mounts of
# every tool that can run here: cairn (when `cairn mount` exists), restic and
# borg (when installed). --warm: no root needed, caches are not dropped.
# Checks that each tool sees what the direct reads see, that the big file
# reads back identical, and that no mount or daemon is left behind — also
# after a TERM in the middle of a step. Skips (passes) without /dev/fuse or
# without any tool.
source "$(dirname "$0")/lib.sh"
BENCH="$(cd "$(dirname "$0")/../../bench" && pwd)"

if [[ ! -e /dev/fuse ]] || ! command -v fusermount3 >/dev/null; then
  echo "skipped: no /dev/fuse or fusermount3"
  exit 0
fi
tools=()
"$CAIRN" mount --help 2>&1 | grep -q '^Usage:.* mount' && tools+=(cairn)
command -v restic >/dev/null && tools+=(restic)
if command -v borg >/dev/null &&
   { /usr/bin/python3 -c 'import pyfuse3' 2>/dev/null || /usr/bin/python3 -c 'import llfuse' 2>/dev/null; }; then
  tools+=(borg)
fi
if ((${#tools[@]} == 0)); then
  echo "skipped: neither cairn mount, restic nor borg (with pyfuse3) is available"
  exit 0
fi
# Whatever happens, no mount under SCRATCH survives the test (lib.sh's
# cleanup then removes SCRATCH).
CLEANUPS+=("awk -v s=\"\$SCRATCH\" 'index(\$5, s) == 1 { print \$5 }' /proc/self/mountinfo | xargs -r -n 1 fusermount3 -uz")
list=$(IFS=,; echo "${tools[*]}")
echo "tools: $list"

# A tiny dataset from a generated source (dataset.sh --source).
src="$SCRATCH/source/data"
mkdir -p "$src/a/b" "$src/c"
for i in $(seq 1 30); do head -c $((i * 1500)) /dev/urandom >"$src/a/f$i.bin"; done
for i in $(seq 1 20); do seq 1 $((i * 300)) >"$src/a/b/t$i.txt"; done
ln -s ../a/f1.bin "$src/c/link"
data="$SCRATCH/data"
"$BENCH/dataset.sh" "$data" --source "$SCRATCH/source" --size-gb 0.0005 --entries 60 \
  >"$SCRATCH/dataset.log" 2>&1 || { fail "dataset.sh failed: $(tail -n 3 "$SCRATCH/dataset.log")"; finish; }

scratch="$SCRATCH/bench"
args=(--warm --tools "$list" --manyfiles-tools "$list" --cairn "$CAIRN" --data "$data"
      --many "$SCRATCH/many" --scratch "$scratch" --big-mb 4 --files 300 --big-dir 100 --timeout 300)

no_leftovers() {  # what
  local m
  m=$(awk -v s="$SCRATCH" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo)
  [[ -z "$m" ]] || { fail "$1: mounts left behind: $m"; for x in $m; do fusermount3 -uz "$x" || true; done; }
  m=$(pgrep -f -a -- "$scratch/mount-work" || true)
  [[ -z "$m" ]] || fail "$1: processes left behind: $m"
}

set +e
"$BENCH/mount_bench.sh" "${args[@]}" >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null
RC=$?
set -e
OUT=$(cat "$SCRATCH/out") ERR=$(tail -n 30 "$SCRATCH/err")
expect_rc 0 "mount_bench.sh, all parts"
res="$scratch/results-mount.tsv"
val() { awk -F'\t' -v t="$1" -v s="$2" '$2 == t && $3 == s && $8 == "ok" { print $7 }' "$res"; }
direct_files=$(val direct find)
direct_bytes=$(val direct tar)
[[ "$direct_files" =~ ^[0-9]+$ && $direct_files -ge 50 ]] || fail "direct find counted \"$direct_files\" files"
for t in "${tools[@]}"; do
  [[ "$(val "$t" find)" == "$direct_files" ]] || fail "$t find counted $(val "$t" find), direct $direct_files"
  [[ "$(val "$t" tar)" =~ ^[0-9]+$ ]] || fail "$t tar has no byte count"
  [[ "$(val "$t" big)" == 4000000 ]] || fail "$t read $(val "$t" big) bytes of the 4 MB file"
  [[ "$(val "$t" m-find)" == 300 ]] || fail "$t manyfiles find counted $(val "$t" m-find), want 300"
  for s in m-ls-first m-ls-warm m-ls-remount; do
    [[ "$(val "$t" "$s")" == 100 ]] || fail "$t $s listed $(val "$t" "$s") entries, want 100"
  done
  rss=$(awk -F'\t' -v t="$t" '$2 == t && $3 == "m-tar" { print $6 }' "$res")
  [[ "$rss" =~ ^[0-9]+$ && $rss -gt 0 ]] || fail "$t: no daemon RSS for the manyfiles tar (\"$rss\")"
done
[[ "$(val direct tar)" == "$direct_bytes" ]] || fail "direct tar"
if printf "%s\n" "${tools[@]}" | grep -qx cairn; then
  for s in tar-fill tar-warm; do
    [[ "$(val cairn "$s")" == "$(val cairn tar)" ]] || fail "cairn $s read $(val cairn "$s") bytes, the cold tar $(val cairn tar)"
  done
  # The warm tar's blob cache holds the blobs (the bytes read, less compression).
  note=$(awk -F'\t' '$2 == "cairn" && $9 ~ /blob cache/ { print $9 }' "$res")
  [[ "$note" =~ after\ the\ warm\ tar:\ ([0-9.]+)\ MB ]] && [[ "${BASH_REMATCH[1]}" != 0.0 ]] ||
    fail "no blob cache filled for the warm tar: \"$note\""
fi
grep -q $'\tFAILED\t' "$res" && fail "FAILED rows: $(grep $'\tFAILED\t' "$res")"
expect_out "Targets (issue 4):" "the table's targets"
no_leftovers "after a complete run"

# TERM while a tool's mount is up and a step runs: the trap unmounts.
set +e
"$BENCH/mount_bench.sh" "${args[@]}" --part tree >"$SCRATCH/out2" 2>"$SCRATCH/err2" </dev/null &
pid=$!
set -e
# Wait until a step runs on a mount that is up (not while a mount command is
# still starting, where the TERM would race the daemon's start).
for ((i = 0; i < 600; i++)); do
  awk -v s="$scratch/mount-work/mnt-" 'index($5, s) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo &&
    grep -qE '^== [a-z]+: (find|tar)$' "$SCRATCH/err2" && break
  sleep 0.1
done
((i < 600)) || fail "no mount appeared within 60 s"
kill -TERM "$pid"
set +e
wait "$pid"
RC=$?
set -e
[[ $RC == 143 ]] || fail "a TERMed run should exit 143, got $RC"
no_leftovers "after TERM"

finish
