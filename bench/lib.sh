# bench/lib.sh — helpers shared by the benchmark drivers (backup_bench.sh,
# mount_bench.sh, s3_bench.sh). Sourced, never run:
#
#   HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   source "$HERE/lib.sh"
#
# The functions read these variables of the sourcing script when called:
# COLD (1: drop the page cache before timed steps; 0 with --warm), MARKDOWN
# (1: print tables a second time as Markdown), DATA and SIZE_GB (the
# bench/dataset.sh dataset). Messages go to stderr; a script's stdout is its
# table.

# The script's name, in front of its error messages; bench/, for dataset.sh.
BENCH_NAME=$(basename "$0")
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "$BENCH_NAME: error: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

# ---- requirements ------------------------------------------------------------
# apt_need CMD PACKAGE: install the Debian package when CMD (a command name
# or a path) is missing. Installing needs root; otherwise the script stops
# and says what to install.
apt_need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  [[ $(id -u) -eq 0 ]] || die "$1 is missing: apt-get install $2 (or scripts/install-deps.sh --bench)"
  say "installing $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2
}

# drop_caches: page cache, dentries and inodes, machine-wide, before a cold
# step; nothing with --warm (COLD=0).
drop_caches() {
  ((COLD)) || return 0
  sync
  echo 3 >/proc/sys/vm/drop_caches
}
# check_drop_caches: stop at once, before any work, when a cold run cannot
# drop the page cache (it needs root and a writable /proc/sys/vm).
check_drop_caches() {
  ((COLD)) || return 0
  { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null ||
    die "cannot drop the page cache (needs root and a writable /proc/sys/vm); --warm runs without"
}

# ---- the dataset -------------------------------------------------------------
# ensure_dataset [SUBDIR...]: DATA holds a complete bench/dataset.sh dataset
# with these subdirectories (default: base). With SIZE_GB set, dataset.sh
# (re)builds it with that size (it reuses a dataset of the same parameters);
# without, it builds one with its defaults only when DATA has none.
# dataset.sh runs through $DATASET_RUNNER when set (mount_bench.sh's
# run_child, so that its TERM trap can stop it).
ensure_dataset() {
  local d
  if [[ -n "$SIZE_GB" ]]; then
    ${DATASET_RUNNER:-} "$BENCH_DIR/dataset.sh" "$DATA" --size-gb "$SIZE_GB" >&2
  elif [[ ! -f "$DATA/dataset.marker" ]]; then
    ${DATASET_RUNNER:-} "$BENCH_DIR/dataset.sh" "$DATA" >&2
  fi
  [[ -f "$DATA/dataset.marker" ]] || die "no complete dataset in $DATA (bench/dataset.sh DIR builds one)"
  for d in "${@:-base}"; do
    [[ -d "$DATA/$d" ]] || die "no complete dataset in $DATA (bench/dataset.sh DIR builds one)"
  done
}

# ---- results and tables ------------------------------------------------------
# tsv_append FILE N FIELD...: append one row of N tab-separated fields to
# FILE; fields not given are empty (a note left out, say).
tsv_append() {
  local file=$1 n=$2
  shift 2
  local fields=("$@")
  while ((${#fields[@]} < n)); do fields+=(""); done
  local IFS=$'\t'
  printf '%s\n' "${fields[*]}" >>"$file"
}

# machine_info: "DATE, ARCH, N cores, M GB RAM" for a table's title.
machine_info() {
  printf '%s, %s, %s cores, %s GB RAM' "$(date -u +%Y-%m-%d)" "$(uname -m)" "$(nproc)" \
    "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
}

# show_tables DIR: the script's print_table DIR as text, then (--markdown)
# again as Markdown after an empty line.
show_tables() {
  print_table "$1" 0
  if ((MARKDOWN)); then
    echo
    print_table "$1" 1
  fi
}
