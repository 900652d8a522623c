#!/usr/bin/env bash
# README command 1: install, build, and run the main job on a local-directory
# repository: init, back up a sample tree, list it, restore a file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
cairn="$PWD/build/tools/cairn"

work="${CAIRN_DEMO_DIR:-/tmp/cairn-demo}"
rm -rf "$work"
mkdir -p "$work"
export CAIRN_REPO="$work/repo"
export CAIRN_PASSWORD="${CAIRN_PASSWORD:-demo-password}"
export CAIRN_CACHE_DIR="$work/cache"
sample=/usr/share/doc

set -x
"$cairn" init
"$cairn" backup "$sample"
"$cairn" backup "$sample"   # the second run reads nothing new
"$cairn" snapshots
"$cairn" ls latest "$sample" | head -n 20
"$cairn" stats
first_file=$(find "$sample" -type f -name copyright -print -quit)
"$cairn" restore latest --target "$work/restore" --include "$first_file"
cmp "$first_file" "$work/restore$first_file"
"$cairn" check --read-data
set +x
echo "demo finished: repository in $CAIRN_REPO, restored file in $work/restore$first_file"
