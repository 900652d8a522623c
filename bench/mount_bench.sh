#!/usr/bin/env bash
# bench/mount_bench.sh — cairn mount vs restic mount vs borg mount vs reading
# the source tree directly: walking, reading everything, one large file, and
# a 1,000,000-file snapshot's memory and listing speed, in one run.
#
#   bench/mount_bench.sh [--part tree,big,manyfiles] [--tools cairn,restic,borg]
#                        [--data DIR] [--many DIR] [--scratch DIR] [--size-gb G]
#                        [--big-mb 1000] [--files 1000000] [--big-dir 100000]
#                        [--manyfiles-tools cairn,restic] [--cairn PATH]
#                        [--timeout S] [--warm-cache-size 8G] [--markdown]
#                        [--keep] [--reuse] [--warm]
#   bench/mount_bench.sh --table SCRATCH [--markdown]      # reprint the table
#
# Parts (each selectable with --part; a run replaces only its parts' rows in
# SCRATCH/results-mount.tsv, so `--part manyfiles` can run on its own later):
#   tree       DATA/base of bench/dataset.sh (2.5 GB, 100,000 entries), backed
#              up by each tool into its own local-directory repository. Per
#              tool, each on a fresh mount with an empty tool cache and the
#              page cache dropped: `find SNAP -type f | wc -l`, then
#              `tar cf - -C SNAP . | wc -c`; for cairn twice more with a
#              blob cache (--cache-size --warm-cache-size, default 8G: a
#              local repository has none by default): a cold tar that fills
#              it, then one after a remount with the page cache dropped.
#              "direct": the same find and tar on DATA/base, cold.
#   big        one generated file of --big-mb MB (3/4 incompressible, 1/4
#              compressible text-like hex) in DATA/bigfile, a small repository
#              per tool; `cat FILE | wc -c` from a fresh mount, cold, then an
#              untimed `cmp` against the source; "direct" reads the source.
#   manyfiles  bench/manyfiles.sh's tree in MANY (1,000,000 files, one
#              directory of 100,000), backed up by --manyfiles-tools (default
#              cairn and restic; borg is slow on 1M files). One mount per tool:
#              find and tar (cold) while the daemon's RSS is sampled; `ls -l`
#              of the 100k directory first, again (warm), and after a remount
#              (tool cache kept, page cache dropped).
# SNAP is MNT/snapshots/latest/<absolute path> for cairn and restic, and
# MNT/bench/<absolute path> for borg. Every tool mounts the whole repository
# (borg loads an archive's metadata when its directory is first looked up;
# `borg mount REPO::ARCHIVE` would load it before the mount is ready).
#
# Mounts: `cairn -r REPO mount MNT` returns when ready (daemon in the
# background); `restic mount` and `borg mount -f` stay in the foreground and
# are started in the background here; all are waited for with `mountpoint`.
# The daemon is the process whose command line holds "mount" and MNT; its
# peak RSS is max(VmHWM, VmRSS sampled every 0.1 s) from /proc/PID/status,
# i.e. the peak since that mount started. Unmount: `cairn umount MNT` or
# `fusermount3 -u MNT`, then TERM/KILL and `fusermount3 -uz` if the daemon
# does not exit; an EXIT/INT/TERM trap does the same for every mount left.
#
# Output: progress on stderr; the table (rows: step × tool; columns: seconds,
# MB/s, peak RSS MB, files or bytes, and in cairn's rows the time ratios
# cairn/restic, cairn/borg, cairn/direct: < 1 means cairn is faster) and the
# targets of issue 4 on stdout, again as Markdown with --markdown; raw figures
# in SCRATCH/results-mount.tsv, every command's output in SCRATCH/logs-mount/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE_TMP=${TMPDIR:-/var/tmp}
DATA="$BASE_TMP/cairn-bench-data"
MANY="$BASE_TMP/cairn-bench-manyfiles"
SCRATCH="$BASE_TMP/cairn-bench"
TOOLS="cairn,restic,borg"
PARTS="tree,big,manyfiles"
MF_TOOLS="cairn,restic"
SIZE_GB=""                      # set: (re)build the dataset with this size
BIG_MB=1000
MF_FILES=1000000
MF_BIG_DIR=100000
CAIRN="${CAIRN_BIN:-$HERE/../build/tools/cairn}"
STEP_TIMEOUT=3600
WARM_CACHE_SIZE=8G
CAIRN_MOUNT_ARGS=()             # extra `cairn mount` options (the blob cache steps)
MARKDOWN=0
KEEP=0
REUSE=0
COLD=1
TABLE_ONLY=""

