#!/usr/bin/env bash
# README command 1: install, build, and run the main job on a local-directory
# repository: init, back up a sample tree, mount it and show it, restore a
# file, check.
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

# Browse the backup as an ordinary directory tree (FUSE; needs root or the
# fuse group). The daemon runs in the background until `cairn umount`.
mnt="$work/mnt"
mkdir -p "$mnt"
"$cairn" mount "$mnt"
trap '"$cairn" umount "$mnt" 2>/dev/null || true' EXIT
ls -l "$mnt" "$mnt/snapshots"
ls "$mnt/snapshots/latest$sample" | sed -n 1,10p
find "$mnt/snapshots/latest$sample" -type f | wc -l
getfattr --absolute-names -n user.cairn.sha256 --only-values "$mnt/snapshots/latest$first_file"; echo
sha256sum "$first_file"
cmp "$first_file" "$mnt/snapshots/latest$first_file"
diff -r --no-dereference "$sample" "$mnt/snapshots/latest$sample" && echo "the mounted snapshot equals $sample"
# Back up by rsync into head/ (series: this host), then seal a snapshot.
rsync -aHAX --delete --numeric-ids "$sample/" "$mnt/head/"
"$cairn" seal "$mnt"
ls "$mnt/series/"
diff -r --no-dereference "$sample" "$mnt/snapshots/latest/" && echo "the sealed snapshot equals $sample"
"$cairn" umount "$mnt"
trap - EXIT

"$cairn" restore latest --target "$work/restore" --include "$first_file"
cmp "$first_file" "$work/restore$first_file"
"$cairn" check --read-data
set +x
echo "demo finished: repository in $CAIRN_REPO, restored file in $work/restore$first_file"
echo "mount it again with: CAIRN_REPO=$CAIRN_REPO CAIRN_CACHE_DIR=$CAIRN_CACHE_DIR $cairn mount $mnt"
