#!/usr/bin/env bash
# bench/s3_bench.sh — cairn on S3 against the aws CLI and restic, on a
# radosgw of its own on loopback, in one run.
#
#   bench/s3_bench.sh [--scratch DIR] [--big N] [--small M] [--threads T] [--runs R]
#                     [--data DIR] [--size-gb G] [--skip-backup] [--skip-throughput]
#                     [--skip-mount] [--osd-gib G] [--cairn PATH] [--store-bench PATH]
#                     [--markdown] [--keep] [--warm]
#   bench/s3_bench.sh --table SCRATCH [--markdown]      # reprint a table
#
# 1. Starts radosgw (tests/s3/rgw.sh) with bluestore on a sparse file of
#    --osd-gib G GiB (default 40) in SCRATCH/rgw: a memstore OSD would hold
#    the data in RAM 3-4 times over and hang when full.
# 2. Throughput (warm page cache: the files are read from and written to
#    memory, so the network path is what is measured): N x 16 MiB (default
#    16) and M x 1 MiB (default 128) random files, each set
#      - uploaded and downloaded by `aws s3 cp --recursive` (Debian's awscli,
#        /usr/bin/aws, its default 10 concurrent requests, path-style);
#      - put and got by cairn's S3Store through OpenStore
#        (build/bench/cairn_store_bench, --threads T, default 8);
#    every download is checked with diff -r against the source.
#    MiB/s = bytes / wall time of the command (process start included, for
#    both tools alike); with --runs R each transfer runs R times and the
#    median counts.
# 3. Backup of the bench dataset (bench/dataset.sh; --data, --size-gb as in
#    backup_bench.sh): cairn to a local directory, cairn to
#    s3://bucket/cairn-repo, restic to s3:ENDPOINT/bucket/restic-repo (fresh
#    prefixes); page cache dropped before each (needs root; --warm does not).
# 4. Mounts of those three repositories (unless --skip-mount): `cairn mount`
#    of the local and the s3:// one, `restic mount` of restic's; each on a
#    fresh mount with an empty tool cache and the page cache dropped:
#    `find SNAP -type f | wc -l`, then, on another fresh mount,
#    `tar cf - -C SNAP . | wc -c`. Over S3 every file read is a ranged GET
#    unless read ahead, so this measures cairn's read-ahead across files.
# Prints the table (and Markdown with --markdown) with the issue's targets:
# cairn/aws >= 2 both ways, cairn s3/local <= 1.3, cairn/restic <= 0.7, and
# the mount times with the ratios cairn s3 / cairn local and cairn s3 /
# restic s3 (no target).
# Logs in SCRATCH/logs, figures in SCRATCH/results.tsv. radosgw is stopped at
# the end, also on failure or ^C.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BASE_TMP=${TMPDIR:-/var/tmp}
SCRATCH="$BASE_TMP/cairn-s3-bench"
DATA="$BASE_TMP/cairn-bench-data"
SIZE_GB=""
NBIG=16
NSMALL=128
THREADS=8
RUNS=1
OSD_GIB=40
SKIP_BACKUP=0
SKIP_THROUGHPUT=0
SKIP_MOUNT=0
CAIRN="${CAIRN_BIN:-$HERE/../build/tools/cairn}"
STORE_BENCH="$HERE/../build/bench/cairn_store_bench"
AWS=/usr/bin/aws  # Debian's awscli, not a pip one earlier on PATH
MARKDOWN=0
KEEP=0
COLD=1
TABLE_ONLY=""
BUCKET=cairn-bench

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

while (($#)); do
  case "$1" in
    --scratch) SCRATCH="${2:?}"; shift 2 ;;
    --data) DATA="${2:?}"; shift 2 ;;
    --size-gb) SIZE_GB="${2:?}"; shift 2 ;;
    --big) NBIG="${2:?}"; shift 2 ;;
    --small) NSMALL="${2:?}"; shift 2 ;;
    --threads) THREADS="${2:?}"; shift 2 ;;
    --runs) RUNS="${2:?}"; shift 2 ;;
    --osd-gib) OSD_GIB="${2:?}"; shift 2 ;;
    --skip-backup) SKIP_BACKUP=1; SKIP_MOUNT=1; shift ;;
    --skip-throughput) SKIP_THROUGHPUT=1; shift ;;
    --skip-mount) SKIP_MOUNT=1; shift ;;
    --cairn) CAIRN="${2:?}"; shift 2 ;;
    --store-bench) STORE_BENCH="${2:?}"; shift 2 ;;
    --markdown) MARKDOWN=1; shift ;;
    --keep) KEEP=1; shift ;;
    --warm) COLD=0; shift ;;
    --table) TABLE_ONLY="${2:?}"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