usage() { sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "mount_bench.sh: error: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

while (($#)); do
  case "$1" in
    --part|--parts) PARTS="${2:?}"; shift 2 ;;
    --tools) TOOLS="${2:?}"; shift 2 ;;
    --data) DATA="${2:?}"; shift 2 ;;
    --many) MANY="${2:?}"; shift 2 ;;
    --scratch) SCRATCH="${2:?}"; shift 2 ;;
    --size-gb) SIZE_GB="${2:?}"; shift 2 ;;
    --big-mb) BIG_MB="${2:?}"; shift 2 ;;
    --files) MF_FILES="${2:?}"; shift 2 ;;
    --big-dir) MF_BIG_DIR="${2:?}"; shift 2 ;;
    --manyfiles-tools) MF_TOOLS="${2:?}"; shift 2 ;;
    --cairn) CAIRN="${2:?}"; shift 2 ;;
    --timeout) STEP_TIMEOUT="${2:?}"; shift 2 ;;
    --warm-cache-size) WARM_CACHE_SIZE="${2:?}"; shift 2 ;;
    --markdown) MARKDOWN=1; shift ;;
    --keep) KEEP=1; shift ;;
    --reuse) REUSE=1; KEEP=1; shift ;;
    --warm) COLD=0; shift ;;
    --table) TABLE_ONLY="${2:?}"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
IFS=, read -r -a PART_LIST <<<"$PARTS"
IFS=, read -r -a MF_TOOL_LIST <<<"$MF_TOOLS"
for t in "${TOOL_LIST[@]}" "${MF_TOOL_LIST[@]}"; do
  case "$t" in cairn|restic|borg) ;; *) die "unknown tool $t (cairn, restic, borg)" ;; esac
done
for p in "${PART_LIST[@]}"; do
  case "$p" in tree|big|manyfiles) ;; *) die "unknown part $p (tree, big, manyfiles)" ;; esac
done
[[ "$BIG_MB" =~ ^[0-9]+$ && "$BIG_MB" -ge 4 ]] || die "--big-mb takes a whole number ≥ 4"
[[ "$STEP_TIMEOUT" =~ ^[0-9]+$ ]] || die "--timeout takes whole seconds"
has() { local x=$1; shift; local y; for y in "$@"; do [[ "$y" == "$x" ]] && return 0; done; return 1; }

# ---- the table ---------------------------------------------------------------
# results-mount.tsv: part tool step seconds mbps rss_mb value status note
#   value: files counted (find), bytes read (tar, cat), entries (ls -l);
#   tool "direct" is the source tree read from disk.
# meta-mount.tsv: key value (title, notes per part).
print_table() {  # $1 = scratch dir, $2 = 1 for Markdown
  local dir=$1 md=$2
  awk -F'\t' -v md="$md" -f "$HERE/mount_table.awk" "$dir/meta-mount.tsv" "$dir/results-mount.tsv"
}

if [[ -n "$TABLE_ONLY" ]]; then
  [[ -f "$TABLE_ONLY/results-mount.tsv" ]] || die "no results-mount.tsv in $TABLE_ONLY"
  print_table "$TABLE_ONLY" 0
  if ((MARKDOWN)); then echo; print_table "$TABLE_ONLY" 1; fi
  exit 0
fi

# ---- requirements --------------------------------------------------------------
apt_need() {  # CMD PACKAGE: install the Debian package when the command is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  [[ $(id -u) -eq 0 ]] || die "$1 is missing: apt-get install $2 (or scripts/install-deps.sh --bench)"
  say "installing $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2
}
apt_need fusermount3 fuse3
apt_need mountpoint util-linux
apt_need timeout coreutils
apt_need openssl openssl
has restic "${TOOL_LIST[@]}" && apt_need restic restic
if has borg "${TOOL_LIST[@]}"; then
  apt_need borg borgbackup
  # borg mount needs a FUSE binding, which borgbackup only recommends.
  /usr/bin/python3 -c 'import pyfuse3' 2>/dev/null || /usr/bin/python3 -c 'import llfuse' 2>/dev/null || {
    [[ $(id -u) -eq 0 ]] || die "borg mount needs python3-pyfuse3: apt-get install python3-pyfuse3"
    say "installing python3-pyfuse3 (for borg mount)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pyfuse3 >&2
  }
fi
[[ -e /dev/fuse ]] || die "/dev/fuse is missing: FUSE mounts are impossible here"

