#!/usr/bin/env bash
# Object lock against a real radosgw (the ctest fixture `radosgw`; cairn runs
# with CAIRN_S3_STRICT=1 from its env file, so every upload, retention and
# multi-delete request must carry Content-MD5):
# - init --object-lock on a missing bucket creates it with object lock;
# - every version of every object init and two backups wrote carries the
#   lock mode and a retain-until (HEAD by version id), at least the write's
#   period: data packs in the --data-storage-class, the rest STANDARD;
# - a DELETE of a locked version is refused by the server;
# - init --object-lock on an existing bucket without object lock is refused
#   with the reason, the fix and exit status 11, writing nothing;
# - option errors: --object-lock without --retention, backup --retention on
#   a repository without lock (exit 2).
source "$(dirname "$0")/../cli/lib.sh"
source "$(dirname "$0")/s3lib.sh"
cairn_s3_env
[[ "${CAIRN_S3_STRICT:-}" == 1 ]] || fail "the env file does not turn on the strict S3 checks"
ENDPOINT=$CAIRN_TEST_S3_ENDPOINT
BUCKET=$(unique_bucket cairn-lock)
export CAIRN_REPO="s3://$BUCKET/repo?endpoint=$ENDPOINT"

src="$SCRATCH/src"
make_source "$src"

# epoch seconds of an ISO 8601 date (any fraction)
epoch() { date -u -d "$1" +%s; }

# --- option errors before anything is opened ---------------------------------
run init --object-lock governance
expect_rc 2 "--object-lock without --retention"
expect_err "go together" "--object-lock without --retention"
run init --object-lock forever --retention 1d
expect_rc 2 "unknown lock mode"
run init --object-lock governance --retention 0d
expect_rc 2 "zero retention"
run init --object-lock governance --retention 1d --data-storage-class 'glacier'
expect_rc 2 "lower-case storage class"
s3 HEAD "$BUCKET"
expect_status 404 "option errors create no bucket"

# --- init creates a bucket with object lock ------------------------------------
t_init=$(date -u +%s)
must init --object-lock governance --retention 2d --data-storage-class STANDARD_IA
expect_out "object lock: governance" "init reports the lock"
expect_out "STANDARD_IA" "init reports the data storage class"
s3 GET "$BUCKET?object-lock="
expect_status 200 "GetObjectLockConfiguration of the new bucket"
[[ "$OUT" == *"<ObjectLockEnabled>Enabled</ObjectLockEnabled>"* ]] || fail "bucket has no object lock: $OUT"
[[ "$OUT" != *"<DefaultRetention>"* ]] || fail "cairn set a default retention: $OUT"
s3 GET "$BUCKET?versioning="
[[ "$OUT" == *"<Status>Enabled</Status>"* ]] || fail "bucket versioning not enabled: $OUT"

# --- two backups, the second with a longer retention ---------------------------
t_b1=$(date -u +%s)
must backup "$src"
expect_out "locked (governance) until" "backup prints the lock"
echo "changed" >"$src/new-file"
head -c 2000000 /dev/urandom >"$src/more.bin"
t_b2=$(date -u +%s)
must backup --retention 5d --json "$src"
until2=$(sed -n 's/.*"retain_until": *"\([^"]*\)".*/\1/p' <<<"$OUT")
[[ -n "$until2" ]] || fail "backup --json has no retain_until: $OUT"
(( $(epoch "$until2") >= t_b2 + 5 * 86400 )) || fail "retain_until $until2 is not 5 days after the backup"
must snapshots --json
[[ $(grep -o '"id"' <<<"$OUT" | wc -l) == 2 ]] || fail "two snapshots: $OUT"

# --- every version of every object carries its lock ----------------------------
s3 GET "$BUCKET?prefix=repo%2F&versions="
expect_status 200 "ListObjectVersions"
listing=$OUT
[[ "$listing" != *"<DeleteMarker>"* ]] || fail "cairn left a delete marker: $listing"
mapfile -t pairs < <(python3 - "$listing" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.argv[1])
ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
for v in root.iter(ns + "Version"):
    print(v.find(ns + "Key").text + " " + v.find(ns + "VersionId").text)
