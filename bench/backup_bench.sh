#!/usr/bin/env bash
# bench/backup_bench.sh — cairn vs restic vs borg: first backup, incremental
# backup, full restore and repository size, on the same dataset in one run.
#
#   bench/backup_bench.sh [--data DIR] [--scratch DIR] [--tools cairn,restic,borg]
#                         [--size-gb G] [--cairn PATH] [--markdown] [--keep] [--warm]
#   bench/backup_bench.sh --table RESULTS_DIR [--markdown]   # reprint a table
#
# For each tool, one after the other:
#   1. SCRATCH/src := a fresh copy of DATA/base (cp -a); a fresh repository
#      SCRATCH/repo-TOOL and cache SCRATCH/cache-TOOL;
#   2. cold first backup of SCRATCH/src;
#   3. rsync -aH --delete DATA/modified/ SCRATCH/src/: SCRATCH/src becomes the
#      modified tree in place; unchanged files keep their inode, ctime and
#      mtime, changed files are replaced, deleted files go, new files appear;
#   4. cold incremental backup of SCRATCH/src (same path, so the tool finds
#      its parent snapshot / files cache and skips the unchanged files);
#   5. cold full restore of the latest snapshot into an empty
#      SCRATCH/restore-TOOL, verified against SCRATCH/src with
#      `diff -r --no-dereference` (names, contents, symlink targets: a
#      difference makes the run FAILED) and a metadata manifest (type, mode,
#      owner, mtime: differences are counted and shown);
#   6. repository size: du -sb SCRATCH/repo-TOOL.
# "Cold" = `sync; echo 3 > /proc/sys/vm/drop_caches` just before the step
# (needs root; --warm skips it and the table says so).
#
# Why not swap base and modified under one path (bind mount or rename)?
# modified/ is a separate copy of base/, so every file in it has another inode
# and ctime; restic, borg and cairn all compare inode and ctime, and would
# re-read every file (restic reports "0 unmodified"). Changing the tree in
# place is what a real incremental backup sees.
#
# Each step runs under /usr/bin/time -f '%e %U %S %M': wall seconds,
# user+system CPU seconds, peak RSS. Settings, like with like:
#   restic: repository version 2, --compression auto (zstd), always encrypted
#   borg:   init -e repokey-blake2, create --compression zstd,3
#   cairn:  defaults (zstd 3, AES-256-GCM, always encrypted), --series bench
# Output: progress on stderr, the table on stdout (plus Markdown with
# --markdown); logs and results.tsv in SCRATCH/logs, SCRATCH/results.tsv.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BASE_TMP=${TMPDIR:-/var/tmp}
DATA="$BASE_TMP/cairn-bench-data"
SCRATCH="$BASE_TMP/cairn-bench"
TOOLS="cairn,restic,borg"
SIZE_GB=""                      # set: (re)build the dataset with this size
CAIRN="${CAIRN_BIN:-$HERE/../build/tools/cairn}"
MARKDOWN=0
KEEP=0
COLD=1
TABLE_ONLY=""

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

while (($#)); do
  case "$1" in
    --data) DATA="${2:?}"; shift 2 ;;
    --scratch) SCRATCH="${2:?}"; shift 2 ;;
    --tools) TOOLS="${2:?}"; shift 2 ;;
    --size-gb) SIZE_GB="${2:?}"; shift 2 ;;
    --cairn) CAIRN="${2:?}"; shift 2 ;;
    --markdown) MARKDOWN=1; shift ;;
    --keep) KEEP=1; shift ;;
    --warm) COLD=0; shift ;;
    --table) TABLE_ONLY="${2:?}"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
for t in "${TOOL_LIST[@]}"; do
  case "$t" in cairn|restic|borg) ;; *) die "unknown tool $t (cairn, restic, borg)" ;; esac
done