drop_caches() {
  ((COLD)) || return 0
  sync
  echo 3 >/proc/sys/vm/drop_caches
}
if ((COLD)); then
  { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null ||
    die "cannot drop the page cache (needs root and a writable /proc/sys/vm); --warm runs without"
fi

# cairn runs only when the binary exists and knows `mount`.
CAIRN_SKIP=""
if has cairn "${TOOL_LIST[@]}"; then
  if [[ ! -x "$CAIRN" ]]; then
    CAIRN_SKIP="skipped: binary $CAIRN not found (build it, or pass --cairn PATH)"
  elif ! "$CAIRN" mount --help 2>&1 | grep -q '^Usage:.* mount'; then
    CAIRN_SKIP="skipped: $CAIRN has no mount command yet (\`cairn mount --help\` shows no mount usage)"
  fi
  [[ -z "$CAIRN_SKIP" ]] || echo "cairn: $CAIRN_SKIP" >&2
  [[ -z "$CAIRN_SKIP" ]] && CAIRN=$(cd "$(dirname "$CAIRN")" && pwd)/$(basename "$CAIRN")
fi

# ---- scratch, logs, results ----------------------------------------------------
mkdir -p "$SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd)
WORK="$SCRATCH/mount-work"          # repositories, caches, mount points
LOGS="$SCRATCH/logs-mount"
RESULTS="$SCRATCH/results-mount.tsv"
[[ "$WORK" != *[[:space:]]* ]] || die "--scratch must not contain spaces (mount points are matched in /proc/self/mountinfo)"
mkdir -p "$WORK" "$LOGS"
touch "$RESULTS"
# Keep the rows of the parts and tools not run now ("direct" and "all" rows
# of a part run now are measured again), so `--part manyfiles` or `--tools
# cairn` adds to an earlier run's table.
awk -F'\t' -v parts=",$PARTS," -v tools=",$TOOLS,direct,all," \
  '!(index(parts, "," $1 ",") && index(tools, "," $2 ","))' "$RESULTS" >"$RESULTS.new"
mv "$RESULTS.new" "$RESULTS"
# Tools whose rows of these parts stay from an earlier run: the table says so.
KEPT=$(awk -F'\t' -v parts=",$PARTS," 'index(parts, "," $1 ",") && !seen[$2]++ { printf "%s%s", n++ ? ", " : "", $2 }' "$RESULTS")
for p in "${PART_LIST[@]}"; do
  for t in "${TOOL_LIST[@]}" direct; do rm -f "$LOGS/$p-$t-"*; done
done

export CAIRN_PASSWORD=cairn-bench RESTIC_PASSWORD=cairn-bench BORG_PASSPHRASE=cairn-bench
export BORG_BASE_DIR="$WORK/borg-base" BORG_DISPLAY_PASSPHRASE=no
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
unset RESTIC_REPOSITORY RESTIC_PASSWORD_FILE RESTIC_CACHE_DIR BORG_REPO CAIRN_REPO \
  CAIRN_PASSWORD_FILE CAIRN_CACHE_DIR || true

PART=""                              # the part running now, for record()
record() {  # tool step seconds mbps rss_mb value status [note]
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$PART" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "${8:-}" >>"$RESULTS"
}

# ---- mounts: start, wait, find the daemon, stop, and never leave one behind ----
declare -A MOUNTED=()                # MNT -> daemon pid
SAMPLER=""
CHILD=""

# run_child CMD...: run CMD in the background and wait for it, so that a
# TERM or INT sent to this script runs the trap at once (bash defers traps
# until a foreground command ends) and the trap can stop CMD.
run_child() {
  local rc=0
  "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}
kill_tree() {  # pid: TERM it and all its descendants (children first)
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
  kill "$1" 2>/dev/null || true
}

cleanup() {
  # A cleanup runs to its end whatever fails in it: under set -e, the
  # pids+=($(pgrep ...)) below returned pgrep's 1 when the step had no
  # children left, ending the trap with status 1 before any unmount.
  set +e
  local m pid i p pids=()
  if [[ -n "$SAMPLER" ]]; then kill "$SAMPLER" 2>/dev/null || true; fi
  if [[ -n "$CHILD" ]]; then pids+=($(pgrep -P "$CHILD" 2>/dev/null) "$CHILD"); kill_tree "$CHILD"; fi
  # MOUNTED holds every mount point from just before its mount starts; a
  # pid of 0 means the daemon was not known yet.
  for m in "${!MOUNTED[@]}"; do
    pid=${MOUNTED[$m]}
    ((pid)) || pid=$(daemon_pid "$m" || echo 0)
    if ((pid)); then kill "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    if is_mounted "$m"; then
      echo "mount_bench.sh: unmounting $m" >&2
      fusermount3 -uz "$m" 2>/dev/null || true
    fi
  done
  # The daemons (and a mount command that forked one) get 5 s to exit after
  # the TERM, then SIGKILL: none outlives the script.
  i=0
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((i < 50)); do sleep 0.1; i=$((i + 1)); done
    kill -9 "$p" 2>/dev/null || true
  done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# is_mounted MNT: MNT is a mount point in /proc/self/mountinfo — also a FUSE
# mount whose daemon died, which `mountpoint` no longer recognises.
is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

# daemon_pid MNT: the process whose command line has an argument "mount" and
# an argument MNT (the mount daemon of every tool here).
daemon_pid() {
  local p args a m n
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" != "$$" && "${p#/proc/}" != "$BASHPID" ]] || continue
    mapfile -d '' -t args <"$p/cmdline" 2>/dev/null || continue
    m=0 n=0
    for a in "${args[@]}"; do
      [[ "$a" == mount ]] && m=1
      [[ "$a" == "$1" ]] && n=1
    done
    if ((m && n)); then echo "${p#/proc/}"; return 0; fi
  done
  return 1
}

# tool_mount TOOL REPO MNT CACHE LOG: mount the repository's snapshots at MNT
# and return once the mount is ready (or 1, with the log's last lines).
tool_mount() {
  local tool=$1 repo=$2 mnt=$3 cache=$4 log=$5 bg="" i pid
  mkdir -p "$mnt" "$cache"
  MOUNTED[$mnt]=0                            # from now on the trap unmounts it
  if is_mounted "$mnt"; then fusermount3 -uz "$mnt" || true; fi
  case "$tool" in
    cairn) run_child "$CAIRN" -r "$repo" --cache-dir "$cache" mount "${CAIRN_MOUNT_ARGS[@]}" "$mnt" </dev/null >"$log" 2>&1 || {
             echo "cairn mount failed:" >&2; tail -n 5 "$log" | sed 's/^/    /' >&2; return 1; } ;;
    restic) RESTIC_CACHE_DIR=$cache restic -r "$repo" mount "$mnt" </dev/null >"$log" 2>&1 & bg=$! ;;
    borg) borg mount -f "$repo" "$mnt" </dev/null >"$log" 2>&1 & bg=$! ;;
  esac
  for ((i = 0; i < 6000; i++)); do           # up to 10 minutes (restic reads its index first)
    if mountpoint -q "$mnt"; then break; fi
    if [[ -n "$bg" ]] && ! kill -0 "$bg" 2>/dev/null; then
      echo "$tool mount exited before the mount was ready:" >&2; tail -n 5 "$log" | sed 's/^/    /' >&2
      return 1
    fi
    sleep 0.1
  done
  mountpoint -q "$mnt" || { echo "$tool mount: not ready after 10 minutes" >&2; [[ -z "$bg" ]] || kill "$bg"; return 1; }
  pid=${bg:-$(daemon_pid "$mnt" || true)}
  MOUNTED[$mnt]=${pid:-0}
  [[ -n "$pid" ]] || echo "$tool mount: no process with \"mount\" and $mnt on its command line; RSS not measured" >&2
}

# tool_umount TOOL MNT: unmount and wait for the daemon to exit (TERM, then
# KILL and a lazy unmount if it does not).
tool_umount() {
  local tool=$1 mnt=$2 pid=${MOUNTED[$2]:-0} i
  if is_mounted "$mnt"; then
    if [[ "$tool" == cairn ]]; then
      "$CAIRN" umount "$mnt" >>"$LOGS/$PART-cairn-umount.log" 2>&1 || fusermount3 -u "$mnt" 2>/dev/null || true
    else
      fusermount3 -u "$mnt" 2>/dev/null || true
    fi
  fi
  if ((pid)); then
    for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$tool: daemon $pid still running 20 s after the unmount: killing it" >&2
      kill "$pid" 2>/dev/null || true; sleep 2; kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  if is_mounted "$mnt"; then fusermount3 -uz "$mnt" || true; fi
  unset "MOUNTED[$mnt]"
  # cairn's daemon logs to mount.log in its cache directory: move what it
  # wrote to LOGS (the cache may be deleted next).
  if [[ "$tool" == cairn ]]; then
    find "$WORK/cache-cairn" -name mount.log -exec sh -c 'cat "$1" && : >"$1"' log {} \; \
      >>"$LOGS/$PART-cairn-daemon.log" 2>/dev/null || true
  fi
}

# snap_path TOOL MNT SRC: where SRC of the (only) snapshot is in the mount.
snap_path() {
  case "$1" in
    cairn|restic) echo "$2/snapshots/latest$3" ;;
    borg) echo "$2/bench$3" ;;
  esac
}

