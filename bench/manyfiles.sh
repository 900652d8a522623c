#!/usr/bin/env bash
# bench/manyfiles.sh — build the deterministic many-small-files tree of the
# mount benchmark (bench/mount_bench.sh --part manyfiles).
#
#   bench/manyfiles.sh DIR [--files 1000000] [--big-dir 100000] [--seed 42] [--force]
#
# Produces
#   DIR/tree/big/f0000000 ...      one directory of --big-dir files (100,000);
#   DIR/tree/dNN/dNN/f0000000 ...  the other files, 1,000 per directory, 30
#                                  leaf directories per top-level directory;
#   DIR/manyfiles.info             the figures (printed at the end of each call);
#   DIR/manyfiles.marker           the parameters, written last: a later call
#                                  with the same ones reuses the tree.
# --files counts every regular file, the big directory's included. Files are
# small (10% empty, the rest 16 B – 2 KiB, mean about 1 KB), half random
# bytes, half text-like, each with its own content (a serial number first, so
# no two non-empty files deduplicate), all
# with mtime 2023-11-14 (@1700000000). The same parameters give the same tree.
# Disk: about 4.2 GB for 1,000,000 files on ext4 (one 4 KiB block per file).
# Time: about 2 minutes for 1,000,000 files on the 2-core development machine.
set -euo pipefail

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "manyfiles.sh: error: $*" >&2; exit 1; }
log() { echo "manyfiles.sh: $*" >&2; }

DIR=""
FILES=1000000
BIG_DIR=100000
SEED=42
FORCE=0
while (($#)); do
  case "$1" in
    --files) FILES="${2:?}"; shift 2 ;;
    --big-dir) BIG_DIR="${2:?}"; shift 2 ;;
    --seed) SEED="${2:?}"; shift 2 ;;
    --force) FORCE=1; shift ;;
    -h|--help) usage 0 ;;
    -*) die "unknown option $1" ;;
    *) [[ -z "$DIR" ]] || die "only one DIR"; DIR="$1"; shift ;;
  esac
done
[[ -n "$DIR" ]] || usage
[[ "$FILES" =~ ^[0-9]+$ && "$BIG_DIR" =~ ^[0-9]+$ ]] || die "--files and --big-dir take whole numbers"
((BIG_DIR <= FILES)) || die "--big-dir ($BIG_DIR) must not exceed --files ($FILES)"
command -v python3 >/dev/null || die "python3 is needed (apt-get install python3)"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# Bump FORMAT when the way the tree is built changes.
FORMAT=2
MARKER_TEXT="cairn-bench-manyfiles format=$FORMAT files=$FILES big_dir=$BIG_DIR seed=$SEED"

if ((!FORCE)) && [[ -f "$DIR/manyfiles.marker" && -d "$DIR/tree" ]] &&
   [[ "$(cat "$DIR/manyfiles.marker")" == "$MARKER_TEXT" ]]; then
  log "reusing the existing tree in $DIR (marker matches)"
  cat "$DIR/manyfiles.info"
  exit 0
fi

log "building $DIR/tree ($MARKER_TEXT)"
rm -f "$DIR/manyfiles.marker" "$DIR/manyfiles.info"
rm -rf "$DIR/tree"
mkdir -p "$DIR/tree"

python3 - "$DIR/tree" "$FILES" "$BIG_DIR" "$SEED" <<'PY'
import os, random, sys
root, files, big, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(f"manyfiles-{seed}")
T = 1700000000
PER_DIR, PER_TOP = 1000, 30

# Two pools the file contents are cut from at random offsets: 32 MiB of
# random bytes and 8 MiB of pseudo-English lines. A file is a serial number
# plus a slice, so no two files have the same content.
rand_pool = rng.randbytes(32 << 20)
words = ["".join(rng.choice("etaoinshrdlcumwfgypbvkjxqz") for _ in range(rng.randint(2, 10)))
         for _ in range(4000)]
weights = [1.0 / (i + 1) for i in range(len(words))]
lines, n = [], 0
while n < (8 << 20):
    line = " ".join(rng.choices(words, weights, k=16)) + "\n"
    lines.append(line)
    n += len(line)
text_pool = "".join(lines).encode()

serial = 0
def content():
    """Empty (10%), or 16 B - 2 KiB starting with a serial number unique in the tree."""
    global serial
    serial += 1
    r = rng.random()
    if r < 0.10:
        return b""
    size = rng.randint(16, 2048)
    pool = rand_pool if r < 0.55 else text_pool
    off = rng.randrange(len(pool) - size)
    return (f"{serial:09d}\n".encode() + pool[off:off + size])[:size]

def write(d, i):
    p = os.path.join(d, f"f{i:07d}")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, content())
    finally:
        os.close(fd)
    os.utime(p, (T, T))

bigdir = os.path.join(root, "big")
os.makedirs(bigdir)
for i in range(big):
    write(bigdir, i)
os.utime(bigdir, (T, T))

rest, i, leaf = files - big, 0, 0
dirs = []
while i < rest:
    top = os.path.join(root, f"d{leaf // PER_TOP:02d}")
    d = os.path.join(top, f"d{leaf % PER_TOP:02d}")
    os.makedirs(d, exist_ok=True)
    for _ in range(min(PER_DIR, rest - i)):
        write(d, i)
        i += 1
    dirs.append(d)
    leaf += 1
    if leaf % 100 == 0:
        print(f"manyfiles.sh: {big + i} files", file=sys.stderr)
for d in sorted(set(dirs) | {os.path.dirname(d) for d in dirs}, key=lambda x: -x.count("/")):
    os.utime(d, (T, T))
os.utime(root, (T, T))
PY

{
  bytes=$(du -sb "$DIR/tree" | cut -f1)
  printf 'manyfiles %s: files %s (one directory of %s), dirs %s, du -sb %s bytes (%.1f MB), disk %s\n' \
    "$DIR/tree" "$(find "$DIR/tree" -type f | wc -l)" "$(find "$DIR/tree/big" -mindepth 1 | wc -l)" \
    "$(find "$DIR/tree" -type d | wc -l)" "$bytes" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" \
    "$(du -sh "$DIR/tree" | cut -f1)"
} >"$DIR/manyfiles.info"
echo "$MARKER_TEXT" >"$DIR/manyfiles.marker"
cat "$DIR/manyfiles.info"
