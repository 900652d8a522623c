# bench/mount/mounts.sh — start a tool's mount, wait for it, find its
# daemon, stop it, and never leave one behind (the EXIT/INT/TERM trap runs
# cleanup).
# Sourced by bench/mount_bench.sh (never run on its own): it uses that
# script's settings and state (WORK, LOGS, PART, CAIRN, TOOL_LIST, MOUNTED,
# record, ...) and bench/lib.sh.

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
