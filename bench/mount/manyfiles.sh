# bench/mount/manyfiles.sh — --part manyfiles: bench/manyfiles.sh's
# 1,000,000-file tree: find, tar and ls -l of its big directory through one
# mount per tool, the daemon's RSS, and ls -l again after a remount.
# Sourced by bench/mount_bench.sh (never run on its own): it uses that
# script's settings and state (WORK, LOGS, PART, CAIRN, TOOL_LIST, MOUNTED,
# record, ...) and bench/lib.sh.

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
