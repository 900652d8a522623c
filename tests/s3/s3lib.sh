# Helpers for the shell tests against radosgw, sourced after tests/cli/lib.sh
# (which provides SCRATCH, fail, finish). Reads the server's env file named by
# $CAIRN_TEST_S3_ENV (written by tests/s3/rgw.sh start; ctest sets it for
# tests with FIXTURES_REQUIRED radosgw).

[[ -n "${CAIRN_TEST_S3_ENV:-}" && -f "$CAIRN_TEST_S3_ENV" ]] || {
  echo "FAIL: CAIRN_TEST_S3_ENV=${CAIRN_TEST_S3_ENV:-} names no env file: run tests/s3/rgw.sh start DIR and export CAIRN_TEST_S3_ENV=DIR/env" >&2
  exit 1
}
# shellcheck disable=SC1090
source "$CAIRN_TEST_S3_ENV"
S3_ENDPOINT=${S3_ENDPOINT:-$CAIRN_TEST_S3_ENDPOINT}

# s3 METHOD PATH [CURL ARGS...]: a SigV4-signed request (curl --aws-sigv4,
# path-style) to $S3_ENDPOINT/PATH. Sets RC to the HTTP status (000: no
# answer), CURL_RC to curl's exit status (18 partial body, 28 timeout, 52
# empty reply, 56 connection reset), OUT to a text body (every body is in
# $SCRATCH/s3.body), ERR to curl's stderr and HDRS to the response headers.
# curl signs an empty query value only as "name=": write "?uploads=", not
# "?uploads"; and percent-encode query values ("prefix=dir%2F").
s3() {
  local method=$1 path=$2
  shift 2
  local verb=(-X "$method")
  [[ "$method" != HEAD ]] || verb=(--head)  # -X HEAD would wait for a body
  rm -f "$SCRATCH/s3.body" "$SCRATCH/s3.hdrs"
  set +e
  RC=$(curl -sS "${verb[@]}" --max-time "${S3_MAX_TIME:-30}" \
    --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    -D "$SCRATCH/s3.hdrs" -o "$SCRATCH/s3.body" -w '%{http_code}' "$@" \
    "$S3_ENDPOINT/$path" 2>"$SCRATCH/s3.err")
  CURL_RC=$?
  set -e
  OUT=""
  if [[ -s "$SCRATCH/s3.body" ]]; then  # text (XML) bodies only: binary would garble messages
    if grep -qI . "$SCRATCH/s3.body"; then OUT=$(cat "$SCRATCH/s3.body")
    else OUT="($(stat -c %s "$SCRATCH/s3.body") bytes of binary data)"; fi
  fi
  ERR=$(cat "$SCRATCH/s3.err")
  HDRS=$(tr -d '\r' <"$SCRATCH/s3.hdrs" 2>/dev/null || true)
}

expect_status() {  # expect_status CODE what...
  local want=$1
  shift
  [[ "$RC" == "$want" ]] || fail "$* : expected HTTP $want, got $RC"
}

md5_b64() { openssl md5 -binary "$1" | base64; }

# header NAME: the value of response header NAME of the last s3 call.
header() { awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == n { print $2 }' <<<"$HDRS" | tail -n 1; }

# A bucket name unique to this test run.
unique_bucket() { echo "$1-$(date +%s%N | tail -c 10)-$$"; }

# cairn_s3_env: for tests that run cairn on radosgw: the server's keys and
# region exported, and nothing of the machine running the test (no AWS
# profile, endpoint variable or instance metadata; HOME in SCRATCH).
cairn_s3_env() {
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
  export HOME="$SCRATCH/home" AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_DEFAULT_REGION
  mkdir -p "$HOME"
}
