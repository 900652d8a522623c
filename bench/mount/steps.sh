# bench/mount/steps.sh — the timed steps (seconds, value, MB/s and the
# daemon's peak RSS of each), timed mounts, and the untimed backups each part
# mounts.
# Sourced by bench/mount_bench.sh (never run on its own): it uses that
# script's settings and state (WORK, LOGS, PART, CAIRN, TOOL_LIST, MOUNTED,
# record, ...) and bench/lib.sh.

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