# RSS of the daemon: a sampler records the highest VmRSS (kB) in a file; at
# the end of a step the peak is max(sampled, VmHWM).
rss_start() {  # pid
  local pid=$1 f="$WORK/rss.$1"
  ((pid)) || return 0
  echo 0 >"$f"
  (
    max=0
    while [[ -r /proc/$pid/status ]]; do
      while read -r k v _; do
        if [[ "$k" == VmRSS: ]] && ((v > max)); then max=$v; echo "$max" >"$f"; fi
      done <"/proc/$pid/status" 2>/dev/null || true
      sleep 0.1
    done
  ) &
  SAMPLER=$!
}
# rss_stop PID: stop the sampler; RSS_MB := the peak RSS in MB, or "-".
# (Not called in $(...): the sampler is this shell's child.)
RSS_MB=-
rss_stop() {
  local pid=$1 f="$WORK/rss.$1" hwm=0 sampled=0 k v
  if [[ -n "$SAMPLER" ]]; then kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""; fi
  RSS_MB=-
  ((pid)) || return 0
  if [[ -r /proc/$pid/status ]]; then
    while read -r k v _; do [[ "$k" == VmHWM: ]] && hwm=$v; done <"/proc/$pid/status" 2>/dev/null || true
  fi
  [[ -f "$f" ]] && sampled=$(cat "$f") && rm -f "$f"
  ((sampled > hwm)) && hwm=$sampled
  RSS_MB=$(awk -v k="$hwm" 'BEGIN { printf "%.0f", k / 1024 }')
}

