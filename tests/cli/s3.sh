#!/bin/sh
# s3: a repository in a real S3 server (Ceph RGW, SigV4 enforced, started
# on loopback by tests/servers/rgw.sh): init, backup (one pack large
# enough for a multipart upload), snapshots, restore bit-exact, dedup on a
# second backup, check --read-data; wrong secret and missing bucket give
# clear errors; the server sees no plaintext (every object fetched with an
# independent client, curl --aws-sigv4); a byte flipped in a data object on
# the server is found by check --read-data; a user whom a bucket policy
# denies s3:DeleteObject can still back up; virtual-hosted addressing
# (http://BUCKET.localhost:PORT) works as well as path-style.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../servers/rgw.sh"

. "$(dirname "$0")/../servers/faultproxy.sh"

RGW_ON_EXIT='fp_stop_all; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'
t0=$(date +%s)
rgw_start; ok $? "Ceph RGW starts on loopback ($(($(date +%s) - t0)) s)"
[ -n "$RGW_PIDS" ] || done_testing

B=twofold-$$
export TWOFOLD_REPOSITORY="s3://$B/some/prefix"
# objects above 8 MiB go up by multipart upload (16 MiB parts)
export TWOFOLD_S3_MULTIPART_THRESHOLD=8388608

# curl as an independent S3 client; the secret goes in a config file,
# not on the command line
printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/curlrc"
s3curl() {
	curl -s -K "$T/curlrc" --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}