EOF
)
((${#pairs[@]} >= 8)) || fail "expected config, key, packs, index and snapshots: ${#pairs[@]} versions"
data_packs=0 tree_packs=0 kinds=""
for pair in "${pairs[@]}"; do
  key=${pair% *} version=${pair#* }
  s3 HEAD "$BUCKET/$key?versionId=$version"
  expect_status 200 "HEAD $key"
  mode=$(header x-amz-object-lock-mode)
  until=$(header x-amz-object-lock-retain-until-date)
  class=$(header x-amz-storage-class)
  [[ "$mode" == GOVERNANCE ]] || fail "$key ($version): lock mode \"$mode\""
  [[ -n "$until" ]] || { fail "$key: no retain-until"; continue; }
  u=$(epoch "$until")
  # Written after init at the earliest, with at least the 2-day period.
  (( u >= t_init + 2 * 86400 )) || fail "$key: retain-until $until is less than 2 days"
  case "$key" in
    repo/packs/*)
      if [[ "$class" == STANDARD_IA ]]; then data_packs=$((data_packs + 1))
      else
        [[ -z "$class" || "$class" == STANDARD ]] || fail "$key: storage class $class"
        tree_packs=$((tree_packs + 1))
      fi ;;
    *) [[ -z "$class" || "$class" == STANDARD ]] || fail "$key: metadata in class $class" ;;
  esac
  kinds+=" ${key#repo/}"
done
for k in config keys/ packs/ index/ snapshots/; do
  [[ "$kinds" == *" $k"* ]] || fail "no locked object under $k: $kinds"
done
((data_packs >= 2)) || fail "expected data packs in STANDARD_IA, got $data_packs"
((tree_packs >= 2)) || fail "expected tree packs in STANDARD, got $tree_packs"

# What the second backup wrote is locked for its 5 days: its snapshot too.
newest_snap=$(for pair in "${pairs[@]}"; do [[ $pair == repo/snapshots/* ]] && echo "$pair"; done)
long=0
for pair in $(tr ' ' ':' <<<"$newest_snap"); do
  s3 HEAD "$BUCKET/${pair%%:*}?versionId=${pair#*:}"
  (( $(epoch "$(header x-amz-object-lock-retain-until-date)") >= t_b2 + 5 * 86400 )) && long=$((long + 1))
done
((long == 1)) || fail "exactly one snapshot (the second) is locked 5 days, got $long"

# --- the server refuses to delete a locked version -----------------------------
pack_pair=""
for pair in "${pairs[@]}"; do [[ $pair == repo/packs/* ]] && { pack_pair=$pair; break; }; done
pack_key=${pack_pair% *} pack_version=${pack_pair#* }
s3 DELETE "$BUCKET/$pack_key?versionId=$pack_version"
expect_status 403 "DELETE of a locked pack version"
s3 GET "$BUCKET/$pack_key?versionId=$pack_version"
expect_status 200 "the locked pack is still there"
config_version=""
for p in "${pairs[@]}"; do [[ $p == "repo/config "* ]] && config_version=${p#* }; done
s3 DELETE "$BUCKET/repo/config?versionId=$config_version"
expect_status 403 "DELETE of the locked config version"
must check

# --- a bucket without object lock is refused, with the fix ----------------------
PLAIN=$(unique_bucket cairn-plain)
s3 PUT "$PLAIN"
expect_status 200 "create a bucket without object lock"
run -r "s3://$PLAIN/repo?endpoint=$ENDPOINT" init --object-lock compliance --retention 1d
expect_rc 11 "init --object-lock on a bucket without object lock"
expect_err "Object Lock" "refusal names the reason"
expect_err "Fix:" "refusal gives the fix"
s3 GET "$PLAIN?list-type=2"
[[ "$OUT" != *"<Key>"* ]] || fail "the refused init wrote objects: $OUT"
# A local directory cannot lock either.
run -r "$SCRATCH/local-repo" init --object-lock governance --retention 1d
expect_rc 11 "init --object-lock on a local directory"
expect_err "cannot lock objects" "local refusal names the reason"
# The same bucket without --object-lock is fine; --retention on backup is not.
must -r "s3://$PLAIN/repo?endpoint=$ENDPOINT" init
run -r "s3://$PLAIN/repo?endpoint=$ENDPOINT" backup --retention 30d "$src"
expect_rc 2 "backup --retention without object lock"
expect_err "--object-lock" "backup --retention says how to get a lock"

finish
