# bench/mount/tree.sh — --part tree: find and tar of bench/dataset.sh's
# tree through each tool's mount, cold; for cairn also with a blob cache.
# Sourced by bench/mount_bench.sh (never run on its own): it uses that
# script's settings and state (WORK, LOGS, PART, CAIRN, TOOL_LIST, MOUNTED,
# record, ...) and bench/lib.sh.

# ---- part tree -----------------------------------------------------------------
part_tree() {
  local tool repo mnt cache snap pid
  DATASET_RUNNER=run_child ensure_dataset base
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
