#!/usr/bin/env bash
# init, backup, snapshots, ls, cat, restore, check, stats, key: the happy path.
source "$(dirname "$0")/lib.sh"

src="$SCRATCH/src"
make_source "$src"

must init
expect_out "created cairn repository" "init"
run init
expect_rc 1 "init over an existing repository"
expect_err "already holds a cairn repository" "init over an existing repository"

must backup "$src"
expect_out "snapshot" "first backup"
expect_out "5 new, 0 changed, 0 unmodified" "first backup counts"
must backup "$src"
expect_out "0 new, 0 changed, 5 unmodified" "second backup reads nothing"
echo more >>"$src/hello.txt"
must backup --tag second "$src"
expect_out "0 new, 2 changed, 3 unmodified" "third backup sees the appended file (and its hardlink)"

must snapshots --json
n=$(grep -o '"short_id"' <<<"$OUT" | wc -l)
[[ $n == 3 ]] || fail "snapshots --json lists $n snapshots, want 3"
must snapshots --tag second
expect_out "1 snapshot" "snapshots --tag"
[[ "$OUT" != *"1 snapshots"* ]] || fail "snapshots --tag: \"1 snapshots\""

must ls latest "$src"
expect_out "$src/sub/deeper/one" "ls"
must ls -l latest "$src/sub"
expect_out "-> ../hello.txt" "ls -l shows the link target"

must cat latest "$src/sub/numbers.txt"
[[ "$OUT" == "$(cat "$src/sub/numbers.txt")" ]] || fail "cat returns the file's content"
run cat latest "$src/nope"
expect_rc 15 "cat of a missing path"
expect_err "no such file or directory in snapshot" "cat of a missing path"

must restore latest --target "$SCRATCH/restore"
diff -r -x fifo "$src" "$SCRATCH/restore$src" >/dev/null || fail "restored tree differs from the source"
[[ $(stat -c %Y "$SCRATCH/restore$src/sub/numbers.txt") == $(stat -c %Y "$src/sub/numbers.txt") ]] ||
  fail "mtime not restored"
[[ $(stat -c %i "$SCRATCH/restore$src/hello.txt") == $(stat -c %i "$SCRATCH/restore$src/sub/hardlink") ]] ||
  fail "hardlink not restored as a hardlink"
[[ -p "$SCRATCH/restore$src/fifo" ]] || fail "fifo not restored"

must restore latest --target "$SCRATCH/partial" --include "$src/sub"
[[ -f "$SCRATCH/partial$src/sub/numbers.txt" && ! -e "$SCRATCH/partial$src/random.bin" ]] ||
  fail "restore --include restores only the matching subtree"
must restore latest --target "$SCRATCH/excl" --exclude '*.bin'
[[ -f "$SCRATCH/excl$src/hello.txt" && ! -e "$SCRATCH/excl$src/random.bin" ]] ||
  fail "restore --exclude leaves out matching files"

must check --read-data
expect_out "no errors were found" "check --read-data"
must check --read-data-subset 50%
must stats --json
expect_out '"dedup_ratio"' "stats --json"

# stdin backup
printf 'from stdin\n' | "$CAIRN" backup --stdin --stdin-name piped.txt >/dev/null
must cat latest /piped.txt
[[ "$OUT" == "from stdin" ]] || fail "stdin backup round trip"

# exclude and files-from
printf '%s\n' "$src/sub" >"$SCRATCH/list"
must backup --files-from "$SCRATCH/list" --exclude 'numbers*'
must ls latest
[[ "$OUT" != *numbers.txt* && "$OUT" == *deeper/one* ]] || fail "--files-from with --exclude"

# keys: add a second password, open with it, remove the first
printf 'second password\n' >"$SCRATCH/pw2"
must key add --new-password-file "$SCRATCH/pw2"
CAIRN_PASSWORD="second password" "$CAIRN" snapshots >/dev/null || fail "open with the added key"
must key list --json
n=$(grep -o '"current"' <<<"$OUT" | wc -l)
[[ $n == 2 ]] || fail "key list shows $n keys, want 2"
first=$(CAIRN_PASSWORD="second password" "$CAIRN" key list --json | grep -o '"current":false,"hostname":"[^"]*","id":"[0-9a-f]*' | grep -o '[0-9a-f]*$' || true)
if [[ -n "$first" ]]; then
  CAIRN_PASSWORD="second password" "$CAIRN" key remove "${first:0:8}" >/dev/null || fail "key remove"
  run snapshots
  expect_rc 12 "the removed password no longer opens the repository"
else
  fail "could not find the first key's id in key list --json"
fi
finish
