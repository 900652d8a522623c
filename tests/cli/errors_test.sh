#!/usr/bin/env bash
# Bad input: each case checks the exit status and the message.
source "$(dirname "$0")/lib.sh"

src="$SCRATCH/src"
make_source "$src"
for i in $(seq 1 40); do head -c $((20000 + i * 997)) /dev/urandom >"$src/sub/file$i"; done
must init
must backup "$src"
pristine="$SCRATCH/pristine"
cp -a "$CAIRN_REPO" "$pristine"
reset_repo() { rm -rf "$CAIRN_REPO" "$CAIRN_CACHE_DIR"; cp -a "$pristine" "$CAIRN_REPO"; }
largest_pack() { find "$CAIRN_REPO/packs" -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2; }

# --- wrong password
CAIRN_PASSWORD=wrong run snapshots
expect_rc 12 "wrong password"
expect_err "wrong password for the repository at $CAIRN_REPO" "wrong password"

# --- no repository
CAIRN_REPO="$SCRATCH/nothing-here" run snapshots
expect_rc 10 "missing repository"
expect_err "no cairn repository at $SCRATCH/nothing-here" "missing repository"
mkdir -p "$SCRATCH/emptydir"
CAIRN_REPO="$SCRATCH/emptydir" run snapshots
expect_rc 10 "a directory that is not a repository"
printf 'not json' >"$SCRATCH/emptydir/config"
CAIRN_REPO="$SCRATCH/emptydir" run snapshots
expect_rc 10 "a config that is not cairn's"
expect_err "is not a cairn config" "a config that is not cairn's"
CAIRN_REPO= run snapshots
expect_rc 2 "no repository given"
expect_err "use -r REPO or set CAIRN_REPO" "no repository given"

# --- what does not exist: a snapshot, a path in one
run ls 0123456789abcdef
expect_rc 15 "a snapshot that does not exist"
expect_err "no snapshot with id 0123456789abcdef" "a snapshot that does not exist"
run cat latest "$src/no-such-file"
expect_rc 15 "a path that is not in the snapshot"
expect_err "no such file or directory in snapshot" "a path that is not in the snapshot"

# --- seal and --refresh talk to a mount's daemon: a plain directory is none
# (no repository is needed to say so)
CAIRN_REPO= run seal /tmp
expect_rc 15 "seal of a directory that is not a mount"
expect_err "/tmp is not a cairn mount" "seal names the directory"
CAIRN_REPO= run seal --status --json /tmp
expect_rc 15 "seal --status of a directory that is not a mount"
expect_err "/tmp is not a cairn mount" "seal --status names the directory"
run mount --refresh /tmp
expect_rc 15 "mount --refresh of a directory that is not a mount"
expect_err "/tmp is not a cairn mount" "mount --refresh names the directory"
run seal
expect_rc 2 "seal without a mount point"
run seal --status --tag nightly /tmp
expect_rc 2 "seal --status with a tag"

# --- a store that cannot be reached: retried, then its own exit status
AWS_ACCESS_KEY_ID=AKTEST AWS_SECRET_ACCESS_KEY=not-a-secret \
  CAIRN_REPO="s3://bucket/repo?endpoint=http://127.0.0.1:1" \
  run snapshots --retries 1 --retry-time 2 --connect-timeout 1
expect_rc 16 "an unreachable store"
expect_err "gave up after 2 attempts" "an unreachable store is retried"

# --- newer format
sed -i 's/"format": 1/"format": 2/' "$CAIRN_REPO/config"
run snapshots
expect_rc 11 "newer repository format"
expect_err "repository format version 2 is newer than this cairn supports (1); upgrade cairn" "newer format"
reset_repo

