#!/usr/bin/env bash
# What a new user tripped over (issue 14, research/new-user-trial-2026-12-03.md),
# each message checked word for word, and `cairn version`.
source "$(dirname "$0")/lib.sh"

# --- an unknown command names itself and points to --help (exit 4)
run restor latest
expect_rc 4 "unknown command"
[[ "$ERR" == $'cairn: unknown command "restor"; did you mean "restore"?\nRun `cairn --help` for the list of commands.' ]] ||
  fail "unknown command: wrong message"
run frobnicate --json
expect_rc 4 "unknown command with an option"
[[ "$ERR" == $'cairn: unknown command "frobnicate"\nRun `cairn --help` for the list of commands.' ]] ||
  fail "unknown command without a suggestion: wrong message"
run -r "$SCRATCH/x" snapshot
expect_rc 4 "a typo after a global option"
expect_err 'unknown command "snapshot"; did you mean "snapshots"?' "the typo's suggestion"

# --- parser errors start with "cairn:" and say where help is
run restore latest
expect_rc 2 "restore without --target"
[[ "$ERR" == $'cairn: --target is required\nRun `cairn --help` or `cairn COMMAND --help` for more information.' ]] ||
  fail "parser error: wrong message"
run backup --no-such-option
expect_rc 2 "an unknown option"
expect_err "cairn: The following argument was not expected: --no-such-option" "unknown option"

# --- --help names the environment and the exit codes; the usage says "cairn"
must --help
expect_out "Usage: cairn [OPTIONS]" "usage names cairn, not argv[0]"
expect_out "CAIRN_PASSWORD_FILE" "--help lists the environment"
expect_out "4 unknown command" "--help lists the exit codes"

# --- cairn version: the build and its libraries
must version
expect_out "cairn 0.1.0" "version"
for lib in fuse zstd openssl curl lmdb; do expect_out "$lib " "version names $lib"; done
expect_out "compiler:" "version names the compiler"
expect_out "build type:" "version names the build type"
must version --json
for key in version compiler build_type sanitizers platform libraries; do
  expect_out "\"$key\":" "version --json has $key"
done
must --version
[[ "$OUT" == "cairn 0.1.0" ]] || fail "--version stays one line"

# --- restic-style locations are refused, and nothing is created
cd "$SCRATCH"
for spec in sftp:host:/srv/x rest:http://host:8000/ b2:bucket:path azure:c:/p gs:b:/p \
  swift:c:/p rclone:remote:path; do
  CAIRN_REPO="$spec" run init
  expect_rc 2 "init $spec"
  word=${spec%%:*}
  [[ "$ERR" == "cairn: repository $spec: \"$word:\" locations are restic's; cairn supports a directory path, file:///absolute/path or s3://bucket/prefix (for a local directory with this name, write ./$spec)" ]] ||
    fail "init $spec: wrong message"
  [[ ! -e "$SCRATCH/$word:host:" && ! -e "$SCRATCH/${spec%%/*}" ]] || fail "init $spec created something"
done
[[ -z "$(ls -A "$SCRATCH" | grep -v -e '^out$' -e '^err$')" ]] || fail "restic specs left files: $(ls -A "$SCRATCH")"
cd /

# --- a repository path that is a file: the same clear message for init and the rest
printf 'x' >"$SCRATCH/afile"
for cmd in snapshots init; do
  CAIRN_REPO="$SCRATCH/afile" run $cmd
  expect_rc 2 "$cmd on a file"
  [[ "$ERR" == "cairn: repository $SCRATCH/afile is a file, not a directory: give the directory of a repository, or a new path for \`cairn init\`" ]] ||
    fail "$cmd on a file: wrong message"
done

# --- key add with no terminal names --new-password-file
src="$SCRATCH/src"
make_source "$src"
must init
must backup "$src"
run key add
expect_rc 2 "key add without a terminal"
expect_err "cairn: no password given and no terminal to ask on: give the new password with --new-password-file" "key add names the right option"

# --- a wrong password names where it came from
printf 'wrong\n' >"$SCRATCH/pwfile"
env -u CAIRN_PASSWORD "$CAIRN" --password-file "$SCRATCH/pwfile" snapshots >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null && RC=0 || RC=$?
ERR=$(cat "$SCRATCH/err")
expect_rc 12 "wrong password from a file"
expect_err "cairn: wrong password for the repository at $CAIRN_REPO (no key file opens with the password from --password-file $SCRATCH/pwfile)" "the password's source is named"
CAIRN_PASSWORD=wrong run snapshots
expect_err "(no key file opens with the password from CAIRN_PASSWORD)" "CAIRN_PASSWORD named"

# --- a temporary pack left by an interrupted write: check and index rebuild say so
pack_dir=$(dirname "$(find "$CAIRN_REPO/packs" -type f | head -n 1)")
head -c 12345 /dev/urandom >"$pack_dir/.tmp-0123456789abcdef"
tmp_name="packs/$(basename "$pack_dir")/.tmp-0123456789abcdef"
run check
expect_rc 0 "check with a temporary pack (a warning, not an error)"
expect_out "warning: $tmp_name: temporary file of an interrupted write (12345 bytes, last written" "check names the temporary pack"
expect_out "e.g. a backup stopped by a second Ctrl-C; it is not part of the repository: delete it once no cairn command is writing to the repository" "check says what to do"
run check --json
expect_out '"incomplete_writes":1' "check --json counts it"
run index rebuild
expect_rc 0 "index rebuild with a temporary pack"
expect_err "warning: $tmp_name: temporary file of an interrupted write (12345 bytes" "index rebuild names the temporary pack"
expect_out "1 temporary file of an interrupted write reported" "index rebuild counts it"
[[ -e "$pack_dir/.tmp-0123456789abcdef" ]] || fail "the temporary pack was removed"
rm "$pack_dir/.tmp-0123456789abcdef"
run check
[[ "$OUT" != *"temporary file"* ]] || fail "check still reports a removed temporary pack"

# --- singular and plural
run snapshots
expect_out "1 snapshot" "one snapshot"
[[ "$OUT" != *"1 snapshots"* ]] || fail "\"1 snapshots\""

finish
