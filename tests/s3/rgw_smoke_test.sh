#!/usr/bin/env bash
# The radosgw fixture works: signed PUT/GET/LIST, Content-MD5 checked
# (BadDigest), storage classes from the zone placement, multipart, and Object
# Lock on a lock-enabled bucket (a retained version cannot be deleted, the
# retention cannot be shortened).
source "$(dirname "$0")/../cli/lib.sh"
source "$(dirname "$0")/s3lib.sh"

B=$(unique_bucket smoke)
s3 PUT "$B"
expect_status 200 "create bucket $B"

head -c 100000 /dev/urandom >"$SCRATCH/obj"
s3 PUT "$B/dir/obj" -T "$SCRATCH/obj" -H "Content-MD5: $(md5_b64 "$SCRATCH/obj")"
expect_status 200 "PUT with the right Content-MD5"
s3 GET "$B/dir/obj"
expect_status 200 "GET"
cmp -s "$SCRATCH/obj" "$SCRATCH/s3.body" || fail "GET returned other bytes than were PUT"
s3 GET "$B/dir/obj" -H "Range: bytes=-10"
expect_status 206 "suffix range GET"
[[ "$(tail -c 10 "$SCRATCH/obj" | od -An -tx1)" == "$(od -An -tx1 "$SCRATCH/s3.body")" ]] ||
  fail "suffix range returned other bytes"

s3 PUT "$B/dir/bad" -T "$SCRATCH/obj" -H "Content-MD5: AAAAAAAAAAAAAAAAAAAAAA=="
expect_status 400 "PUT with a wrong Content-MD5"
[[ "$OUT" == *"<Code>BadDigest</Code>"* ]] || fail "wrong Content-MD5: no BadDigest in: $OUT"
s3 HEAD "$B/dir/bad"
expect_status 404 "an object refused with BadDigest does not exist"

s3 PUT "$B/cold" -T "$SCRATCH/obj" -H "x-amz-storage-class: DEEP_ARCHIVE"
expect_status 200 "PUT with storage class DEEP_ARCHIVE"
s3 HEAD "$B/cold"
[[ "$(header x-amz-storage-class)" == DEEP_ARCHIVE ]] || fail "storage class not kept: $(header x-amz-storage-class)"
s3 PUT "$B/cold2" -T "$SCRATCH/obj" -H "x-amz-storage-class: NO_SUCH_CLASS"
expect_status 400 "PUT with an unknown storage class"

s3 GET "$B?list-type=2&prefix=dir%2F"
expect_status 200 "ListObjectsV2"
[[ "$OUT" == *"<Key>dir/obj</Key>"* && "$OUT" == *"<KeyCount>1</KeyCount>"* ]] ||
  fail "listing of dir/ should hold exactly dir/obj: $OUT"

# Wrong secret: 403 SignatureDoesNotMatch.
AWS_SECRET_ACCESS_KEY=wrong s3 GET "$B/dir/obj"
expect_status 403 "GET signed with a wrong secret"

# Multipart: two parts, completed, read back.
head -c $((5 * 1024 * 1024)) /dev/urandom >"$SCRATCH/p1"
head -c 1000 /dev/urandom >"$SCRATCH/p2"
s3 POST "$B/mp?uploads="
expect_status 200 "CreateMultipartUpload"
upload=$(sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p' <<<"$OUT")
etags=()
for i in 1 2; do
  s3 PUT "$B/mp?partNumber=$i&uploadId=$upload" -T "$SCRATCH/p$i" -H "Content-MD5: $(md5_b64 "$SCRATCH/p$i")"
  expect_status 200 "UploadPart $i"
  etags+=("$(header etag)")
done
printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' \
  "${etags[0]}" "${etags[1]}" >"$SCRATCH/complete.xml"
s3 POST "$B/mp?uploadId=$upload" --data-binary "@$SCRATCH/complete.xml"
expect_status 200 "CompleteMultipartUpload"
s3 GET "$B/mp"
cat "$SCRATCH/p1" "$SCRATCH/p2" | cmp -s - "$SCRATCH/s3.body" || fail "multipart object differs from its parts"

# Object Lock.
L=$(unique_bucket lock)
s3 PUT "$L" -H "x-amz-bucket-object-lock-enabled: true"
expect_status 200 "create bucket $L with object lock"
s3 GET "$L?object-lock="
[[ "$OUT" == *"<ObjectLockEnabled>Enabled</ObjectLockEnabled>"* ]] || fail "object lock not enabled on $L: $OUT"
until=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
s3 PUT "$L/locked" -T "$SCRATCH/obj" -H "Content-MD5: $(md5_b64 "$SCRATCH/obj")" \
  -H "x-amz-object-lock-mode: COMPLIANCE" -H "x-amz-object-lock-retain-until-date: $until"
expect_status 200 "PUT with COMPLIANCE retention"
version=$(header x-amz-version-id)
[[ -n "$version" ]] || fail "no version id on a PUT into a lock-enabled bucket"
s3 GET "$L/locked?retention=&versionId=$version"
[[ "$OUT" == *"<Mode>COMPLIANCE</Mode>"* ]] || fail "retention not kept: $OUT"
s3 DELETE "$L/locked?versionId=$version"
expect_status 403 "deleting a version under COMPLIANCE retention"
printf '<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>' \
  "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" >"$SCRATCH/shorter.xml"
s3 PUT "$L/locked?retention=&versionId=$version" --data-binary "@$SCRATCH/shorter.xml" \
  -H "Content-MD5: $(md5_b64 "$SCRATCH/shorter.xml")"
expect_status 403 "shortening COMPLIANCE retention"
s3 GET "$L/locked?versionId=$version"
cmp -s "$SCRATCH/obj" "$SCRATCH/s3.body" || fail "the locked version changed"

finish