# timed TOOL STEP PID KIND SNIPPET ARGS...: drop caches (unless NODROP=1), run
# `bash -c SNIPPET step ARGS...` with a timeout, and record its seconds, its
# output (the last number it prints: files, bytes or entries), MB/s (KIND
# bytes) and the peak RSS of the daemon PID (0: none). Returns the status.
NODROP=0
timed() {
  local tool=$1 step=$2 pid=$3 kind=$4 snippet=$5 out err t0 t1 rc=0 secs value mbps rss
  shift 5
  out="$LOGS/$PART-$tool-$step.out" err="$LOGS/$PART-$tool-$step.err"
  ((NODROP)) || drop_caches
  say "$tool: $step"
  rss_start "$pid"
  t0=$EPOCHREALTIME
  run_child timeout -k 10 "$STEP_TIMEOUT" bash -o pipefail -c "$snippet" step "$@" >"$out" 2>"$err" || rc=$?
  t1=$EPOCHREALTIME
  rss_stop "$pid"
  rss=$RSS_MB
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  value=$(tail -n 1 "$out" | tr -d ' ')
  if ((rc)); then
    local why="exit $rc"
    ((rc == 124)) && why="timed out after $STEP_TIMEOUT s"
    echo "$tool $step FAILED ($why); see $err:" >&2
    tail -n 3 "$err" | sed 's/^/    /' >&2
    record "$tool" "$step" - - - - FAILED "$why, see $err"
    return "$rc"
  fi
  mbps=-
  [[ "$kind" == bytes ]] && mbps=$(awk -v b="$value" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? b / 1e6 / s : 0) }')
  record "$tool" "$step" "$secs" "$mbps" "$rss" "$value" ok
  echo "   ${secs}s, $value $kind$([[ "$mbps" == - ]] || echo ", $mbps MB/s"), daemon peak RSS $rss MB" >&2
}

# mount_timed TOOL STEP REPO MNT CACHE: mount, recording the seconds until
# ready and the daemon's RSS then. Page cache dropped first.
mount_timed() {
  local tool=$1 step=$2 repo=$3 mnt=$4 cache=$5 t0 t1 rss
  drop_caches
  say "$tool: mounting $repo at $mnt"
  t0=$EPOCHREALTIME
  local log="$LOGS/$PART-$tool-${step:-remount}.log"
  if ! tool_mount "$tool" "$repo" "$mnt" "$cache" "$log"; then
    record "$tool" "${step:-mount}" - - - - FAILED "mount failed, see $log"
    return 1
  fi
  t1=$EPOCHREALTIME
  [[ -z "$step" ]] && return 0
  rss_stop "${MOUNTED[$mnt]}"
  rss=$RSS_MB
  record "$tool" "$step" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" - "$rss" - ok
}

