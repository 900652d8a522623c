# bench/mount/big.sh — --part big: one large generated file read
# through each tool's mount, cold, and compared with the source.
# Sourced by bench/mount_bench.sh (never run on its own): it uses that
# script's settings and state (WORK, LOGS, PART, CAIRN, TOOL_LIST, MOUNTED,
# record, ...) and bench/lib.sh.

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