# ---- the table ---------------------------------------------------------------------
# results.tsv: what tool value unit status note
print_table() {  # $1 = results dir, $2 = 1 for Markdown
  awk -F'\t' -v md="$2" '
    FNR == 1 { file++ }
    file == 1 { meta[$1] = $2; next }
    { k = $1 SUBSEP $2; val[k] = $3; st[k] = $5; note[k] = $6; order[++nk] = k }
    function cell(s) { return md ? " " s " |" : sprintf("%-22s", s) }
    function line(a, n,   i, s) { s = md ? "|" : ""; for (i = 1; i <= n; i++) s = s cell(a[i]); sub(/ +$/, "", s); print s }
    function v(w, t,   k) { k = w SUBSEP t; return !(k in st) ? "-" : st[k] == "ok" ? val[k] : st[k] }
    function num(x) { return x ~ /^[0-9.]+$/ }
    function ratio(a, b) { return (num(a) && num(b) && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
    function verdict(r, op, target) {
      if (r == "-") return "-"
      return ((op == ">=" && r + 0 >= target) || (op == "<=" && r + 0 <= target)) ? "met" : "MISSED"
    }
    function row(label, a, b, op, target,   r) {  # ratio: b / a
      r = ratio(v(b[1], b[2]), v(a[1], a[2]))
      n = 0; c[++n] = label; c[++n] = v(a[1], a[2]); c[++n] = v(b[1], b[2])
      c[++n] = r; c[++n] = op " " target; c[++n] = verdict(r, op, target)
      line(c, n)
    }
    END {
      print meta["title"]
      if (md) print ""
      n = 0; h[++n] = "throughput (MiB/s)"; h[++n] = "aws s3 cp"; h[++n] = "cairn S3Store"
      h[++n] = "cairn/aws"; h[++n] = "target"; h[++n] = ""
      line(h, n)
      if (md) print "|---|---|---|---|---|---|"
      split("upload-big,download-big,upload-small,download-small", ops, ",")
      split(meta["label-big"] " upload," meta["label-big"] " download," meta["label-small"] " upload," meta["label-small"] " download", labels, ",")
      for (i = 1; i <= 4; i++) {
        a[1] = ops[i]; a[2] = "aws"; b[1] = ops[i]; b[2] = "cairn"
        row(labels[i], a, b, ">=", 2)
      }
      if (("backup" SUBSEP "cairn-local") in st || ("backup" SUBSEP "restic-s3") in st) {
        print ""
        n = 0; h[++n] = "first backup (wall s)"; h[++n] = "reference"; h[++n] = "cairn s3://"
        h[++n] = "cairn s3 / reference"; h[++n] = "target"; h[++n] = ""
        line(h, n)
        if (md) print "|---|---|---|---|---|---|"
        a[1] = "backup"; a[2] = "cairn-local"; b[1] = "backup"; b[2] = "cairn-s3"
        row("cairn local dir", a, b, "<=", 1.3)
        a[2] = "restic-s3"
        row("restic s3", a, b, "<=", 0.7)
      }
      if (("mount-tar" SUBSEP "cairn-s3") in st) {
        print ""
        n = 0; h[++n] = "mount, cold (wall s)"; h[++n] = "cairn local dir"; h[++n] = "cairn s3://"
        h[++n] = "restic s3"; h[++n] = "cairn s3 / local"; h[++n] = "cairn s3 / restic s3"
        line(h, n)
        if (md) print "|---|---|---|---|---|---|"
        split("mount-find,mount-tar", ms, ","); split("find -type f,tar (read all)", ml, ",")
        for (i = 1; i <= 2; i++) {
          l = v(ms[i], "cairn-local"); s3 = v(ms[i], "cairn-s3"); r = v(ms[i], "restic-s3")
          n = 0; c[++n] = ml[i]; c[++n] = l; c[++n] = s3; c[++n] = r
          c[++n] = ratio(s3, l); c[++n] = ratio(s3, r)
          line(c, n)
        }
      }
      print ""
      pre = md ? "- " : "  "
      for (i = 1; i <= nk; i++) if (note[order[i]] != "") { split(order[i], p, SUBSEP); print pre p[2] " " p[1] ": " note[order[i]] }
      for (k = 1; k <= 9; k++) if (("note" k) in meta) print pre meta["note" k]
    }' "$1/meta.tsv" "$1/results.tsv"
}

if [[ -n "$TABLE_ONLY" ]]; then
  show_tables "$TABLE_ONLY"
  exit 0
fi

# ---- requirements ------------------------------------------------------------------
apt_need /usr/bin/time time
apt_need "$AWS" awscli
((SKIP_BACKUP)) || apt_need restic restic
[[ -x "$STORE_BENCH" ]] ||
  die "$STORE_BENCH not found: scripts/build.sh build -DCAIRN_BUILD_BENCH=ON && ninja -C build cairn_store_bench (or --store-bench PATH)"
if ((!SKIP_BACKUP)); then
  [[ -x "$CAIRN" ]] || die "cairn binary $CAIRN not found (build it, or pass --cairn PATH)"
  check_drop_caches
fi

mkdir -p "$SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd)
LOGS="$SCRATCH/logs"
RESULTS="$SCRATCH/results.tsv"
rm -rf "$LOGS" "$SCRATCH/files" "$SCRATCH/dl" "$SCRATCH/repo-local" "$SCRATCH"/cache-*
mkdir -p "$LOGS"
: >"$RESULTS"
record() { tsv_append "$RESULTS" 6 "$@"; }  # what tool value unit status [note]

# ---- the server ----------------------------------------------------------------------
RGW="$HERE/../tests/s3/rgw.sh"
trap '"$RGW" stop "$SCRATCH/rgw" >/dev/null 2>&1 || true' EXIT
say "starting radosgw (bluestore, $OSD_GIB GiB sparse file in $SCRATCH/rgw)"
"$RGW" start "$SCRATCH/rgw" --bluestore-gib "$OSD_GIB" 2>"$LOGS/rgw-start.log" ||
  { cat "$LOGS/rgw-start.log" >&2; die "radosgw did not start"; }
# shellcheck disable=SC1091
source "$SCRATCH/rgw/env"
ENDPOINT=$CAIRN_TEST_S3_ENDPOINT
export AWS_CONFIG_FILE="$SCRATCH/aws-config" AWS_SHARED_CREDENTIALS_FILE=/dev/null
printf '[default]\nregion = %s\ns3 =\n    addressing_style = path\n' "$AWS_REGION" >"$AWS_CONFIG_FILE"
AWS_S3=("$AWS" --endpoint-url "$ENDPOINT")
"${AWS_S3[@]}" s3 mb "s3://$BUCKET" >"$LOGS/mb.log" 2>&1 || { cat "$LOGS/mb.log" >&2; die "cannot create bucket $BUCKET"; }
cairn_location() { echo "s3://$BUCKET/$1?endpoint=$ENDPOINT"; }

# timed LOG CMD...: runs CMD, output to LOGS/LOG.log; sets WALL (seconds).
timed() {
  local log=$1 tf="$LOGS/$1.time" rc=0
  shift
  /usr/bin/time -f '%e' -o "$tf" "$@" >"$LOGS/$log.log" 2>&1 || rc=$?
  WALL=$(tail -n 1 "$tf")
  if ((rc)); then
    echo "   FAILED (exit $rc), last lines of $LOGS/$log.log:" >&2
    tail -n 5 "$LOGS/$log.log" | sed 's/^/    /' >&2
  fi
  return "$rc"
}
mib_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }

# ---- throughput ----------------------------------------------------------------------
make_files() {  # DIR COUNT MIB
  mkdir -p "$1"
  local i
  for ((i = 0; i < $2; i++)); do head -c $(($3 * 1048576)) /dev/urandom >"$1/f$(printf %05d "$i")"; done
}
if ((!SKIP_THROUGHPUT)); then
say "making $NBIG x 16 MiB and $NSMALL x 1 MiB random files"
make_files "$SCRATCH/files/big" "$NBIG" 16
make_files "$SCRATCH/files/small" "$NSMALL" 1
fi

# transfer OP SET TOOL OUT CMD...: runs CMD --runs times; OUT (a download
# directory, or "" for an upload) is emptied before each run and compared
# with the source after it. Records the median wall time as MiB/s.
transfer() {
  local op=$1 set=$2 tool=$3 out=$4 src="$SCRATCH/files/$2" bytes r median note name walls=()
  shift 4
  bytes=$(du -sb --apparent-size "$src" | cut -f1)
  name="$tool-$op-$set"
  for ((r = 1; r <= RUNS; r++)); do
    say "$tool: $op $set (run $r of $RUNS)"
    [[ -z "$out" ]] || rm -rf "$out"
    if ! timed "$name" "$@"; then
      record "$op-$set" "$tool" - MiB/s FAILED "see $LOGS/$name.log"
      return 0
    fi
    if [[ -n "$out" ]] && ! diff -r "$src" "$out" >"$LOGS/$name.diff" 2>&1; then
      record "$op-$set" "$tool" - MiB/s FAILED "the download differs from the source, see $LOGS/$name.diff"
      return 0
    fi
    walls+=("$WALL")
  done
  [[ -z "$out" ]] || rm -rf "$out"
  median=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  note=""
  ((RUNS == 1)) || note="wall s of the runs: ${walls[*]}"
  [[ "$tool" != cairn ]] || note="${note:+$note; }last run: $(tail -n 1 "$LOGS/$name.log")"
  record "$op-$set" "$tool" "$(mib_s "$bytes" "$median")" MiB/s ok "$note"
}
throughput() {  # SET (big|small)
  local set=$1 src="$SCRATCH/files/$1"
  transfer upload "$set" aws "" "${AWS_S3[@]}" s3 cp --recursive --only-show-errors "$src" "s3://$BUCKET/aws/$set/"
  transfer download "$set" aws "$SCRATCH/dl/aws-$set" \
    "${AWS_S3[@]}" s3 cp --recursive --only-show-errors "s3://$BUCKET/aws/$set/" "$SCRATCH/dl/aws-$set"
  transfer upload "$set" cairn "" "$STORE_BENCH" put "$(cairn_location store)" "$src" --prefix "$set" --threads "$THREADS"
  transfer download "$set" cairn "$SCRATCH/dl/cairn-$set" \
    "$STORE_BENCH" get "$(cairn_location store)" "$SCRATCH/dl/cairn-$set" --prefix "$set" --threads "$THREADS"
}
if ((!SKIP_THROUGHPUT)); then
  throughput big
  throughput small
fi
((KEEP)) || rm -rf "$SCRATCH/files" "$SCRATCH/dl"

# ---- backup ----------------------------------------------------------------------------
if ((!SKIP_BACKUP)); then
  ensure_dataset base
  SRC="$DATA/base"
  export CAIRN_PASSWORD=cairn-bench RESTIC_PASSWORD=cairn-bench
  export RESTIC_CACHE_DIR="$SCRATCH/cache-restic"
  unset CAIRN_REPO CAIRN_PASSWORD_FILE RESTIC_REPOSITORY RESTIC_PASSWORD_FILE || true
  run_backup() {  # NAME REPO INIT-CMD... -- BACKUP-CMD...
    local name=$1 init=() backup=()
    shift
    while [[ "$1" != -- ]]; do init+=("$1"); shift; done
    shift
    backup=("$@")
    say "$name: init"
    if ! "${init[@]}" >"$LOGS/$name-init.log" 2>&1; then
      record backup "$name" - s FAILED "init failed: $(tail -n 1 "$LOGS/$name-init.log")"
      echo "   init FAILED: $(tail -n 1 "$LOGS/$name-init.log")" >&2
      return 0
    fi
    drop_caches
    say "$name: first backup of $SRC"
    if timed "$name-backup" "${backup[@]}"; then
      record backup "$name" "$WALL" s ok
      echo "   ${WALL}s" >&2
    else
      record backup "$name" - s FAILED "see $LOGS/$name-backup.log"
    fi
  }
  local_repo="$SCRATCH/repo-local"
  s3_repo=$(cairn_location "cairn-repo-$(date +%s)")
  restic_repo="s3:$ENDPOINT/$BUCKET/restic-repo-$(date +%s)"
  run_backup cairn-local "$CAIRN" -r "$local_repo" --cache-dir "$SCRATCH/cache-local" init -- \
    "$CAIRN" -r "$local_repo" --cache-dir "$SCRATCH/cache-local" backup --series bench "$SRC"
  run_backup cairn-s3 "$CAIRN" -r "$s3_repo" --cache-dir "$SCRATCH/cache-s3" init -- \
    "$CAIRN" -r "$s3_repo" --cache-dir "$SCRATCH/cache-s3" backup --series bench "$SRC"
  run_backup restic-s3 restic -r "$restic_repo" init --repository-version 2 -- \
    restic -r "$restic_repo" backup --compression auto --host cairn-bench "$SRC"

  # ---- mounts of the three repositories ----------------------------------------------
  MNT="$SCRATCH/mnt"
  MOUNT_BG=""
  unmount_all() {
    if mountpoint -q "$MNT" 2>/dev/null; then fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true; fi
    if [[ -n "$MOUNT_BG" ]]; then
      local i
      for ((i = 0; i < 200; i++)); do kill -0 "$MOUNT_BG" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$MOUNT_BG" 2>/dev/null || true
      MOUNT_BG=""
    fi
    # cairn's daemon exits when unmounted; wait for it (it holds its cache).
    local j
    for ((j = 0; j < 200; j++)); do pgrep -f "mount $MNT" >/dev/null || break; sleep 0.1; done
  }
  trap 'unmount_all; "$RGW" stop "$SCRATCH/rgw" >/dev/null 2>&1 || true' EXIT
  # mount_fresh NAME: mounts NAME's repository at MNT with an empty cache;
  # sets SNAP to the snapshot's copy of SRC.
  mount_fresh() {
    local name=$1 cache="$SCRATCH/mcache-$1" i
    rm -rf "$cache"
    mkdir -p "$MNT"
    drop_caches
    case "$name" in
      cairn-local|cairn-s3)
        local repo=$local_repo
        [[ "$name" == cairn-s3 ]] && repo=$s3_repo
        "$CAIRN" -r "$repo" --cache-dir "$cache" mount "$MNT" >"$LOGS/$name-mount.log" 2>&1 || return 1
        SNAP="$MNT/snapshots/latest$SRC" ;;
      restic-s3)
        restic -r "$restic_repo" --cache-dir "$cache" mount "$MNT" >"$LOGS/$name-mount.log" 2>&1 &
        MOUNT_BG=$!
        SNAP="$MNT/snapshots/latest$SRC" ;;
    esac
    for ((i = 0; i < 6000; i++)); do
      mountpoint -q "$MNT" && [[ -e "$MNT/snapshots/latest" ]] && return 0
      [[ -z "$MOUNT_BG" ]] || kill -0 "$MOUNT_BG" 2>/dev/null || return 1
      sleep 0.1
    done
    return 1
  }
  mount_step() {  # NAME STEP SNIPPET
    local name=$1 step=$2 snippet=$3
    if ! mount_fresh "$name"; then
      record "mount-$step" "$name" - s FAILED "mount failed, see $LOGS/$name-mount.log"
      unmount_all
      return 0
    fi
    say "$name: $step through the mount"
    if timed "$name-mount-$step" bash -o pipefail -c "$snippet" step "$SNAP"; then
      record "mount-$step" "$name" "$WALL" s ok "$step: $(tail -n 1 "$LOGS/$name-mount-$step.log" | tr -d ' ') $( [[ $step == tar ]] && echo bytes || echo files)"
      echo "   ${WALL}s" >&2
    else
      record "mount-$step" "$name" - s FAILED "see $LOGS/$name-mount-$step.log"
    fi
    unmount_all
  }
  if ((!SKIP_MOUNT)); then
    for name in cairn-local cairn-s3 restic-s3; do
      awk -F'\t' -v n="$name" '$1 == "backup" && $2 == n && $5 == "ok" { ok = 1 } END { exit !ok }' "$RESULTS" || continue
      mount_step "$name" find 'find "$1" -type f | wc -l'
      mount_step "$name" tar 'tar cf - -C "$1" . | wc -c'
    done
  fi
  ((KEEP)) || rm -rf "$local_repo" "$SCRATCH"/cache-* "$SCRATCH"/mcache-*