# ---- backups (untimed: backup_bench.sh measures them) --------------------------
# backup TOOL REPO SRC: a fresh repository holding one snapshot of SRC (borg:
# archive "bench"), or the kept one when --reuse finds a matching marker.
tool_version() {
  case "$1" in
    cairn) "$CAIRN" --version 2>/dev/null | head -n 1 || echo "cairn ($CAIRN)" ;;
    restic) restic version | head -n 1 ;;
    borg) borg --version ;;
  esac
}
# backup_cmd TOOL REPO SRC: init and back up, with each tool's settings
# (those of backup_bench.sh).
backup_cmd() {
  local tool=$1 repo=$2 src=$3 cache="$WORK/backup-cache-$1"
  case "$tool" in
    cairn) "$CAIRN" -r "$repo" --cache-dir "$cache" init &&
           "$CAIRN" -r "$repo" --cache-dir "$cache" backup --series bench "$src" ;;
    restic) restic -r "$repo" init --repository-version 2 &&
            RESTIC_CACHE_DIR=$cache restic -r "$repo" backup --compression auto --host cairn-bench "$src" ;;
    borg) borg init -e repokey-blake2 "$repo" &&
          borg create --stats --compression zstd,3 "$repo::bench" "$src" ;;
  esac
}
backup() {
  local tool=$1 repo=$2 src=$3 marker log t0 rc=0
  # The repository matches when the tool (its version; for cairn also the
  # binary's mtime) and the source (its dataset marker) are the same.
  marker="$(tool_version "$tool") $( [[ "$tool" != cairn ]] || stat -c %Y "$CAIRN") | $src |"
  marker+=" $(cat "$src"/*.marker "$(dirname "$src")"/*.marker 2>/dev/null | tr '\n' ' ')"
  log="$LOGS/$PART-$tool-backup.log"
  if ((REUSE)) && [[ -d "$repo" && -f "$repo.marker" && "$(cat "$repo.marker")" == "$marker" ]]; then
    say "$tool: reusing $repo (--reuse, marker matches)"
    return 0
  fi
  rm -rf "$repo" "$repo.marker" "$WORK/backup-cache-$tool"
  say "$tool: backing up $src into $repo (untimed)"
  t0=$EPOCHREALTIME
  run_child backup_cmd "$tool" "$repo" "$src" >"$log" 2>&1 || rc=$?
  rm -rf "$WORK/backup-cache-$tool"
  if ((rc)); then
    echo "$tool backup FAILED (exit $rc); see $log:" >&2; tail -n 5 "$log" | sed 's/^/    /' >&2
    record "$tool" backup - - - - FAILED "exit $rc, see $log"
    return 1
  fi
  echo "$marker" >"$repo.marker"
  record "$tool" note - - - - ok "$PART: backup of $src took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s, repository $(du -sb "$repo" | awk '{ printf "%.1f", $1 / 1e6 }') MB"
}

# Which tools run in a part: the listed ones, minus a cairn that cannot mount.
part_tools() {  # list...
  local t
  for t in "$@"; do
    [[ "$t" == cairn && -n "$CAIRN_SKIP" ]] && continue
    echo "$t"
  done
}

FIND='find "$1" -type f | wc -l'
TAR='tar cf - -C "$1" . | wc -c'
CAT='cat "$1" | wc -c'
LS='ls -l "$1" | tail -n +2 | wc -l'

# ---- part tree -----------------------------------------------------------------
part_tree() {
  local tool repo mnt cache snap pid
  if [[ -n "$SIZE_GB" ]]; then
    run_child "$HERE/dataset.sh" "$DATA" --size-gb "$SIZE_GB" >&2
  elif [[ ! -f "$DATA/dataset.marker" ]]; then
    run_child "$HERE/dataset.sh" "$DATA" >&2
  fi
  [[ -f "$DATA/dataset.marker" && -d "$DATA/base" ]] || die "no complete dataset in $DATA (bench/dataset.sh DIR builds one)"
  local src="$DATA/base"
  record all note - - - - ok "tree: dataset $src: $(sed -n 's/^base *//p' "$DATA/dataset.info")"

  timed direct find 0 files "$FIND" "$src" || true
  timed direct tar 0 bytes "$TAR" "$src" || true
  local direct_files; direct_files=$(tail -n 1 "$LOGS/tree-direct-find.out" 2>/dev/null | tr -d ' ')

  local tools; mapfile -t tools < <(part_tools "${TOOL_LIST[@]}")
  for tool in "${tools[@]}"; do
    repo="$WORK/repo-$tool-tree" mnt="$WORK/mnt-$tool" cache="$WORK/cache-$tool"
    backup "$tool" "$repo" "$src" || continue
    snap=$(snap_path "$tool" "$mnt" "$src")

    # find, cold: empty tool cache, fresh mount, page cache dropped.
    rm -rf "$cache"
    mount_timed "$tool" mount "$repo" "$mnt" "$cache" || continue
    pid=${MOUNTED[$mnt]}
    if timed "$tool" find "$pid" files "$FIND" "$snap"; then
      local n; n=$(tail -n 1 "$LOGS/tree-$tool-find.out" | tr -d ' ')
      [[ "$n" == "$direct_files" ]] ||
        record "$tool" note - - - - ok "tree: find counted $n files, direct $direct_files"
    fi
    tool_umount "$tool" "$mnt"

    # tar, cold: the same, on another fresh mount.
    rm -rf "$cache"
    mount_timed "$tool" "" "$repo" "$mnt" "$cache" || continue
    timed "$tool" tar "${MOUNTED[$mnt]}" bytes "$TAR" "$snap" || true
    tool_umount "$tool" "$mnt"

    # cairn: tar with a blob cache. A local-directory repository has none
    # by default (--cache-size 0: its packs are on a local disk already), so
    # these mounts ask for one: a cold tar fills it, then a remount with the
    # page cache dropped reads everything from it.
    if [[ "$tool" == cairn ]]; then
      CAIRN_MOUNT_ARGS=(--cache-size "$WARM_CACHE_SIZE")
      rm -rf "$cache"
      mount_timed "$tool" "" "$repo" "$mnt" "$cache" &&
        timed "$tool" tar-fill "${MOUNTED[$mnt]}" bytes "$TAR" "$snap" || true
      tool_umount "$tool" "$mnt"
      mount_timed "$tool" "" "$repo" "$mnt" "$cache" &&
        timed "$tool" tar-warm "${MOUNTED[$mnt]}" bytes "$TAR" "$snap" || true
      tool_umount "$tool" "$mnt"
      CAIRN_MOUNT_ARGS=()
      # Allocated bytes (du -B1): the LMDB files are sparse.
      record cairn note - - - - ok "tree: blob cache (--cache-size $WARM_CACHE_SIZE) after the warm tar: $(du -sB1 "$cache"/*/blobs | awk '{ n += $1 } END { printf "%.1f", n / 1e6 }') MB on disk; tree cache $(du -sB1 "$cache"/*/trees | awk '{ n += $1 } END { printf "%.1f", n / 1e6 }') MB"
    fi
    ((KEEP)) || rm -rf "$repo" "$repo.marker"
    rm -rf "$cache"
  done
}

