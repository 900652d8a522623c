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
#
# Files: this script (options, requirements, the run), bench/mount/mounts.sh
# (mount, unmount, cleanup), bench/mount/steps.sh (timed steps, backups),
# bench/mount/{tree,big,manyfiles}.sh (one per part), bench/mount_table.awk
# (the table), bench/lib.sh (helpers shared with the other benchmarks).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$HERE/lib.sh"
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
  show_tables "$TABLE_ONLY"
  exit 0
fi

# ---- requirements --------------------------------------------------------------
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

check_drop_caches

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
record() { tsv_append "$RESULTS" 9 "$PART" "$@"; }  # tool step seconds mbps rss_mb value status [note]

# ---- the pieces ----------------------------------------------------------------
# shellcheck source=bench/mount/mounts.sh
source "$HERE/mount/mounts.sh"        # mount, unmount, find the daemon, clean up
# shellcheck source=bench/mount/steps.sh
source "$HERE/mount/steps.sh"         # timed steps, the daemon's RSS, backups
# shellcheck source=bench/mount/tree.sh
source "$HERE/mount/tree.sh"          # part_tree
# shellcheck source=bench/mount/big.sh
source "$HERE/mount/big.sh"           # part_big
# shellcheck source=bench/mount/manyfiles.sh
source "$HERE/mount/manyfiles.sh"     # part_manyfiles
# From here on no mount or daemon outlives the script (mount/mounts.sh).
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- run ---------------------------------------------------------------------------
{
  printf 'title\tmount benchmark, %s, page cache %s\n' "$(machine_info)" \
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

show_tables "$SCRATCH"
! awk -F'\t' '$8 == "FAILED" { bad = 1 } END { exit !bad }' "$RESULTS"
