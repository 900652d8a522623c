#!/usr/bin/env bash
# Backup benchmark: cairn vs restic vs borg on the same data, same run.
# For each tool: a fresh copy of the dataset at SCRATCH/src, a cold first
# backup, the deterministic 2% change applied in place (bench/modify.sh), a
# cold incremental backup, a cold full restore (verified with diff -r), and
# the repository size. Prints wall time, CPU time and peak RSS per step and
# the ratios cairn/restic and cairn/borg.
# Usage: bench/backup_bench.sh [--data DIR] [--size-gb G] [--tools cairn,restic,borg]
#                              [--scratch DIR] [--cairn PATH] [--markdown]
# Needs root (drop_caches). Installs restic, borg and time when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=/var/tmp/cairn-bench-data
scratch=/var/tmp/cairn-bench
size_gb=2.5
tools=cairn,restic,borg
cairn="$here/../build/tools/cairn"
markdown=0
while (($#)); do
  case $1 in
    --data) data=$2; shift 2 ;;
    --size-gb) size_gb=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    --scratch) scratch=$2; shift 2 ;;
    --cairn) cairn=$2; shift 2 ;;
    --markdown) markdown=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
"$here/../scripts/install-deps.sh" --bench >/dev/null
"$here/dataset.sh" "$data" "$size_gb"

export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench CAIRN_PASSWORD=bench
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
results="$scratch/results.tsv"
mkdir -p "$scratch"
: >"$results"

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# measure TOOL STEP CMD...: runs CMD cold, appends "tool step wall cpu rss_kb".
measure() {
  local tool=$1 step=$2
  shift 2
  drop_caches
  /usr/bin/time -f "%e %U %S %M" -o "$scratch/time.out" "$@" >"$scratch/$tool-$step.log" 2>&1 || {
    echo "FAILED: $tool $step (see $scratch/$tool-$step.log)" >&2
    tail -n 5 "$scratch/$tool-$step.log" >&2
    echo -e "$tool\t$step\tFAILED\tFAILED\tFAILED" >>"$results"
    return 0
  }
  read -r wall user sys rss <"$scratch/time.out"
  echo -e "$tool\t$step\t$wall\t$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')\t$rss" >>"$results"
  echo "$tool $step: ${wall}s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')s CPU, $((rss / 1024)) MB RSS" >&2
}

run_tool() {
  local tool=$1 repo="$scratch/repo-$1" src="$scratch/src" out="$scratch/restore-$1"
  rm -rf "$repo" "$src" "$out" "$scratch/cache-$tool"
  cp -a "$data/base" "$src"
  case $tool in
    cairn)
      export CAIRN_CACHE_DIR="$scratch/cache-cairn"
      "$cairn" -r "$repo" init >/dev/null
      measure cairn first "$cairn" -r "$repo" backup "$src"
      "$here/modify.sh" "$src" >/dev/null
      measure cairn incremental "$cairn" -r "$repo" backup "$src"
      measure cairn restore "$cairn" -r "$repo" restore latest --target "$out"
      ;;
    restic)
      export RESTIC_CACHE_DIR="$scratch/cache-restic"
      restic -r "$repo" init >/dev/null
      measure restic first restic -r "$repo" backup --compression auto "$src"
      "$here/modify.sh" "$src" >/dev/null
      measure restic incremental restic -r "$repo" backup --compression auto "$src"
      measure restic restore restic -r "$repo" restore latest --target "$out"
      ;;
    borg)
      export BORG_CACHE_DIR="$scratch/cache-borg" BORG_BASE_DIR="$scratch/borg-base"
      borg init -e repokey-blake2 "$repo" >/dev/null 2>&1
      measure borg first borg create --compression zstd,3 "$repo::first" "$src"
      "$here/modify.sh" "$src" >/dev/null
      measure borg incremental borg create --compression zstd,3 "$repo::second" "$src"
      mkdir -p "$out"
      measure borg restore bash -c "cd '$out' && borg extract '$repo::second'"
      ;;
  esac
  # Verify: the restored tree must equal the source (content and names).
  if diff -r --no-dereference -x '*.fifo' "$src" "$out$src" >"$scratch/$tool-diff.log" 2>&1; then
    echo -e "$tool\tverify\tok\t-\t-" >>"$results"
  else
    echo "FAILED: $tool restore differs from the source (see $scratch/$tool-diff.log)" >&2
    echo -e "$tool\tverify\tFAILED\t-\t-" >>"$results"
  fi
  echo -e "$tool\tsize\t$(du -sb "$repo" | cut -f1)\t-\t-" >>"$results"
  rm -rf "$out"
}

IFS=, read -r -a list <<<"$tools"
for t in "${list[@]}"; do
  if [[ $t == cairn && ! -x "$cairn" ]]; then
    echo "cairn binary $cairn is missing: skipping cairn" >&2
    continue
  fi
  run_tool "$t"
done
"$here/report.sh" "$results" "$markdown"