# s3keys BUCKET PREFIX: every key under PREFIX, one a line (follows paging)
s3keys() {
	_tok=""
	_p=$(printf %s "$2" | sed 's/\//%2F/g')
	while :; do
		if [ -n "$_tok" ]; then
			_q="continuation-token=$(printf %s "$_tok" | sed 's/%/%25/g; s/+/%2B/g; s/\//%2F/g; s/=/%3D/g')&list-type=2&prefix=$_p"
		else
			_q="list-type=2&prefix=$_p"
		fi
		s3curl "$AWS_ENDPOINT_URL/$1?$_q" >"$T/listing" || return 1
		grep -q '<ListBucketResult' "$T/listing" || return 1
		sed 's/<Key>/\n<Key>/g' "$T/listing" | sed -n 's/^<Key>\([^<]*\)<\/Key>.*/\1/p'
		grep -q '<IsTruncated>true</IsTruncated>' "$T/listing" || break
		_tok=$(sed -n 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p' "$T/listing")
		[ -n "$_tok" ] || return 1
	done
}

M=zqxmarker7731
mkdir -p "$T/src/sub-$M"
echo "hello $M, a secret line" >"$T/src/notes-$M.txt"
i=0
while [ $i -lt 20 ]; do echo "line $i of $M" >>"$T/src/sub-$M/text.txt"; i=$((i + 1)); done
head -c 20000000 /dev/urandom >"$T/src/sub-$M/big.bin"
head -c 300000 /dev/urandom >"$T/src/small.bin"

tf init 2>"$T/err"; ok $? "init creates the bucket and a repository"
tf init 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "already holds a repository" "$T/err"; ok $? "init twice fails clearly (exit $rc)"

id=$(tf backup "$T/src" 2>"$T/err"); ok $? "backup to S3"
echo "$id" | grep -Eq '^[0-9a-f]{64}$'; ok $? "backup prints the snapshot ID"
tf snapshots >"$T/snaps" 2>&1 && grep -q "$(echo "$id" | cut -c1-8)" "$T/snaps"
ok $? "snapshots lists it"

s3keys "$B" "some/prefix/data/" >"$T/data-keys"
big=""
for k in $(cat "$T/data-keys"); do
	sz=$(s3curl -I "$AWS_ENDPOINT_URL/$B/$k" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p')
	[ "${sz:-0}" -gt 16777216 ] && big=$k
done
[ -n "$big" ] && s3curl -I "$AWS_ENDPOINT_URL/$B/$big" | grep -Eiq '^etag: "[0-9a-f]+-2"'
ok $? "the pack over 16 MiB went up as a two-part multipart upload"

tf restore latest --target "$T/out" 2>"$T/err"; ok $? "restore from S3"
diff -r "$T/src" "$T/out$T/src"; ok $? "restored tree is identical (diff -r)"

echo "changed" >"$T/src/small2.txt"
tf --json backup "$T/src" >"$T/b2.json" 2>"$T/err"; ok $? "second backup"
added=$(sed -n 's/.*"added_bytes":\([0-9]*\).*/\1/p' "$T/b2.json")
[ -n "$added" ] && [ "$added" -lt 100000 ]; ok $? "second backup deduplicates (added_bytes=${added:-?})"

tf check --read-data 2>"$T/err"; ok $? "check --read-data passes"

AWS_SECRET_ACCESS_KEY=not-the-secret tf snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "rejects the credentials" "$T/err" && grep -q "AWS_SECRET_ACCESS_KEY" "$T/err"
ok $? "a wrong secret exits 1 with a clear error (exit $rc)"
! grep -q "$AWS_SECRET_ACCESS_KEY" "$T/err"; ok $? "the error does not show the secret"

tf -r "s3://nosuchbucket-$$/x" snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bucket nosuchbucket-$$ does not exist" "$T/err"
ok $? "a missing bucket exits 1 and says so (exit $rc)"

# confidentiality: fetch every object with curl; the marker (in file
# names and contents) must appear nowhere, nor in the keys
mkdir "$T/dl"
s3keys "$B" "" >"$T/all-keys"; ok $? "curl lists the bucket"
n=0
bad=0
for k in $(cat "$T/all-keys"); do
	n=$((n + 1))
	s3curl -f -o "$T/dl/$n" "$AWS_ENDPOINT_URL/$B/$k" || bad=1
done
[ $bad -eq 0 ] && [ $n -ge 6 ]; ok $? "curl fetches all $n objects"
! grep -q "$M" "$T/all-keys" && ! grep -rqa "$M" "$T/dl"
ok $? "no object name or content holds the marker"

# integrity: replace a data object on the server (PUT without
# If-None-Match) with one byte flipped
small=""
for k in $(cat "$T/data-keys"); do [ "$k" != "$big" ] && small=$k; done
s3curl -f -o "$T/obj" "$AWS_ENDPOINT_URL/$B/$small"
sz=$(stat -c %s "$T/obj")
off=$((sz / 2))
old=$(dd if="$T/obj" bs=1 skip=$off count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "$(printf '\\%03o' $(((old + 1) % 256)))" | dd of="$T/obj" bs=1 seek=$off conv=notrunc 2>/dev/null
s3curl -f -X PUT --data-binary @"$T/obj" "$AWS_ENDPOINT_URL/$B/$small" >/dev/null
ok $? "a data object is overwritten on the server with a byte flipped"
tf check --read-data >"$T/out-check" 2>&1; rc=$?
[ $rc -eq 10 ] && grep -q "$(basename "$small")" "$T/out-check"
ok $? "check --read-data exits 10 naming the damaged object (exit $rc)"

# a second user whom a bucket policy denies s3:DeleteObject can back up
K2=TWOFOLDTESTKEY0002
S2=second-secret-$$
B2=twofold-nodelete-$$
if rgw_user nodelete "$K2" "$S2"; then
	tf -r "s3://$B2" init 2>"$T/err" &&
	cat >"$T/policy.json" <<EOF
{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/nodelete"]},
  "Action":["s3:ListBucket","s3:GetObject","s3:PutObject"],
  "Resource":["arn:aws:s3:::$B2","arn:aws:s3:::$B2/*"]},
 {"Effect":"Deny","Principal":{"AWS":["arn:aws:iam:::user/nodelete"]},
  "Action":["s3:DeleteObject"],"Resource":["arn:aws:s3:::$B2/*"]}]}
EOF
	s3curl -f -X PUT --data-binary @"$T/policy.json" "$AWS_ENDPOINT_URL/$B2?policy=" >/dev/null
	ok $? "a bucket policy denies s3:DeleteObject to a second user"
	AWS_ACCESS_KEY_ID=$K2 AWS_SECRET_ACCESS_KEY=$S2 tf -r "s3://$B2" backup "$T/src" >/dev/null 2>"$T/err"
	ok $? "that user can still back up"
	printf 'user = "%s:%s"\n' "$K2" "$S2" >"$T/curlrc2"
	code=$(curl -s -K "$T/curlrc2" --aws-sigv4 "aws:amz:$AWS_REGION:s3" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
		-o /dev/null -w '%{http_code}' -X DELETE "$AWS_ENDPOINT_URL/$B2/$(s3keys "$B2" snapshots/ | head -n 1)")
	[ "$code" = 403 ]; ok $? "and cannot delete (HTTP $code)"
else
	ok 1 "create a second S3 user"
fi

# virtual-hosted addressing, http://BUCKET.localhost:PORT/KEY (RGW's DNS
# name is localhost), through faultproxy without faults: its log shows
# request paths that do not begin with the bucket, so the server took the
# bucket from the Host header -- which SigV4 signs
V=twofold-vhost-$$
RGW_PORT=${AWS_ENDPOINT_URL##*:}
if fp_start vhost "$RGW_PORT"; then
	export AWS_ENDPOINT_URL="http://localhost:$FP_PORT" TWOFOLD_S3_PATH_STYLE=0
	tf -r "s3://$V/vh" init 2>"$T/err" && tf -r "s3://$V/vh" backup "$T/src" >/dev/null 2>>"$T/err" &&
		tf -r "s3://$V/vh" restore latest --target "$T/out-vh" 2>>"$T/err" &&
		diff -r "$T/src" "$T/out-vh$T/src" && tf -r "s3://$V/vh" check --read-data 2>>"$T/err"
	ok $? "virtual-hosted addressing (http://$V.localhost:PORT): init, backup, bit-exact restore, check --read-data"
	export AWS_ENDPOINT_URL="http://127.0.0.1:$RGW_PORT"
	unset TWOFOLD_S3_PATH_STYLE
	[ "$(fp_requests vhost)" -gt 5 ] && ! grep -q "^request [0-9]* [A-Z]* /$V" "$T/vhost.log" &&
		grep -q '^request [0-9]* PUT /vh/data/' "$T/vhost.log"
	ok $? "... the requests carried the bucket in the host name, not in the path ($(fp_requests vhost) requests)"
	s3keys "$V" "vh/snapshots/" | grep -q .; ok $? "... and the objects are in bucket $V (path-style listing)"
else
	ok 1 "faultproxy starts"
fi

echo "# S3 test ran $(($(date +%s) - t0)) s including cluster start"
done_testing
