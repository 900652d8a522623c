#!/usr/bin/env bash
# bench/dataset.sh — build the deterministic backup-benchmark dataset.
#
#   bench/dataset.sh DIR [--size-gb 2.5] [--entries N] [--seed 42]
#                        [--change-pct 2] [--max-file-mb 64]
#                        [--source DIR]... [--exclude DIR]... [--force]
#
# Produces
#   DIR/base/usr/{lib,share}/...  a sample of the source trees (default
#                                 /usr/lib and /usr/share), about SIZE bytes
#                                 (du -sb) in about N entries (find | wc -l);
#   DIR/modified/...              a real copy of base (cp -a --reflink=auto,
#                                 no hardlinks into base) with ~CHANGE% of the
#                                 files appended to, overwritten in the middle
#                                 (same size) or deleted, plus CHANGE% of SIZE
#                                 in new files (half random, half text-like);
#   DIR/changes.tsv               every change made (op, path, bytes);
#   DIR/dataset.info              the figures printed at the end;
#   DIR/dataset.marker            the parameters; written last, so a dataset is
#                                 reused (and not rebuilt) only when it is
#                                 complete and was built with the same ones.
#
# Determinism: the sample is chosen by SHA-256 of (seed, directory, chunk
# index), never by time or by directory order, and every modification draws
# from random.Random(seed); the same machine (same /usr) and the same
# parameters give byte-identical files and the same metadata.
#
# How the sample is chosen: each source directory's direct files and symlinks
# are cut into units of up to 32 consecutive names, so a sample keeps whole
# runs of a directory together, as real backups do. Units are taken in hash
# order and accepted while the running byte count stays on the line from
# (0, 0) to (N entries, SIZE bytes), within 1% of SIZE (or move towards it),
# and neither limit is passed; this meets both targets within about 1%
# although /usr's mean file size (~36 KB) is larger than SIZE/N (25 KB at
# the defaults). Unreadable entries, files
# larger than --max-file-mb (the "giant outliers") and --exclude trees
# (default /usr/lib/debug) are skipped; sockets, fifos and devices too.
# If the sources cannot reach the targets, the rest is padded with generated
# files under base/usr/share/cairn-bench-padding/ and a warning says so
# (install a few large Debian packages to avoid it; see bench/README.md).
#
# Needs: bash, python3, GNU tar, coreutils. Root is not required to build it,
# but the copy keeps owners only when run as root.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "dataset.sh: error: $*" >&2; exit 1; }
log() { echo "dataset.sh: $*" >&2; }

# ---- arguments ---------------------------------------------------------------
DIR=""
SIZE_GB="2.5"
ENTRIES=""          # default: 40,000 entries per GB (100,000 at 2.5 GB)
SEED=42
CHANGE_PCT=2
MAX_FILE_MB=64
SOURCES=()
EXCLUDES=()
FORCE=0
while (($#)); do
  case "$1" in
    --size-gb) SIZE_GB="${2:?}"; shift 2 ;;
    --entries) ENTRIES="${2:?}"; shift 2 ;;
    --seed) SEED="${2:?}"; shift 2 ;;
    --change-pct) CHANGE_PCT="${2:?}"; shift 2 ;;
    --max-file-mb) MAX_FILE_MB="${2:?}"; shift 2 ;;
    --source) SOURCES+=("${2:?}"); shift 2 ;;
    --exclude) EXCLUDES+=("${2:?}"); shift 2 ;;
    --force) FORCE=1; shift ;;
    -h|--help) usage 0 ;;
    -*) die "unknown option $1" ;;
    *) [[ -z "$DIR" ]] || die "only one DIR"; DIR="$1"; shift ;;
  esac
