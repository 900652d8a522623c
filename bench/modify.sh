#!/usr/bin/env bash
# Applies a deterministic ~2% change to a copy of the dataset, in place:
# of the regular files in name order, every 100th is appended to, every
# 100th (offset 33) is overwritten in the middle with the same size, every
# 100th (offset 66) is deleted, and 50 MiB of new files are added (half
# pseudo-random, half text). Same input, same result.
# Usage: bench/modify.sh DIR
set -euo pipefail
dir=${1:?usage: modify.sh DIR}
prng() {  # prng SEED BYTES: deterministic pseudo-random bytes
  openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" -iv 0 </dev/zero 2>/dev/null | head -c "$2"  || true  # head closes the pipe early: SIGPIPE is expected
}
i=0
while IFS= read -r -d '' f; do
  i=$((i + 1))
  case $((i % 100)) in
    0) prng "$i" 4096 >>"$f" ;;
    33)
      size=$(stat -c %s "$f")
      if ((size > 2)); then
        prng "$i" $((size / 4 + 1)) | dd of="$f" bs=64K seek=$((size / 2)) oflag=seek_bytes \
          conv=notrunc status=none || true
        truncate -s "$size" "$f"
      fi
      ;;
    66) rm -f "$f" ;;
  esac
done < <(find "$dir" -type f -print0 | sort -z)
mkdir -p "$dir/new-data"
for n in $(seq 1 25); do
  prng $((1000 + n)) 1048576 >"$dir/new-data/random-$n.bin"
  seq $((n * 100000)) $((n * 100000 + 140000)) >"$dir/new-data/text-$n.txt"
done
echo "modified: $i files visited in $dir"