# ---- the table ---------------------------------------------------------------
# results.tsv: tool step wall_s cpu_s rss_mb size_mb status note
# Rows of the table are (step, metric); columns are the tools, then the ratios
# cairn/restic and cairn/borg (a ratio < 1 means cairn is faster/smaller).
print_table() {  # $1 = results dir, $2 = 1 for Markdown
  local dir=$1 md=$2
  awk -F'\t' -v md="$md" -v toolorder="$(cat "$dir/tools")" '
    FNR == 1 { file++ }
    file == 1 { meta[$1] = $2; next }                   # meta.tsv: key value
    file == 2 {                                         # results.tsv
      k = $1 SUBSEP $2
      wall[k] = $3; cpu[k] = $4; rss[k] = $5; size[k] = $6; status[k] = $7; note[k] = $8
      next
    }
    function cell(s) { return md ? " " s " |" : sprintf("%-15s", s) }
    function line(a, n,   i, s) { s = md ? "|" : ""; for (i = 1; i <= n; i++) s = s cell(a[i]); sub(/ +$/, "", s); print s }
    function num(x) { return x ~ /^[0-9.]+$/ }
    function ratio(a, b) { return (num(a) && num(b) && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
    function value(t, st, m,   k) {
      k = t SUBSEP st
      if (!(k in status)) return (t in skipped) ? "skipped" : "-"
      if (status[k] != "ok") return status[k]
      return m == "wall" ? wall[k] : m == "cpu" ? cpu[k] : m == "rss" ? rss[k] : size[k]
    }
    END {
      nt = split(toolorder, tools, ",")
      for (i = 1; i <= nt; i++) if (status[tools[i] SUBSEP "skip"] != "") skipped[tools[i]] = 1
      n = 0; h[++n] = "step"; h[++n] = "metric"
      for (i = 1; i <= nt; i++) h[++n] = tools[i]
      h[++n] = "cairn/restic"; h[++n] = "cairn/borg"
      print meta["title"]
      if (md) print ""
      line(h, n)
      if (md) { s = "|"; for (i = 1; i <= n; i++) s = s "---|"; print s }
      split("first backup,incremental,restore", stepname, ",")
      split("first,incremental,restore", steps, ",")
      split("wall s,CPU s,peak RSS MB", mname, ",")
      split("wall,cpu,rss", metrics, ",")
      for (si = 1; si <= 3; si++) for (mi = 1; mi <= 3; mi++) {
        n = 0; r[++n] = stepname[si]; r[++n] = mname[mi]
        for (i = 1; i <= nt; i++) r[++n] = value(tools[i], steps[si], metrics[mi])
        r[++n] = ratio(value("cairn", steps[si], metrics[mi]), value("restic", steps[si], metrics[mi]))
        r[++n] = ratio(value("cairn", steps[si], metrics[mi]), value("borg", steps[si], metrics[mi]))
        line(r, n)
      }
      n = 0; r[++n] = "repo size"; r[++n] = "MB (du -sb)"
      for (i = 1; i <= nt; i++) r[++n] = value(tools[i], "size", "size")
      r[++n] = ratio(value("cairn", "size", "size"), value("restic", "size", "size"))
      r[++n] = ratio(value("cairn", "size", "size"), value("borg", "size", "size"))
      line(r, n)
      n = 0; r[++n] = "restore check"; r[++n] = "diff -r"
      for (i = 1; i <= nt; i++) {
        k = tools[i] SUBSEP "verify"
        r[++n] = (k in status) ? status[k] : (tools[i] in skipped) ? "skipped" : "-"
      }
      r[++n] = ""; r[++n] = ""
      line(r, n)
      print ""
      pre = md ? "- " : "  "
      for (i = 1; i <= nt; i++) {
        t = tools[i]
        if (t in skipped) { print pre t ": " note[t SUBSEP "skip"]; continue }
        if (note[t SUBSEP "version"] != "") print pre t ": " note[t SUBSEP "version"]
        if (note[t SUBSEP "incremental-note"] != "") print pre t " incremental: " note[t SUBSEP "incremental-note"]
        if (note[t SUBSEP "verify"] != "")
          print pre (status[t SUBSEP "verify"] == "FAILED" ? "FAILED: " : "") t " restore: " note[t SUBSEP "verify"]
        for (k = 1; k <= 3; k++) if (status[t SUBSEP steps[k]] == "FAILED")
          print pre "FAILED: " t " " stepname[k] ": " note[t SUBSEP steps[k]]
      }
      for (k = 1; ("note" k) in meta; k++) print pre meta["note" k]
    }' "$dir/meta.tsv" "$dir/results.tsv"
}

if [[ -n "$TABLE_ONLY" ]]; then
  show_tables "$TABLE_ONLY"
  exit 0
fi

# ---- requirements --------------------------------------------------------------
apt_need /usr/bin/time time
apt_need rsync rsync
apt_need diff diffutils
for t in "${TOOL_LIST[@]}"; do
  case "$t" in restic) apt_need restic restic ;; borg) apt_need borg borgbackup ;; esac
