#!/usr/bin/env bash
# cairn seal against a stand-in daemon (fake_mount_daemon.py): the request
# it sends, its output with and without --json, the daemon's error codes
# becoming exit statuses, and the errors that need no daemon at all.
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
unset CAIRN_REPO  # seal needs no repository

mnt="$SCRATCH/mnt"
daemon_dir="$SCRATCH/daemon"
mkdir -p "$mnt/head" "$daemon_dir"
name="cairn-seal-test-$$"
if ! setfattr -n user.cairn.control -v "$name" "$mnt" 2>/dev/null; then
  echo "the file system of $SCRATCH has no user xattrs" >&2
  exit 1
fi
python3 "$(dirname "$0")/fake_mount_daemon.py" "$name" "$daemon_dir" &
daemon=$!
CLEANUPS+=("kill $daemon 2>/dev/null")
for _ in $(seq 1 100); do [[ -e "$daemon_dir/ready" ]] && break; sleep 0.05; done
[[ -e "$daemon_dir/ready" ]] || fail "the stand-in daemon did not start"

id_a=$(printf 'a%.0s' $(seq 1 64))
id_b=$(printf 'b%.0s' $(seq 1 64))
cat >"$daemon_dir/seal.reply" <<JSON
ok {"snapshot":"$id_a","name":"2026-12-03T02:00:04Z_aaaaaaaa","parent":"$id_b","files":100,"files_new":41,"files_changed":7,"files_unmodified":52,"bytes_read":65431142,"stored_bytes_added":22334455,"trees_written":38,"duration_ns":4210000000,"leftover_temp_files":["srv/.index.html.Xq2Tz1","head/.b.AbCdEf"],"a_field_from_the_future":1}
JSON
cat >"$daemon_dir/head-status.reply" <<JSON
ok {"series":"web1","base":"$id_b","staged_bytes":1048576,"staging_limit":0,"changed_entries":12,"files_pending":3,"oldest_change_ns":$(( ($(date +%s) - 125) * 1000000000 )),"sealing":false,"fuse_requests":{"lookup":12,"write":40,"create":1}}
JSON

# --- a seal: the request, then two lines and a warning per leftover temporary
run seal --tag nightly --tag web -m "before the upgrade" "$mnt"
expect_rc 0 "seal"
expect_out "sealed snapshots/2026-12-03T02:00:04Z_aaaaaaaa ($id_a)" "the first line names the snapshot"
expect_out "41 new, 7 changed, 52 unmodified files; 62.4 MiB read, 21.3 MiB stored, 38 trees written in 4.21s" "the summary line"
[[ "$(head -n 1 <<<"$OUT")" == "sealed snapshots/"* ]] || fail "the snapshot is on the first line"
expect_err "leftover rsync temporary: head/srv/.index.html.Xq2Tz1 (from a killed rsync; delete it and seal again, or keep it)" "the first leftover"
expect_err "leftover rsync temporary: head/.b.AbCdEf" "a leftover named with head/ already"
sent=$(tail -n 1 "$daemon_dir/commands")
[[ "$sent" == 'seal {"message":"before the upgrade","tags":["nightly","web"]}' ]] ||
  fail "the seal request sent: $sent"

# --- --json: the report re-encoded, unknown fields dropped, no warnings
run seal --json "$mnt"
expect_rc 0 "seal --json"
python3 - "$SCRATCH/out" "$id_a" <<'PY' || fail "seal --json output"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["snapshot"] == sys.argv[2], r
assert r["files_new"] == 41 and r["duration_ns"] == 4210000000, r
assert r["leftover_temp_files"] == ["srv/.index.html.Xq2Tz1", "head/.b.AbCdEf"], r
assert "a_field_from_the_future" not in r, r
PY
[[ -z "$ERR" ]] || fail "seal --json printed on stderr: $ERR"

# --- --status
run seal --status "$mnt"
expect_rc 0 "seal --status"
expect_out "series:          web1" "status: series"
expect_out "base snapshot:   $id_b" "status: base"
expect_out "staged:          1 MiB (limit none but the disk)" "status: staged"
expect_out "changed entries: 12" "status: changed entries"
expect_out "pending files:   3" "status: pending files"
expect_out "oldest change:   2m" "status: oldest change"
expect_out $'\nFUSE requests:\n' "status: the FUSE requests heading"
expect_out "sealing:         no" "status: sealing"
[[ "$(tail -n 3 <<<"$OUT")" == $'  write 40\n  lookup 12\n  create 1' ]] ||
  fail "status: FUSE requests, most frequent first"
[[ "$(tail -n 1 "$daemon_dir/commands")" == "head-status" ]] || fail "status sends head-status"
run seal --status --json "$mnt"
expect_rc 0 "seal --status --json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["fuse_requests"]["write"]==40 and s["base"] and s["staging_limit"]==0, s' \
  "$SCRATCH/out" || fail "seal --status --json output"

# --- skipped entries: sealed, exit 3
sed -i 's/"trees_written":38/"trees_written":38,"skipped":2/' "$daemon_dir/seal.reply"
run seal "$mnt"
expect_rc 3 "a seal that left entries out"
expect_out "sealed snapshots/" "the partial seal still names the snapshot"
expect_err "2 entries of head/ are not in it" "the partial seal says how many"

# --- the daemon's errors keep their exit status
echo "error NoSpace the staging directory /var/cache/cairn/staging is full" >"$daemon_dir/seal.reply"
run seal "$mnt"
expect_rc 17 "a daemon's NoSpace"
expect_err "mount daemon: the staging directory /var/cache/cairn/staging is full" "NoSpace message"
echo "error Transient store unreachable after 5 attempts" >"$daemon_dir/seal.reply"
run seal "$mnt"
expect_rc 16 "a daemon's Transient"
echo "error Locked object lock forbids it" >"$daemon_dir/seal.reply"
run seal "$mnt"
expect_rc 18 "a daemon's Locked"
# A daemon older than error codes, or one without head/.
echo "error unknown command \"seal\"" >"$daemon_dir/seal.reply"
run seal "$mnt"
expect_rc 1 "an old daemon's error"
expect_err "mount daemon: unknown command \"seal\"" "the old daemon's message"
# An answer this cairn cannot read.
echo 'ok {"files":"many"}' >"$daemon_dir/seal.reply"
run seal "$mnt"
expect_rc 1 "an unreadable seal report"
expect_err "cannot read" "an unreadable report is named"

# --- a seal that takes long: no timeout; SIGINT stops waiting (exit 130)
echo hang >"$daemon_dir/seal.reply"
set +e
"$CAIRN" seal "$mnt" >"$SCRATCH/out" 2>"$SCRATCH/err" </dev/null &
client=$!
sleep 1
kill -INT $client
wait $client
RC=$?
set -e
ERR=$(cat "$SCRATCH/err")
expect_rc 130 "an interrupted seal"
expect_err "goes on with the seal" "the interrupted seal says the daemon goes on"

# --- no daemon, not a mount, no mount point
kill $daemon
wait $daemon 2>/dev/null || true
run seal "$mnt"
expect_rc 15 "a mount whose daemon is gone"
expect_err "no mount daemon answers on @$name" "the dead daemon is named"
run seal "$mnt/head"
expect_rc 15 "seal of head/ instead of the mount point"
expect_err "$mnt/head is not a cairn mount" "head/ is named"
expect_err "run \`cairn seal $mnt\`" "the mount point is suggested"
run seal "$SCRATCH"
expect_rc 15 "seal of a directory that is not a mount"
expect_err "$SCRATCH is not a cairn mount" "the directory is named"
run seal
expect_rc 2 "seal without a mount point"

finish
