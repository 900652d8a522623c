#!/usr/bin/env bash
# The mount benchmark's pieces that need no FUSE, no root and no peers:
# bench/manyfiles.sh (shape, determinism, reuse) and the table and targets
# that bench/mount_bench.sh --table prints from a results file.
source "$(dirname "$0")/lib.sh"
BENCH="$(cd "$(dirname "$0")/../../bench" && pwd)"

# ---- manyfiles.sh ----------------------------------------------------------------
m="$SCRATCH/many"
if ! "$BENCH/manyfiles.sh" "$m" --files 2600 --big-dir 600 >"$SCRATCH/mf.out" 2>"$SCRATCH/mf.err"; then
  fail "manyfiles.sh exited non-zero: $(tail -n 3 "$SCRATCH/mf.err")"
fi
n=$(find "$m/tree" -type f | wc -l)
[[ $n == 2600 ]] || fail "manyfiles.sh --files 2600 made $n files"
n=$(find "$m/tree/big" -mindepth 1 | wc -l)
[[ $n == 600 ]] || fail "manyfiles.sh --big-dir 600: the big directory holds $n entries"
n=$(find "$m/tree" -mindepth 2 -maxdepth 2 -type d | wc -l)
[[ $n == 2 ]] || fail "2,000 other files should fill 2 directories of 1,000, found $n"
n=$(find "$m/tree" -type f -size +2048c | wc -l)
[[ $n == 0 ]] || fail "$n files are larger than 2 KiB"
n=$(find "$m/tree" -type f -empty | wc -l)
((n > 100 && n < 420)) || fail "about 10% of 2600 files should be empty, found $n"
n=$(find "$m/tree" -type f ! -newermt @1700000001 | wc -l)
[[ $n == 2600 ]] || fail "only $n of 2600 files have mtime @1700000000"
dups=$(find "$m/tree" -type f ! -empty -exec sha256sum {} + | awk '{ print $1 }' | sort | uniq -d | wc -l)
[[ $dups == 0 ]] || fail "$dups contents occur more than once (files must not deduplicate)"
grep -q "files 2600 (one directory of 600)" "$SCRATCH/mf.out" || fail "manyfiles.sh figures: $(cat "$SCRATCH/mf.out")"

sum1=$(cd "$m/tree" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k 2 | sha256sum)
"$BENCH/manyfiles.sh" "$m" --files 2600 --big-dir 600 >/dev/null 2>"$SCRATCH/mf.err" || fail "manyfiles.sh reuse run failed"
grep -q "reusing the existing tree" "$SCRATCH/mf.err" || fail "same parameters should reuse the tree: $(cat "$SCRATCH/mf.err")"
"$BENCH/manyfiles.sh" "$m" --files 2600 --big-dir 600 --force >/dev/null 2>&1 || fail "manyfiles.sh --force failed"
sum2=$(cd "$m/tree" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k 2 | sha256sum)
[[ "$sum1" == "$sum2" ]] || fail "two builds with the same parameters differ"
if "$BENCH/manyfiles.sh" "$m" --files 10 --big-dir 20 >/dev/null 2>"$SCRATCH/mf.err"; then
  fail "--big-dir larger than --files must be refused"
fi
grep -q "must not exceed" "$SCRATCH/mf.err" || fail "--big-dir > --files: message: $(cat "$SCRATCH/mf.err")"

# ---- mount_bench.sh --table --------------------------------------------------------
# A results file as a run writes it: part tool step seconds MB/s RSS value status note.
r="$SCRATCH/results"
mkdir -p "$r"
printf 'title\tmount benchmark, test fixture\nnote1\tfixture note\n' >"$r/meta-mount.tsv"
row() { local IFS=$'\t'; echo "$*"; }
{
  row tree cairn version - - - - ok "cairn 0.1.0"
  row tree restic version - - - - ok "restic 0.14.0"
  row tree borg version - - - - ok "borg 1.2.4"
  row tree cairn find 1.00 - 40 9000 ok ""
  row tree restic find 5.00 - 70 9000 ok ""
  row tree borg find 4.00 - 80 9000 ok ""
  row tree direct find 0.50 - - 9000 ok ""
  row tree cairn tar 10.00 250.0 90 2500000000 ok ""
  row tree restic tar 50.00 50.0 200 2500000000 ok ""
  row tree borg tar 15.00 166.7 80 2500000000 ok ""
  row tree direct tar 12.50 200.0 - 2500000000 ok ""
  row tree cairn tar-warm 25.00 100.0 90 2500000000 ok ""
  row tree cairn note - - - - ok "tree: backup took 1 s"
  row big cairn big 2.00 500.0 60 1000000000 ok ""
  row big restic big - - - - FAILED "exit 2, see some.err"
  row manyfiles cairn m-tar 100.00 10.0 151 1000000000 ok ""
  row manyfiles restic m-tar 300.00 3.3 900 1000000000 ok ""
  row manyfiles cairn m-ls-warm 0.40 - 151 100000 ok ""
} >"$r/results-mount.tsv"