# --- one flipped byte in a data pack
pack=$(largest_pack)
pack_id=$(basename "$pack")
size=$(stat -c %s "$pack")
offset=$((size / 3))
byte=$(dd if="$pack" bs=1 skip=$offset count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$pack" bs=1 seek=$offset conv=notrunc 2>/dev/null
run check --read-data
expect_rc 13 "check of a flipped byte"
expect_err "pack $pack_id: checksum mismatch" "check names the pack"
expect_err "data blob" "check names the blob"
run restore latest --target "$SCRATCH/r1"
expect_rc 13 "restore with a flipped byte"
expect_err "could not restore" "restore names the damaged files"
damaged=0
while IFS= read -r -d '' f; do
  rel=${f#"$src"}
  if ! cmp -s "$f" "$SCRATCH/r1$src$rel"; then
    if [[ "$ERR" == *"$SCRATCH/r1$src$rel"* ]]; then
      damaged=$((damaged + 1))
    else
      fail "restore: $rel differs but was not reported"
    fi
  fi
done < <(find "$src" -type f -print0)
((damaged >= 1)) || fail "no file was reported damaged"
((damaged <= 2)) || fail "$damaged files damaged by one flipped byte"
reset_repo

# --- truncated pack
pack=$(largest_pack)
truncate -s $(($(stat -c %s "$pack") / 2)) "$pack"
run check
expect_rc 13 "check of a truncated pack"
expect_err "pack $(basename "$pack"): size" "truncated pack named"
run restore latest --target "$SCRATCH/r2"
expect_rc 13 "restore from a truncated pack"
reset_repo

# --- missing pack
pack=$(largest_pack)
rm "$pack"
run check
expect_rc 13 "check of a missing pack"
expect_err "pack $(basename "$pack"): missing from the store" "missing pack named"
run restore latest --target "$SCRATCH/r3"
expect_rc 13 "restore with a missing pack"
expect_err "is missing from the store" "restore names the missing pack"
reset_repo

# --- restore target disk full
full="$SCRATCH/full"
mkdir -p "$full"
if mount -t tmpfs -o size=1m tmpfs "$full" 2>/dev/null; then
  CLEANUPS+=("umount '$full'")
  run restore latest --target "$full"
  expect_rc 17 "restore onto a full disk"
  expect_err "restore target $full is full" "full disk named"
else
  fail "cannot mount a tmpfs for the disk-full test (needs root)"
fi

# --- the blob cache in use by another mount of the repository: locked
if [[ -e /dev/fuse ]] && [[ $(id -u) == 0 ]]; then
  m1="$SCRATCH/m1"
  m2="$SCRATCH/m2"
  mkdir -p "$m1" "$m2"
  run mount --cache-size 64M "$m1"
  expect_rc 0 "the first mount"
  CLEANUPS+=("! mountpoint -q '$m1' || '$CAIRN' umount -l '$m1'")
  run mount --cache-size 64M "$m2"
  expect_rc 18 "a second mount sharing the cache directory"
  expect_err "is in use by another cairn process" "the cache in use is named"
  run umount "$m1"
  expect_rc 0 "unmounting the first mount"
else
  fail "the cache-in-use test needs root and /dev/fuse"
fi

# --- unreadable source file: skipped, reported, exit 3 (as an unprivileged user)
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  usrc="$SCRATCH/usrc"
  mkdir -p "$usrc"
  echo ok >"$usrc/readable"
  echo secret >"$usrc/locked"
  chmod 000 "$usrc/locked"
  chmod -R a+rwX "$SCRATCH"
  chmod 000 "$usrc/locked"
  set +e
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$SCRATCH" "$CAIRN" backup "$usrc" \
    >"$SCRATCH/out" 2>"$SCRATCH/err"
  RC=$?
  set -e
  OUT=$(cat "$SCRATCH/out")
  ERR=$(cat "$SCRATCH/err")
  expect_rc 3 "backup with an unreadable file"
  expect_err "skipped $usrc/locked: opening $usrc/locked: Permission denied" "unreadable file reported"
  expect_err "1 item could not be read and is not in it" "partial summary"
  chown -R root:root "$SCRATCH"
  must ls latest "$usrc"
  [[ "$OUT" == *readable* && "$OUT" != *locked* ]] || fail "the partial snapshot holds the readable file only"
else
  fail "unreadable-file test needs root and setpriv"
fi

# --- file modified while being read
big="$SCRATCH/growing"
mkdir -p "$big"
head -c 300000000 /dev/zero >"$big/file"
(while :; do head -c 65536 /dev/urandom >>"$big/file"; done) &
writer=$!
CLEANUPS+=("kill $writer 2>/dev/null")
run backup "$big"
kill $writer 2>/dev/null || true
expect_rc 0 "backup of a file that changes"
expect_err "file changed while being read" "the change is reported"
run check --read-data
expect_rc 0 "the snapshot of a changing file is consistent"

finish