fi

# ---- the table -------------------------------------------------------------------------
{
  printf 'title\tS3 benchmark, %s, radosgw %s (bluestore on a sparse file) on 127.0.0.1\n' \
    "$(machine_info)" "$(radosgw --version 2>/dev/null | awk '{ print $3 }')"
  printf 'label-big\t%s x 16 MiB\n' "$NBIG"
  printf 'label-small\t%s x 1 MiB\n' "$NSMALL"
  printf 'note1\t%s; cairn: bench/cairn_store_bench, %s threads through OpenStore; page cache warm for throughput\n' \
    "$("$AWS" --version 2>&1 | cut -d' ' -f1) (default 10 concurrent requests)" "$THREADS"
  if ((!SKIP_BACKUP)); then
    ((SKIP_MOUNT)) || printf 'note4\tmounts: fresh mount, empty cache, page cache %s before each step; cairn and restic mount the whole repository\n' \
      "$( ((COLD)) && echo dropped || echo 'NOT dropped (--warm)')"
    printf 'note2\tbackup: dataset %s: %s; %s; %s; page cache %s\n' "$DATA" \
      "$(sed -n 's/^base *//p' "$DATA/dataset.info" 2>/dev/null)" "$("$CAIRN" --version 2>/dev/null | head -n 1)" \
      "$(restic version | cut -d' ' -f1-2)" "$( ((COLD)) && echo 'dropped before each backup' || echo WARM)"
  fi
  printf 'note3\tlogs in %s\n' "$LOGS"
} >"$SCRATCH/meta.tsv"

show_tables "$SCRATCH"
! awk -F'\t' '$5 == "FAILED" { bad = 1 } END { exit !bad }' "$RESULTS"