set +e
"$BENCH/mount_bench.sh" --table "$r" --markdown >"$SCRATCH/table.out" 2>"$SCRATCH/table.err"
RC=$?
set -e
OUT=$(cat "$SCRATCH/table.out") ERR=$(cat "$SCRATCH/table.err")
expect_rc 0 "mount_bench.sh --table"
expect_out "mount benchmark, test fixture" "title"
# cairn's rows: time ratios to restic, borg and direct.
line=$(grep -m 1 '^find -type f, cold  *cairn' <<<"$OUT" || true)
[[ "$line" =~ 0\.20\ +0\.25\ +2\.00 ]] || fail "find ratios cairn/restic 0.20, cairn/borg 0.25, cairn/direct 2.00: \"$line\""
line=$(grep -m 1 '^| tar, blob cache warm, page cache dropped | cairn |' <<<"$OUT" || true)
[[ "$line" == *"| 25.00 | 100.0 | 90 | 2500.0 MB | 0.50 | 1.67 | 2.00 |"* ]] ||
  fail "warm tar is compared with the cold tars of restic, borg and direct: \"$line\""
line=$(grep -m 1 '^| find -type f, cold | restic |' <<<"$OUT" || true)
[[ "$line" == "| find -type f, cold | restic | 5.00 | - | 70 | 9000 files |  |  |  |" ]] ||
  fail "peers' rows have no ratios: \"$line\""
expect_out "| big file read (cat), cold | restic | FAILED | - | - | - |" "a failed step shows FAILED"
expect_out "FAILED: restic big: exit 2, see some.err" "a failed step's note"
expect_out "cairn: tree: backup took 1 s" "notes"
expect_out "restic: restic 0.14.0" "versions"
# Targets: 1.00 vs the faster peer (borg, 4.00) = 0.25 ≤ 0.4; tar 0.20 × restic
# ≤ 0.4; 0.67 × borg > 0.6; warm 100 MB/s = 50% of direct's 200 < 60%;
# 500 MB/s ≥ 300; 151 MB > 150; 0.40 s ≤ 1 s.
expect_out "find cold ≤ 0.4 × the faster of restic and borg: 0.25 × (1.00 s vs 4.00 s) — met" "find target"
expect_out "tar cold ≤ 0.4 × restic: 0.20 × (10.00 s vs 50.00 s) — met" "tar target vs restic"
expect_out "tar cold ≤ 0.6 × borg: 0.67 × (10.00 s vs 15.00 s) — MISSED" "tar target vs borg"
expect_out "≥ 60% of the direct cold read: 50% (100.0 vs 200.0 MB/s) — MISSED" "warm tar target"
expect_out "big file cold ≥ 300 MB/s: 500.0 MB/s — met" "big file target"
expect_out "1M files: 151 MB (restic mount: 900 MB) — MISSED" "RSS target"
expect_out "warm, ≤ 1 s: 0.40 s — met" "ls target"
# The Markdown table follows the plain one.
expect_out "|---|---|---|---|---|---|---|---|---|" "Markdown table"

# An empty results file: every target not measured.
: >"$r/results-mount.tsv"
set +e
"$BENCH/mount_bench.sh" --table "$r" >"$SCRATCH/table.out" 2>&1
RC=$?
set -e
OUT=$(cat "$SCRATCH/table.out")
expect_rc 0 "mount_bench.sh --table on an empty results file"
n=$(grep -c 'not measured' <<<"$OUT" || true)
[[ $n == 7 ]] || fail "7 targets should be \"not measured\", found $n"

set +e
"$BENCH/mount_bench.sh" --part nosuch >"$SCRATCH/out" 2>"$SCRATCH/err"
RC=$?
set -e
ERR=$(cat "$SCRATCH/err")
expect_rc 1 "an unknown part"
expect_err "unknown part nosuch" "an unknown part"

finish