# ---- part big --------------------------------------------------------------------
# make_bigfile DIR MB: DIR/big.bin, 3/4 AES-CTR keystream (incompressible,
# deterministic), then 1/4 hex dump of more keystream (compresses ~2.5×).
make_bigfile() {
  local dir=$1 mb=$2 marker="cairn-bench-bigfile format=1 mb=$2"
  if [[ -f "$dir/bigfile.marker" && "$(cat "$dir/bigfile.marker")" == "$marker" ]]; then return 0; fi
  say "generating $dir/big.bin ($mb MB)"
  rm -rf "$dir"; mkdir -p "$dir"
  local total=$((mb * 1000000)) rand=$((mb * 1000000 * 3 / 4))
  # The writers end by SIGPIPE when head has enough: not an error here.
  keystream() { openssl enc -aes-256-ctr -nosalt -K "$(printf '%064x' "$1")" -iv "$(printf '%032x' 0)" \
    -in /dev/zero 2>/dev/null || true; }
  {
    keystream 1 | head -c "$rand"
    { keystream 2 | od -An -v -tx1 || true; } | head -c $((total - rand))
  } >"$dir/big.bin"
  touch -d @1700000000 "$dir/big.bin" "$dir"
  [[ $(stat -c %s "$dir/big.bin") -eq $total ]] || die "generating $dir/big.bin failed"
  echo "$marker" >"$dir/bigfile.marker"
}

part_big() {
  local tool repo mnt cache src="$DATA/bigfile" f
  mkdir -p "$DATA"
  DATA=$(cd "$DATA" && pwd); src="$DATA/bigfile"
  make_bigfile "$src" "$BIG_MB"
  record all note - - - - ok "big: $src/big.bin, $BIG_MB MB: 3/4 random, 1/4 hex text"
  timed direct big 0 bytes "$CAT" "$src/big.bin" || true
  local tools; mapfile -t tools < <(part_tools "${TOOL_LIST[@]}")
  for tool in "${tools[@]}"; do
    repo="$WORK/repo-$tool-big" mnt="$WORK/mnt-$tool" cache="$WORK/cache-$tool"
    backup "$tool" "$repo" "$src" || continue
    f="$(snap_path "$tool" "$mnt" "$src")/big.bin"
    rm -rf "$cache"
    mount_timed "$tool" "" "$repo" "$mnt" "$cache" || continue
    if timed "$tool" big "${MOUNTED[$mnt]}" bytes "$CAT" "$f"; then
      if ! cmp "$f" "$src/big.bin" >"$LOGS/big-$tool-cmp.log" 2>&1; then
        record "$tool" big-check - - - - FAILED "the file read through the mount differs from the source: $(head -n 1 "$LOGS/big-$tool-cmp.log")"
        echo "$tool big: FAILED: contents differ from the source" >&2
      fi
    fi
    tool_umount "$tool" "$mnt"
    ((KEEP)) || rm -rf "$repo" "$repo.marker"
    rm -rf "$cache"
  done
}