done

check_drop_caches

# ---- dataset -----------------------------------------------------------------
ensure_dataset base modified
DATA=$(cd "$DATA" && pwd)

mkdir -p "$SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd)
case "$SCRATCH/" in "$DATA/"*) die "--scratch must not be inside --data" ;; esac
SRC="$SCRATCH/src"
LOGS="$SCRATCH/logs"
RESULTS="$SCRATCH/results.tsv"
rm -rf "$LOGS"
mkdir -p "$LOGS"
: >"$RESULTS"
echo "$TOOLS" >"$SCRATCH/tools"

# Every tool gets a password and a private cache/config dir in SCRATCH; no
# prompt may block.
export CAIRN_PASSWORD=cairn-bench RESTIC_PASSWORD=cairn-bench BORG_PASSPHRASE=cairn-bench
export CAIRN_CACHE_DIR="$SCRATCH/cache-cairn" RESTIC_CACHE_DIR="$SCRATCH/cache-restic"
export BORG_BASE_DIR="$SCRATCH/cache-borg" BORG_DISPLAY_PASSPHRASE=no
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
unset RESTIC_REPOSITORY RESTIC_PASSWORD_FILE BORG_REPO CAIRN_REPO CAIRN_PASSWORD_FILE || true

record() { tsv_append "$RESULTS" 8 "$@"; }  # tool step wall cpu rss_mb size_mb status [note]

# measure TOOL STEP CMD...: drop caches, run CMD under /usr/bin/time, log its
# output to LOGS/TOOL-STEP.log and record wall, CPU and peak RSS. Returns the
# command's status (a failure is recorded as FAILED).
measure() {
  local tool=$1 step=$2 tf rc=0 wall user sys rss
  shift 2
  tf="$LOGS/$tool-$step.time"
  drop_caches
  say "$tool: $step"
  # The step is a shell function (exported below): bash -c runs it; peak RSS
  # is that of the largest process, i.e. the tool's own.
  /usr/bin/time -f '%e %U %S %M' -o "$tf" bash -c '"$@"' step "$@" >"$LOGS/$tool-$step.log" 2>&1 || rc=$?
  if ((rc)); then
    echo "$tool $step FAILED (exit $rc); last lines of $LOGS/$tool-$step.log:" >&2
    tail -n 5 "$LOGS/$tool-$step.log" | sed 's/^/    /' >&2
    record "$tool" "$step" - - - - FAILED "exit $rc, see $LOGS/$tool-$step.log"
    return "$rc"
  fi
  read -r wall user sys rss < <(tail -n 1 "$tf")
  record "$tool" "$step" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" \
    "$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')" - ok
  echo "   ${wall}s wall, ${user}+${sys}s CPU, $((rss / 1024)) MB peak RSS" >&2
}

