#!/usr/bin/env bash
# The password prompt on a real (pseudo-)terminal: Ctrl-C aborts at once with
# exit 130 and the terminal restored (it was swallowed, and the next line
# typed became the password); erase works; the typed password opens.
source "$(dirname "$0")/lib.sh"
PTY="python3 $(dirname "$0")/pty_prompt.py"

must init
src="$SCRATCH/src"
make_source "$src"
must backup "$src"

field() {  # field NAME: a field of the JSON line in $RES
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$RES" "$1"
}

# Ctrl-C at the prompt
RES=$(env -u CAIRN_PASSWORD $PTY '\x03' "$CAIRN" snapshots)
RC=$(field rc)
ERR=$(field output)
expect_rc 130 "Ctrl-C at the password prompt"
expect_err "enter the repository password: " "the prompt was shown"
expect_err "cairn: interrupted at the password prompt; nothing was done" "Ctrl-C message"
[[ "$ERR" != *"finishing cleanly"* ]] || fail "Ctrl-C at the prompt waits to finish cleanly"
[[ "$ERR" != *"ID"* ]] || fail "the command ran after Ctrl-C"
[[ $(field echo) == True && $(field icanon) == True && $(field isig) == True ]] ||
  fail "the terminal was not restored: $RES"

# Ctrl-C after some typing, before Enter: still nothing runs
RES=$(env -u CAIRN_PASSWORD $PTY 'correct horse\x03 battery staple\r' "$CAIRN" snapshots)
RC=$(field rc)
ERR=$(field output)
expect_rc 130 "Ctrl-C in the middle of a password"
[[ "$ERR" != *"ID"* ]] || fail "the command ran after Ctrl-C"

# Typing with a mistake erased: the password opens the repository
RES=$(env -u CAIRN_PASSWORD $PTY 'correct horse battery staplX\x7fe\r' "$CAIRN" snapshots)
RC=$(field rc)
OUT=$(field output)
expect_rc 0 "the typed password with an erased character"
expect_out "1 snapshot" "snapshots listed after the prompt"
[[ "$OUT" != *"correct horse"* ]] || fail "the password was echoed"
[[ $(field echo) == True ]] || fail "echo not restored after a good password: $RES"

# The kill character (Ctrl-U) starts the line again
RES=$(env -u CAIRN_PASSWORD $PTY 'garbage\x15correct horse battery staple\r' "$CAIRN" snapshots)
RC=$(field rc)
expect_rc 0 "Ctrl-U clears what was typed"

# A wrong typed password names the prompt as its source
RES=$(env -u CAIRN_PASSWORD $PTY 'nope\r' "$CAIRN" snapshots)
RC=$(field rc)
ERR=$(field output)
expect_rc 12 "a wrong typed password"
expect_err "(no key file opens with the password from the terminal prompt)" "the prompt is named"

finish