# ---- part manyfiles --------------------------------------------------------------
part_manyfiles() {
  local tool repo mnt cache src snap pid
  run_child "$HERE/manyfiles.sh" "$MANY" --files "$MF_FILES" --big-dir "$MF_BIG_DIR" >&2
  MANY=$(cd "$MANY" && pwd); src="$MANY/tree"
  record all note - - - - ok "manyfiles: $(cat "$MANY/manyfiles.info")"
  if has borg "${TOOL_LIST[@]}" && ! has borg "${MF_TOOL_LIST[@]}"; then
    record borg note - - - - ok "manyfiles: borg not run (slow on 1M files; --manyfiles-tools cairn,restic,borg includes it)"
  fi

  timed direct m-find 0 files "$FIND" "$src" || true
  timed direct m-tar 0 bytes "$TAR" "$src" || true
  timed direct m-ls-first 0 entries "$LS" "$src/big" || true
  NODROP=1 timed direct m-ls-warm 0 entries "$LS" "$src/big" || true

  local tools; mapfile -t tools < <(part_tools "${MF_TOOL_LIST[@]}")
  for tool in "${tools[@]}"; do
    has "$tool" "${TOOL_LIST[@]}" || continue
    repo="$WORK/repo-$tool-manyfiles" mnt="$WORK/mnt-$tool" cache="$WORK/cache-$tool"
    backup "$tool" "$repo" "$src" || continue
    snap=$(snap_path "$tool" "$mnt" "$src")
    rm -rf "$cache"
    mount_timed "$tool" m-mount "$repo" "$mnt" "$cache" || continue
    pid=${MOUNTED[$mnt]}
    # One mount for find, tar and ls: the RSS columns are the peak so far.
    timed "$tool" m-find "$pid" files "$FIND" "$snap" || true
    timed "$tool" m-tar "$pid" bytes "$TAR" "$snap" || true
    timed "$tool" m-ls-first "$pid" entries "$LS" "$snap/big" || true
    NODROP=1 timed "$tool" m-ls-warm "$pid" entries "$LS" "$snap/big" || true
    tool_umount "$tool" "$mnt"
    # The tool's cache is kept: a remount lists from it.
    mount_timed "$tool" "" "$repo" "$mnt" "$cache" || continue
    timed "$tool" m-ls-remount "${MOUNTED[$mnt]}" entries "$LS" "$snap/big" || true
    tool_umount "$tool" "$mnt"
    ((KEEP)) || rm -rf "$repo" "$repo.marker"
    rm -rf "$cache"
  done
}

# ---- run ---------------------------------------------------------------------------
{
  printf 'title\tmount benchmark, %s, %s, %s cores, %s GB RAM, page cache %s\n' \
    "$(date -u +%Y-%m-%d)" "$(uname -m)" "$(nproc)" \
    "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" \
    "$( ((COLD)) && echo 'dropped before each cold step' || echo 'WARM (not dropped)')"
  printf 'note1\tcold: fresh mount, empty tool cache (cairn --cache-dir, restic --cache-dir), page cache dropped; MB = 10^6 bytes\n'
  printf 'note2\tratios: cairn seconds / peer seconds (< 1: cairn is faster); warm tar is compared with the direct cold tar\n'
  printf 'note3\tpeak RSS: the mount daemon since its mount started (VmHWM, VmRSS sampled); logs in %s\n' "$LOGS"
  printf 'note4\tevery tool mounts its whole repository; borg loads the archive (bench) when find or tar first enters it\n'
} >"$SCRATCH/meta-mount.tsv"

for p in "${PART_LIST[@]}"; do
  PART=$p
  say "part $p"
  # Versions and a skipped cairn, per part (a later run of another part
  # replaces only its own rows).
  for t in cairn restic borg; do
    has "$t" "${TOOL_LIST[@]}" || continue
    if [[ "$t" == cairn && -n "$CAIRN_SKIP" ]]; then record cairn note - - - - ok "$p: $CAIRN_SKIP"; continue; fi
    record "$t" version - - - - ok "$(tool_version "$t" 2>&1 | head -n 1)"
  done
  [[ -z "$KEPT" ]] || record all note - - - - ok "$p: the rows of $KEPT are from an earlier run (this one ran $TOOLS)"
  "part_$p"
done

print_table "$SCRATCH" 0
if ((MARKDOWN)); then
  echo
  print_table "$SCRATCH" 1
fi
! awk -F'\t' '$8 == "FAILED" { bad = 1 } END { exit !bad }' "$RESULTS"