# ---- the tools -----------------------------------------------------------------
# Each defines TOOL_init REPO, TOOL_backup REPO NAME (timed by the caller),
# TOOL_restore REPO TARGET, TOOL_incremental_note LOG, TOOL_version.
cairn_version() { "$CAIRN" --version 2>/dev/null | head -n 1 || echo "cairn ($CAIRN)"; }
cairn_init() { "$CAIRN" -r "$1" --cache-dir "$CAIRN_CACHE_DIR" init; }
cairn_backup() { "$CAIRN" -r "$1" --cache-dir "$CAIRN_CACHE_DIR" backup --series bench "$SRC"; }
cairn_restore() {
  # The id of the last snapshot: "snapshot ID saved", or a line that is only an id.
  local id
  id=$(sed -n 's/^snapshot \([0-9a-f]\{8,\}\) saved.*/\1/p; s/^\([0-9a-f]\{8,64\}\)$/\1/p' \
    "$LOGS/cairn-incremental.log" | tail -n 1)
  "$CAIRN" -r "$1" --cache-dir "$CAIRN_CACHE_DIR" restore "${id:-latest}" --target "$2"
}
cairn_incremental_note() { grep -m 1 -E '^Files:' "$1" | tr -s ' ' || true; }
cairn_after() {
  "$CAIRN" -r "$1" --cache-dir "$CAIRN_CACHE_DIR" snapshots --json >"$LOGS/cairn-snapshots.json" 2>&1 || true
  "$CAIRN" -r "$1" --cache-dir "$CAIRN_CACHE_DIR" stats --json >"$LOGS/cairn-stats.json" 2>&1 || true
}

restic_version() { restic version | head -n 1; }
restic_init() { restic -r "$1" init --repository-version 2; }
# --host keeps the parent lookup independent of the machine's name.
restic_backup() { restic -r "$1" backup --compression auto --host cairn-bench "$SRC"; }
restic_restore() { restic -r "$1" restore latest --host cairn-bench --path "$SRC" --target "$2"; }
restic_incremental_note() { grep -m 1 -E '^Files:' "$1" | tr -s ' ' || true; }
restic_after() { restic -r "$1" stats --mode raw-data >"$LOGS/restic-stats.log" 2>&1 || true; }

borg_version() { borg --version; }
borg_init() { borg init -e repokey-blake2 "$1"; }
# --list --filter=AME prints only added/modified/error files, so a file that
# borg's files cache finds unchanged ('U') costs no output.
borg_backup() { borg create --stats --list --filter=AME --compression zstd,3 "$1::$2" "$SRC"; }
borg_restore() { (cd "$2" && borg extract "$1::modified"); }
borg_incremental_note() {
  awk '/^A /{a++} /^M /{m++} /^E /{e++} /^Number of files:/{n=$4}
       END { printf "Files: %d added, %d modified, %d unchanged (files cache), %d errors\n", a, m, n - a - m, e }' "$1"
}
borg_after() { borg info "$1" >"$LOGS/borg-info.log" 2>&1 || true; }

export SRC LOGS CAIRN
export -f cairn_init cairn_backup cairn_restore restic_init restic_backup restic_restore \
  borg_init borg_backup borg_restore

# find_restored_root TARGET: where SRC landed in the restore. restic and borg
# recreate the absolute path below the target; a tool may also restore the
# directory itself or its contents.
find_restored_root() {
  local t=$1
  if [[ -d "$t$SRC" ]]; then echo "$t$SRC"
  elif [[ -d "$t/$(basename "$SRC")" ]]; then echo "$t/$(basename "$SRC")"
  else echo "$t"
  fi
}

