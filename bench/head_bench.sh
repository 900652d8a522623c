#!/usr/bin/env bash
# bench/head_bench.sh — back up by rsync into cairn's head/ and seal, against
# restic backup and against the same rsync into libfuse's passthrough
# example and into a local directory, on the same dataset in one run.
#
#   bench/head_bench.sh [--data DIR] [--scratch DIR] [--cairn PATH] [--warm]
#                       [--no-passthrough] [--markdown]
#
# Steps (each cold: page cache dropped first, unless --warm):
#   first   SCRATCH/src := DATA/base (cp -a); then, one after the other:
#           cairn:   rsync -aHAX --delete --numeric-ids src/ MNT/head/, then
#                    `cairn seal MNT` (times given apart and summed)
#           restic:  restic backup src
#           pass:    the same rsync into the passthrough example's mount of
#                    an empty directory (libfuse3-dev's passthrough.c,
#                    compiled here)
#           local:   the same rsync into an empty local directory
#   incr    rsync -aH --delete DATA/modified/ src/ (the 2% change, in place),
#           then the same four again (cairn/pass/local rsync into what they
#           hold; restic backup with its parent)
#   nochg   cairn rsync + seal, and the local rsync, once more with no change
# Also: bytes stored by cairn (du of the repository) against `cairn backup`
# of the same two trees into a fresh repository, and the mount daemon's
# peak RSS (VmHWM) after the first rsync.
# Output: the table on stdout (ratios: cairn / restic, cairn / passthrough,
# cairn / local); logs in SCRATCH/logs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
BASE_TMP=${TMPDIR:-/var/tmp}
DATA="$BASE_TMP/cairn-bench-data"
SCRATCH="$BASE_TMP/cairn-head-bench"
CAIRN="${CAIRN_BIN:-$HERE/../build/tools/cairn}"
COLD=1
MARKDOWN=0
PASS=1
SIZE_GB=""

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while (($#)); do
  case "$1" in
    --data) DATA="${2:?}"; shift 2 ;;
    --scratch) SCRATCH="${2:?}"; shift 2 ;;
    --cairn) CAIRN="${2:?}"; shift 2 ;;
    --warm) COLD=0; shift ;;
    --no-passthrough) PASS=0; shift ;;
    --markdown) MARKDOWN=1; shift ;;
    -h|--help) usage 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

[[ $(id -u) -eq 0 && -c /dev/fuse ]] || die "needs root and /dev/fuse (it mounts)"
[[ -x "$CAIRN" ]] || die "no cairn binary at $CAIRN (build it, or --cairn PATH)"
apt_need restic restic
apt_need rsync rsync
apt_need /usr/bin/time time
check_drop_caches
ensure_dataset base modified

