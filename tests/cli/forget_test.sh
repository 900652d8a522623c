#!/usr/bin/env bash
# cairn forget: by policy per host and series, --dry-run with the reasons,
# --json, by id, the refusals; forgotten snapshots leave `snapshots` and the
# data stays (no prune yet).
source "$(dirname "$0")/lib.sh"

src="$SCRATCH/src"
make_source "$src"
must init
for i in 1 2 3; do
  echo "$i" >"$src/gen"
  must backup --tag "gen$i" "$src"
done
must backup --host other --tag keep "$src"
must backup --series etc "$src"
count() { "$CAIRN" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
ids() {  # ids [snapshots options]: ids oldest first
  "$CAIRN" snapshots --json "$@" | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))'
}
[[ $(count) == 5 ]] || fail "setup: want 5 snapshots"
read -r -a main_ids <<<"$(ids --host "$(hostname)" --series "$(hostname):$src")"
((${#main_ids[@]} == 3)) || fail "setup: want 3 snapshots in the main series, got ${#main_ids[@]}"
packs_before=$(find "$CAIRN_REPO/packs" -type f | wc -l)

# --- forget is a command now; a typo of it is suggested
run forgte --keep-last 1
expect_rc 4 "a typo of forget"
expect_err 'cairn: unknown command "forgte"; did you mean "forget"?' "forget is suggested"

# --- refusals (nothing removed)
run forget
expect_rc 2 "forget without a policy"
expect_err "cairn: no policy and no snapshot ids given, so nothing would be removed" "no policy"
run forget --keep-last 1 "${main_ids[0]}"
expect_rc 2 "ids and a policy"
expect_err "cairn: give either snapshot ids or --keep-* options, not both (nothing was removed)" "ids and a policy"
run forget --keep-daily 2 --prune
expect_rc 11 "--prune"
expect_err "cairn: --prune: prune is not implemented yet; run \`cairn forget\` without --prune" "--prune"
run forget --keep-within 1w
expect_rc 2 "a bad duration"
expect_err "cairn: --keep-within: invalid duration \"1w\": give numbers of years, months, days and hours such as 1y6m, 7d or 2d12h (y, m, d, h)" "bad duration"
run forget --keep-daily lots
expect_rc 2 "a bad count"
expect_err "cairn: --keep-daily lots: give a number of snapshots or \`unlimited\`" "bad count"
run forget --keep-tag nothing-has-this --series "$(hostname):$src"
expect_rc 2 "a policy that keeps nothing of a group"
expect_err "cairn: refusing to remove all 3 snapshots of host $(hostname), series $(hostname):$src: the policy keeps none of them; name them by id to remove them all" "refusal names the group"
run forget --keep-tag nothing-has-this --host other
expect_err "cairn: refusing to remove the only snapshot of host other, series other:$src:" "one snapshot"
[[ $(count) == 5 ]] || fail "a refused forget removed snapshots"

# --- --dry-run shows the plan per group and removes nothing
must forget --keep-last 1 --dry-run
expect_out "Applying policy: keep 1 latest snapshot" "the policy is described"
expect_out "snapshots of host $(hostname), series $(hostname):$src" "the main group"
expect_out "snapshots of host other, series other:$src" "the other host's group"
expect_out "snapshots of host $(hostname), series etc" "the etc series"
expect_out "keep 1 snapshot:" "one kept per group"
expect_out "remove 2 snapshots:" "two removed in the main group"
expect_out "${main_ids[2]:0:8}" "the newest is listed"
expect_out "last snapshot" "the reason"
expect_out "would remove 2 snapshots (dry run: nothing was removed)" "dry-run summary"
[[ $(count) == 5 ]] || fail "--dry-run removed snapshots"

# --- --json: one object per group, reasons with the kept ones
must forget --keep-last 1 --keep-tag gen1 --dry-run --json
python3 - "$OUT" "${main_ids[0]}" <<'EOF' || fail "forget --json: $OUT"
import json, sys
groups = json.loads(sys.argv[1])
assert len(groups) == 3, groups
main = [g for g in groups if g["series"].endswith("/src")  and g["host"] != "other"][0]
assert [s["id"] for s in main["remove"]] and len(main["remove"]) == 1, main
kept = {s["id"]: s["reasons"] for s in main["keep"]}
assert kept[sys.argv[2]] == ["has tags gen1"], kept
assert any(r == ["last snapshot"] for r in kept.values()), kept
EOF

# --- the policy, for real: filters limit it to one host
must forget --host "$(hostname)" --series "$(hostname):$src" --keep-last 1
expect_out "removed 2 snapshots; their data stays in the repository until prune exists" "summary"
[[ $(count) == 3 ]] || fail "forget --keep-last 1 left $(count) snapshots, want 3"
[[ "$(ids --series "$(hostname):$src")" == "${main_ids[2]}" ]] || fail "the newest snapshot was not the one kept"
[[ $(find "$CAIRN_REPO/packs" -type f | wc -l) == "$packs_before" ]] || fail "forget removed packs"
must check
must restore latest --series "$(hostname):$src" --target "$SCRATCH/r"
cmp -s "$src/gen" "$SCRATCH/r$src/gen" || fail "the kept snapshot no longer restores"

# --- by id
other=$(ids --host other)
run forget "${other:0:4}" "${other:0:12}"
expect_rc 0 "forget by id"
expect_out "remove 1 snapshot:" "one snapshot removed by id"
expect_out "removed 1 snapshot;" "summary by id"
[[ $(count) == 2 ]] || fail "forget ID left $(count) snapshots"
run forget deadbeef
expect_rc 15 "an unknown id"
expect_err "cairn: no snapshot with id deadbeef (list them with \`cairn snapshots\`)" "unknown id"
run forget abc
expect_rc 2 "a short id"
run forget --keep-last 5 -q
[[ -z "$OUT" ]] || fail "forget -q printed: $OUT"

finish