# manifest ROOT: one line per entry below ROOT: path, type, mode, owner,
# mtime, symlink target (no size for directories: it depends on the fs).
manifest() {
  (cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%m\t%u:%g\t%T@\t%l\t%s\n') |
    awk -F'\t' 'BEGIN { OFS = "\t" } $2 == "d" { $7 = "" } { print }' | LC_ALL=C sort
}

verify_restore() {  # tool target
  local tool=$1 root ndiff nmeta
  root=$(find_restored_root "$2")
  if diff -r --no-dereference "$SRC" "$root" >"$LOGS/$tool-diff.log" 2>&1; then
    manifest "$SRC" >"$LOGS/$tool-manifest-src.tsv"
    manifest "$root" >"$LOGS/$tool-manifest-restore.tsv"
    nmeta=$(diff "$LOGS/$tool-manifest-src.tsv" "$LOGS/$tool-manifest-restore.tsv" |
      grep -c '^>' || true)
    if ((nmeta)); then
      record "$tool" verify - - - - "ok, $nmeta meta" "contents identical; metadata (mode/owner/mtime) differs for $nmeta entries, see $LOGS/$tool-meta.diff"
      diff "$LOGS/$tool-manifest-src.tsv" "$LOGS/$tool-manifest-restore.tsv" >"$LOGS/$tool-meta.diff" || true
      echo "   restore: contents identical, metadata differs for $nmeta entries" >&2
    else
      record "$tool" verify - - - - ok "identical: contents and metadata of all $(wc -l <"$LOGS/$tool-manifest-src.tsv") entries"
      echo "   restore: identical" >&2
    fi
  else
    ndiff=$(wc -l <"$LOGS/$tool-diff.log")
    record "$tool" verify - - - - FAILED "differs from the source: $ndiff lines in $LOGS/$tool-diff.log"
    echo "$tool restore FAILED: differs from the source ($LOGS/$tool-diff.log):" >&2
    head -n 5 "$LOGS/$tool-diff.log" | sed 's/^/    /' >&2
  fi
}

run_tool() {
  local tool=$1 repo="$SCRATCH/repo-$1" out="$SCRATCH/restore-$1" cache note
  case "$tool" in cairn) cache=$CAIRN_CACHE_DIR ;; restic) cache=$RESTIC_CACHE_DIR ;; borg) cache=$BORG_BASE_DIR ;; esac
  say "$tool: preparing $SRC, $repo"
  rm -rf "$SRC" "$repo" "$out" "$cache"
  cp -a --reflink=auto "$DATA/base" "$SRC"
  record "$tool" version - - - - ok "$("${tool}_version" 2>&1 | head -n 1)"
  if ! "${tool}_init" "$repo" >"$LOGS/$tool-init.log" 2>&1; then
    record "$tool" first - - - - FAILED "init failed, see $LOGS/$tool-init.log"
    echo "$tool init FAILED:" >&2; tail -n 5 "$LOGS/$tool-init.log" >&2
    return 0
  fi

  measure "$tool" first "${tool}_backup" "$repo" base || return 0

  say "$tool: turning $SRC into the modified tree (rsync, untimed)"
  rsync -aH --delete "$DATA/modified/" "$SRC/"

  measure "$tool" incremental "${tool}_backup" "$repo" modified || return 0
  note=$("${tool}_incremental_note" "$LOGS/$tool-incremental.log")
  [[ -z "$note" ]] || { record "$tool" incremental-note - - - - ok "$note"; echo "   $note" >&2; }

  mkdir -p "$out"
  if measure "$tool" restore "${tool}_restore" "$repo" "$out"; then
    verify_restore "$tool" "$out"
  else
    record "$tool" verify - - - - FAILED "restore failed"
  fi

  record "$tool" size - - - "$(du -sb "$repo" | awk '{ printf "%.1f", $1 / 1e6 }')" ok
  "${tool}_after" "$repo"
  if ((!KEEP)); then rm -rf "$out" "$repo" "$cache"; fi
}

# ---- run -----------------------------------------------------------------------
{
  base_info=$(sed -n 's/^base *//p' "$DATA/dataset.info")
  printf 'title\tbackup benchmark, %s, page cache %s\n' \
    "$(machine_info)" "$( ((COLD)) && echo 'dropped before each step' || echo 'WARM (not dropped)')"
  printf 'note1\tdataset %s: base %s\n' "$DATA" "$base_info"
  printf 'note2\t%s\n' "$(grep '^changes' "$DATA/dataset.info")"
  printf 'note3\tsizes in MB = 10^6 bytes; ratio < 1: cairn is faster / smaller; logs in %s\n' "$LOGS"
} >"$SCRATCH/meta.tsv"

for tool in "${TOOL_LIST[@]}"; do
  if [[ "$tool" == cairn && ! -x "$CAIRN" ]]; then
    echo "cairn: binary $CAIRN not found: skipping cairn (build it, or pass --cairn PATH)" >&2
    record cairn skip - - - - skipped "skipped: binary $CAIRN not found"
    continue
  fi
  run_tool "$tool"
done
if ((!KEEP)); then rm -rf "$SRC"; fi

show_tables "$SCRATCH"
# A failed step or restore makes the whole run fail.
! awk -F'\t' '$7 == "FAILED" { bad = 1 } END { exit !bad }' "$RESULTS"