SCRATCH=$(realpath -m "$SCRATCH")
RSYNC=(rsync -aHAX --delete --numeric-ids)
LOGS="$SCRATCH/logs"
MNT="$SCRATCH/mnt"
PASS_MNT="$SCRATCH/pass-mnt"
cleanup() {
  umount -l "$MNT/head" 2>/dev/null || true
  umount -l "$MNT" 2>/dev/null || true
  umount -l "$PASS_MNT" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
rm -rf "$SCRATCH"
mkdir -p "$LOGS" "$MNT" "$PASS_MNT" "$SCRATCH/pass-under" "$SCRATCH/local"
export CAIRN_PASSWORD=bench RESTIC_PASSWORD=bench
export CAIRN_REPO="$SCRATCH/repo-cairn" CAIRN_CACHE_DIR="$SCRATCH/cache-cairn"
export RESTIC_REPOSITORY="$SCRATCH/repo-restic" RESTIC_CACHE_DIR="$SCRATCH/cache-restic"
declare -A T  # step.tool -> wall seconds

# timed KEY CMD...: wall seconds of CMD into T[KEY] (cold first).
timed() {
  local key=$1
  shift
  drop_caches
  /usr/bin/time -f '%e' -o "$LOGS/$key.time" "$@" >"$LOGS/$key.log" 2>&1 ||
    die "$key failed (exit $?): see $LOGS/$key.log"
  T[$key]=$(cat "$LOGS/$key.time")
  say "$key: ${T[$key]} s"
}

say "source: a copy of $DATA/base"
cp -a "$DATA/base" "$SCRATCH/src"

# The passthrough example (high-level API, as the issue's 66 s anchor).
if ((PASS)); then
  src=/usr/share/doc/libfuse3-dev/examples/passthrough.c
  [[ -f "$src" ]] || die "no $src (apt-get install libfuse3-dev; or --no-passthrough)"
  cc -O2 -I/usr/share/doc/libfuse3-dev/examples -o "$SCRATCH/passthrough" "$src" \
    $(pkg-config --cflags --libs fuse3) 2>"$LOGS/passthrough-cc.log" ||
    die "cannot compile $src: see $LOGS/passthrough-cc.log"
  "$SCRATCH/passthrough" -o modules=subdir,subdir="$SCRATCH/pass-under" "$PASS_MNT"
fi

"$CAIRN" init >"$LOGS/init.log" 2>&1 || die "cairn init failed: see $LOGS/init.log"
"$CAIRN" mount "$MNT" --series bench >"$LOGS/mount.log" 2>&1 || die "cairn mount failed: see $LOGS/mount.log"
PID=$(getfattr -n user.cairn.control --only-values "$MNT")
PID=${PID#cairn-mount-}
restic init >"$LOGS/restic-init.log" 2>&1 || die "restic init failed"

round() {  # round STEP: the four of one step
  local step=$1
  timed "$step.cairn-rsync" "${RSYNC[@]}" "$SCRATCH/src/" "$MNT/head/"
  [[ $step == first ]] && RSS_KB=$(awk '/VmHWM/ { print $2 }' "/proc/$PID/status")
  timed "$step.cairn-seal" "$CAIRN" seal "$MNT"
  timed "$step.restic" restic backup --host bench "$SCRATCH/src"
  # The example refuses some utimes (ENOSYS), so its rsync exits 23: the
  # transfer is timed all the same.
  ((PASS)) && timed "$step.pass" bash -c '"$@"; rc=$?; ((rc == 23)) && exit 0; exit $rc' _ \
    "${RSYNC[@]}" "$SCRATCH/src/" "$PASS_MNT/"
  timed "$step.local" "${RSYNC[@]}" "$SCRATCH/src/" "$SCRATCH/local/"
}
round first
say "applying the change: rsync -aH --delete $DATA/modified/ src/"
rsync -aH --delete "$DATA/modified/" "$SCRATCH/src/"
round incr
timed nochg.cairn-rsync "${RSYNC[@]}" "$SCRATCH/src/" "$MNT/head/"
timed nochg.cairn-seal "$CAIRN" seal "$MNT"
timed nochg.local "${RSYNC[@]}" "$SCRATCH/src/" "$SCRATCH/local/"
HEAD_BYTES=$(du -sb "$CAIRN_REPO" | cut -f1)

# The same two trees by `cairn backup` (first base, then the change).
say "cairn backup of the same trees, for the stored bytes"
rm -rf "$SCRATCH/src"
cp -a "$DATA/base" "$SCRATCH/src"
CAIRN_REPO="$SCRATCH/repo-backup" CAIRN_CACHE_DIR="$SCRATCH/cache-backup" "$CAIRN" init >/dev/null 2>&1
CAIRN_REPO="$SCRATCH/repo-backup" CAIRN_CACHE_DIR="$SCRATCH/cache-backup" "$CAIRN" backup "$SCRATCH/src" >"$LOGS/backup1.log" 2>&1
rsync -aH --delete "$DATA/modified/" "$SCRATCH/src/"
CAIRN_REPO="$SCRATCH/repo-backup" CAIRN_CACHE_DIR="$SCRATCH/cache-backup" "$CAIRN" backup "$SCRATCH/src" >"$LOGS/backup2.log" 2>&1
BACKUP_BYTES=$(du -sb "$SCRATCH/repo-backup" | cut -f1)

sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
print_table() {
  local md=$2 sep="  " s
  ((md)) && sep=" | "
  echo "head/ bench: $(machine_info); dataset $(head -n1 "$DATA/dataset.info" | sed 's/^dataset [^ ]* *//')"
  ((COLD)) || echo "(warm: page cache not dropped)"
  printf '%-6s%s%9s%s%9s%s%9s%s%8s%s%8s%s%8s%s%7s%s%7s%s%7s\n' step "$sep" rsync "$sep" seal "$sep" \
    cairn "$sep" restic "$sep" pass "$sep" local "$sep" /restic "$sep" /pass "$sep" /local
  for s in first incr nochg; do
    local c r p l
    c=$(sum "${T[$s.cairn-rsync]}" "${T[$s.cairn-seal]}")
    r=${T[$s.restic]:-}
    p=${T[$s.pass]:-}
    l=${T[$s.local]:-}
    printf '%-6s%s%9s%s%9s%s%9s%s%8s%s%8s%s%8s%s%7s%s%7s%s%7s\n' "$s" "$sep" "${T[$s.cairn-rsync]}" "$sep" \
      "${T[$s.cairn-seal]}" "$sep" "$c" "$sep" "${r:--}" "$sep" "${p:--}" "$sep" "${l:--}" "$sep" \
      "$([[ -n $r ]] && ratio "$c" "$r" || echo -)" "$sep" "$([[ -n $p ]] && ratio "${T[$s.cairn-rsync]}" "$p" || echo -)" \
      "$sep" "$([[ -n $l ]] && ratio "$c" "$l" || echo -)"
  done
  echo "stored: head/+seal $HEAD_BYTES bytes, cairn backup $BACKUP_BYTES bytes (ratio $(ratio "$HEAD_BYTES" "$BACKUP_BYTES"))"
  echo "mount daemon peak RSS after the first rsync: $((RSS_KB / 1024)) MB"
  echo "(/pass compares cairn's rsync alone with the same rsync into the passthrough example)"
}
print_table "$SCRATCH" 0
((MARKDOWN)) && { echo; print_table "$SCRATCH" 1; }
"$CAIRN" umount "$MNT" >/dev/null 2>&1 || true