done
[[ -n "$DIR" ]] || usage
((${#SOURCES[@]})) || SOURCES=(/usr/lib /usr/share)
((${#EXCLUDES[@]})) || EXCLUDES=(/usr/lib/debug)
command -v python3 >/dev/null || die "python3 is needed (apt-get install python3)"

# Sizes in bytes are decimal GB, as du -sb reports them.
SIZE_BYTES=$(python3 -c "print(round(float('$SIZE_GB') * 1e9))")
[[ -n "$ENTRIES" ]] || ENTRIES=$(python3 -c "print(round(float('$SIZE_GB') * 40000))")

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
for s in "${SOURCES[@]}"; do
  [[ -d "$s" && "$s" == /* ]] || die "--source must be an existing absolute directory: $s"
done

# ---- reuse when the marker matches -------------------------------------------
# Bump FORMAT when the way the dataset is built changes.
FORMAT=3
MARKER_TEXT="cairn-bench-dataset format=$FORMAT size_bytes=$SIZE_BYTES entries=$ENTRIES seed=$SEED change_pct=$CHANGE_PCT max_file_mb=$MAX_FILE_MB sources=${SOURCES[*]} excludes=${EXCLUDES[*]}"

print_info() { cat "$DIR/dataset.info"; }

if ((!FORCE)) && [[ -f "$DIR/dataset.marker" && -d "$DIR/base" && -d "$DIR/modified" ]] &&
   [[ "$(cat "$DIR/dataset.marker")" == "$MARKER_TEXT" ]]; then
  log "reusing the existing dataset in $DIR (marker matches)"
  print_info
  exit 0
fi

log "building the dataset in $DIR ($MARKER_TEXT)"
rm -f "$DIR/dataset.marker" "$DIR/dataset.info"
rm -rf "$DIR/base" "$DIR/modified" "$DIR/changes.tsv" "$DIR/.work"
mkdir -p "$DIR/.work" "$DIR/base"

# ---- 1. choose the sample ------------------------------------------------------
# Writes NUL-separated paths relative to / (in depth-first order, so tar
# creates each directory with its own metadata) to .work/list, and the shortfall in
# bytes and entries (if the sources are too small) to .work/shortfall.
python3 - "$DIR/.work" "$SIZE_BYTES" "$ENTRIES" "$SEED" "$MAX_FILE_MB" \
  "${#SOURCES[@]}" "${SOURCES[@]}" "${EXCLUDES[@]}" <<'PY'
import hashlib, os, stat, sys

work, size_target, entries_target, seed, max_mb = sys.argv[1:6]
size_target, entries_target, max_bytes = int(size_target), int(entries_target), int(float(max_mb) * 2**20)
nsrc = int(sys.argv[6])
sources = [os.path.normpath(p) for p in sys.argv[7:7 + nsrc]]
excludes = {os.path.normpath(p) for p in sys.argv[7 + nsrc:]}
DIR_BYTES = 4096          # apparent size of a small directory on ext4/xfs/btrfs-ish
UNIT = 32                 # names per unit

units = []                # (hash key, directory, [(path, bytes)])
def walk(d):
    try:
        with os.scandir(d) as it:
            ents = sorted(it, key=lambda e: e.name)
    except OSError:
        return            # unreadable directory: skipped
    leaves, subdirs = [], []
    for e in ents:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if e.path not in excludes and os.access(e.path, os.R_OK | os.X_OK):
                subdirs.append(e.path)
        elif stat.S_ISLNK(st.st_mode):
            leaves.append((e.path, st.st_size))          # du -sb counts the target length
        elif stat.S_ISREG(st.st_mode):
            if st.st_size <= max_bytes and os.access(e.path, os.R_OK):
                leaves.append((e.path, st.st_size))
    for i in range(0, len(leaves), UNIT):
        key = hashlib.sha256(f"{seed}\0{d}\0{i}".encode()).digest()
        units.append((key, d, leaves[i:i + UNIT]))
    for s in subdirs:
        walk(s)

for s in sources:
    walk(s)
units.sort(key=lambda u: u[0])

chosen_dirs = set()
entries, nbytes = 1, DIR_BYTES                 # DIR/base itself
rate = size_target / entries_target            # bytes per entry on the target line
slack = 0.01 * size_target
picked = []                                    # units accepted, in hash order
def new_ancestors(d):
    out = []
    while d not in ("/", "") and d not in chosen_dirs:
        out.append(d)
        d = os.path.dirname(d)
    return out
for key, d, leaves in units:
    nd = new_ancestors(d)
    ue = len(leaves) + len(nd)
    ub = sum(b for _, b in leaves) + DIR_BYTES * len(nd)
    if entries + ue > entries_target or nbytes + ub > size_target:
        continue
    # Stay within the band around the line, or at least move towards it.
    before = abs(nbytes - rate * entries)
    after = abs(nbytes + ub - rate * (entries + ue))
    if after > slack and after > before:
        continue
    chosen_dirs.update(nd)
    entries += ue
    nbytes += ub
    picked.append(leaves)

# Depth-first order (sorted by components): each directory comes just before
# its contents, so tar sets its mtime after filling it.
paths = sorted(list(chosen_dirs) + [p for leaves in picked for p, _ in leaves],
               key=lambda p: p.split("/"))
with open(os.path.join(work, "list"), "wb") as f:
    for p in paths:
        f.write(p.lstrip("/").encode("utf-8", "surrogateescape") + b"\0")
with open(os.path.join(work, "shortfall"), "w") as f:
    f.write(f"{max(0, size_target - nbytes)} {max(0, entries_target - entries)}\n")
print(f"dataset.sh: sample: {len(paths)} paths from {len(units)} units, "
      f"estimated {nbytes} bytes in {entries} entries", file=sys.stderr)
PY

# ---- 2. copy the sample into base ---------------------------------------------
# tar with an explicit list is `cp -a` for a chosen set of paths: it keeps
# modes, owners (as root), mtimes, symlinks and hardlinks within the set, and
# restores directory mtimes after filling them. Unreadable files are skipped.
log "copying the sample into $DIR/base"
tar -C / --null --no-recursion --ignore-failed-read -T "$DIR/.work/list" -cf - 2>"$DIR/.work/tar.err" |
  tar -C "$DIR/base" -xpf -
touch -d @1700000000 "$DIR/base"      # the one directory tar did not create
if [[ -s "$DIR/.work/tar.err" ]]; then
  log "tar skipped some entries ($(wc -l <"$DIR/.work/tar.err") lines in $DIR/.work/tar.err)"
fi

# ---- 3. pad when the sources are too small -----------------------------------
read -r SHORT_BYTES SHORT_ENTRIES <"$DIR/.work/shortfall"
# The sample lands within ~1% of both targets unless the sources run out;
# only a shortfall over 2% of either target is padded.
PAD=0
if ((SHORT_BYTES * 50 > SIZE_BYTES || SHORT_ENTRIES * 50 > ENTRIES)); then
  PAD=1
  log "WARNING: the sources are $SHORT_BYTES bytes / $SHORT_ENTRIES entries short of the target;"
  log "WARNING: padding with generated files in base/usr/share/cairn-bench-padding (see bench/README.md)"
fi

# Shared generator of deterministic content (used by padding and modification).
cat >"$DIR/.work/gen.py" <<'PY'
import random
_VOCAB = None
def vocab():
    """A fixed vocabulary of pseudo-words with Zipf-like weights: compresses like prose."""
    global _VOCAB
    if _VOCAB is None:
        r = random.Random(12345)
        words = ["".join(r.choice("etaoinshrdlcumwfgypbvkjxqz") for _ in range(r.randint(2, 10)))
                 for _ in range(8000)]
        _VOCAB = (words, [1.0 / (i + 1) for i in range(len(words))])
    return _VOCAB
def text(rng, n):
    """n bytes of text-like lines."""
    words, weights = vocab()
    out, size = [], 0
    while size < n:
        line = " ".join(rng.choices(words, weights, k=rng.randint(4, 16))) + "\n"
        out.append(line); size += len(line)
    return "".join(out).encode()[:n]
def rand(rng, n):
    return rng.randbytes(n)
PY

if ((PAD)); then
  python3 - "$DIR/base/usr/share/cairn-bench-padding" "$SHORT_BYTES" "$SHORT_ENTRIES" "$SEED" "$DIR/.work" <<'PY'
import os, random, sys
root, short_bytes, short_entries, seed, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
sys.path.insert(0, work); import gen
rng = random.Random(f"pad-{seed}")
os.makedirs(root, exist_ok=True)
n = max(1, short_entries - 2 - short_entries // 500)   # leave room for the directories
per = max(0, short_bytes) // n
for i in range(n):
    sub = os.path.join(root, f"{i // 500:04d}")
    os.makedirs(sub, exist_ok=True)
    p = os.path.join(sub, f"pad{i:06d}.txt")
    with open(p, "wb") as f:
        f.write(gen.text(rng, per) if i % 2 else gen.rand(rng, per))
    os.utime(p, (1700000000, 1700000000))
PY
fi

# ---- 4. the modified copy ------------------------------------------------------
# cp -a copies files (reflinked where the filesystem can, real copies
# otherwise) and keeps hardlinks only within modified/, never into base/.
log "copying base to $DIR/modified and applying ~$CHANGE_PCT% of changes (seed $SEED)"
cp -a --reflink=auto "$DIR/base" "$DIR/modified"

python3 - "$DIR/modified" "$DIR/changes.tsv" "$SEED" "$CHANGE_PCT" "$SIZE_BYTES" "$DIR/.work" <<'PY'
import os, random, stat, sys
root, changes_path, seed, pct, size_target, work = sys.argv[1:7]
pct, size_target = float(pct), int(size_target)
sys.path.insert(0, work); import gen
rng = random.Random(f"modify-{seed}")

# Candidate files: regular, not hardlinked (a write would show in two places),
# in sorted order so the sample depends only on the seed.
files = []
for d, dirs, names in os.walk(root):
    dirs.sort()
    for n in sorted(names):
        p = os.path.join(d, n)
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
            files.append(p)
k = round(len(files) * pct / 100)
chosen = rng.sample(files, k)
n_append, n_over = round(k * 0.40), round(k * 0.35)
changes = []
touched_dirs = set()
DAY = 86400

for p in chosen[:n_append]:                          # append 512 B .. 64 KiB
    st = os.lstat(p)
    n = rng.randint(512, 64 * 1024)
    data = gen.text(rng, n) if rng.random() < 0.5 else gen.rand(rng, n)
    with open(p, "ab") as f:
        f.write(data)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + DAY * 10**9))
    changes.append(("append", p, n))

for p in chosen[n_append:n_append + n_over]:        # overwrite the middle, same size
    st = os.lstat(p)
    if st.st_size == 0:                              # nothing to overwrite: append instead
        n = rng.randint(512, 4096)
        with open(p, "ab") as f:
            f.write(gen.rand(rng, n))
        changes.append(("append", p, n))
    else:
        n = min(max(1, st.st_size // 8), 64 * 1024)
        with open(p, "r+b") as f:
            f.seek((st.st_size - n) // 2)
            f.write(gen.rand(rng, n))
        changes.append(("overwrite", p, n))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + DAY * 10**9))

for p in chosen[n_append + n_over:]:                 # delete
    n = os.lstat(p).st_size
    os.unlink(p)
    touched_dirs.add(os.path.dirname(p))
    changes.append(("delete", p, n))

# New files: pct% of the target size, half random, half text-like, sizes
# log-uniform between 4 KiB and 4 MiB, in new directories of 100 files.
new_root = os.path.join(root, "usr", "share", "cairn-bench-new")
for kind in ("random", "text"):
    budget, i = round(size_target * pct / 100 / 2), 0
    while budget > 0:
        n = min(budget, int(2 ** rng.uniform(12, 22)))
        d = os.path.join(new_root, kind, f"{i // 100:03d}")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, f"{kind}{i:05d}.{'bin' if kind == 'random' else 'txt'}")
        with open(p, "wb") as f:
            f.write(gen.rand(rng, n) if kind == "random" else gen.text(rng, n))
        os.utime(p, (1700000000, 1700000000))
        touched_dirs.add(d)
        changes.append(("new", p, n))
        budget -= n
        i += 1

# Directories whose listing changed get a fixed mtime, so the tree is the same
# on every build (deepest first so parents are set after their children).
for d in sorted(touched_dirs | {os.path.dirname(d) for d in touched_dirs},
                key=lambda x: -x.count("/")):
    while d.startswith(root) and d != root:
        os.utime(d, (1700000000, 1700000000))
        if d == new_root:
            break
        d = os.path.dirname(d)
os.utime(root, (1700000000, 1700000000))

with open(changes_path, "w") as f:
    for op, p, n in changes:
        f.write(f"{op}\t{os.path.relpath(p, root)}\t{n}\n")
PY

# ---- 5. figures and marker ----------------------------------------------------
figures() {  # $1 = tree
  local bytes entries files links dirs
  bytes=$(du -sb "$1" | cut -f1)
  entries=$(find "$1" | wc -l)
  files=$(find "$1" -type f | wc -l)
  links=$(find "$1" -type l | wc -l)
  dirs=$(find "$1" -type d | wc -l)
  printf '%-9s du -sb %12s bytes (%.3f GB)  entries %7s  (files %s, symlinks %s, dirs %s)\n' \
    "$(basename "$1")" "$bytes" "$(awk -v b="$bytes" 'BEGIN{print b/1e9}')" "$entries" "$files" "$links" "$dirs"
}
{
  echo "dataset $DIR  (target ${SIZE_GB} GB = $SIZE_BYTES bytes, $ENTRIES entries, seed $SEED)"
  figures "$DIR/base"
  figures "$DIR/modified"
  awk -F'\t' '{n[$1]++; b[$1]+=$3} END {
      printf "changes   %d appended (+%d B), %d overwritten in the middle (%d B), %d deleted (%d B), %d new files (%d B)\n",
        n["append"], b["append"], n["overwrite"], b["overwrite"], n["delete"], b["delete"], n["new"], b["new"] }' "$DIR/changes.tsv"
} >"$DIR/dataset.info"
rm -rf "$DIR/.work"
echo "$MARKER_TEXT" >"$DIR/dataset.marker"
print_info
