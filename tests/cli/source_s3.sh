#!/bin/sh
# source_s3: an S3 bucket as a backup source (Ceph RGW, SigV4): over 1000
# objects (nested prefixes, odd keys, user metadata, content types and
# encodings, a 0-byte object, one over 64 MiB) backed up into a local
# repository by a read-only user (a bucket policy allowing only
# s3:ListBucket and s3:GetObject), restored into a fresh bucket and a
# prefix of it, and compared with the aws CLI (s3api list-objects-v2, s3
# sync of every object, s3api get-object of each kind of object); after
# changing 1% of the objects the next backup GETs only those (counted by a
# proxy), and both snapshots restore their own state; an object rewritten
# during the backup (while a proxy holds its GET) is stored as it is now
# and reported; a missing bucket and a wrong secret are clear errors.
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/rgw.sh"
. "$TWOFOLD_TOP/tests/servers/faultproxy.sh"
. "$TWOFOLD_TOP/tests/servers/clients.sh"

RGW_ON_EXIT='fp_stop_all; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'
t0=$(date +%s)
rgw_start; ok $? "Ceph RGW starts on loopback ($(($(date +%s) - t0)) s)"
[ -n "$RGW_PIDS" ] || done_testing
export TWOFOLD_REPOSITORY="$T/repo"
B=srcb-$$
printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/curlrc"
s3curl() {
	curl -s -K "$T/curlrc" --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}
# pe KEY: a key for a URL the way SigV4 wants it (RGW checks the
# signature against its own canonical encoding): unreserved bytes and '/'
# as they are, every other byte %XX
pe() {
	printf '%s\n' "$1" | LC_ALL=C awk 'BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i }
	    { for (i = 1; i <= length($0); i++) { c = substr($0, i, 1)
		if (c ~ /[A-Za-z0-9._~\/-]/) printf "%s", c; else printf "%%%02X", ord[c] } }'
}
curlk() {
	_pids=""
	for _f in "$1".*; do
		curl -sS -K "$_f" >"$_f.out" 2>"$_f.err" &
		_pids="$_pids $!"
	done
	for _p in $_pids; do wait "$_p"; done
	cat "$1".*.out
}
for b in "$B" "$B-dst" "$B-old" "$B-new"; do
	s3curl -X PUT -o /dev/null -w '%{http_code}\n' "$AWS_ENDPOINT_URL/$b"
done >"$T/codes"
[ "$(grep -c 200 "$T/codes")" -eq 4 ]; ok $? "made four buckets"

# ---- the source bucket
mkdir -p "$T/data"
rm -f "$T"/cfg.*
n=0
obj() { # obj KEY SIZE CONTENT-TYPE [HEADER]...
	n=$((n + 1))
	head -c "$2" /dev/urandom >"$T/data/$n"
	{
		printf 'url = "%s/%s/%s"\nrequest = "PUT"\ndata-binary = "@%s"\n' "$AWS_ENDPOINT_URL" "$B" "$(pe "$1")" "$T/data/$n"
		printf 'user = "%s:%s"\naws-sigv4 = "aws:amz:%s:s3"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_REGION"
		printf 'header = "x-amz-content-sha256: UNSIGNED-PAYLOAD"\nheader = "Content-Type: %s"\n' "$3"
		shift 3
		for _h; do printf 'header = "%s"\n' "$_h"; done
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n'
	} >>"$T/cfg.$((n % 8))"
}
for a in 0 1 2 3 4 5 6 7 8 9; do
	for b in 0 1 2 3 4 5 6 7 8 9; do
		for c in 0 1 2 3 4 5 6 7 8 9; do
			case $c in
			0) obj "d$a/s$b/f$c.txt" $((n % 3000 + 1)) "text/plain; charset=utf-8" "x-amz-meta-idx: $n" "x-amz-meta-owner: alice" ;;
			1) obj "d$a/s$b/f$c.json.gz" $((n % 2000 + 1)) application/json "Content-Encoding: gzip" "Cache-Control: max-age=60" ;;
			2) obj "d$a/s$b/f$c.html" $((n % 1000 + 1)) text/html "Content-Language: de-CH" "Content-Disposition: attachment" ;;
			*) obj "d$a/s$b/f$c.bin" $((n % 4000 + 1)) application/octet-stream ;;
			esac
		done
	done
done
LONG=$(printf 'L%.0s' $(seq 1 300))
obj "odd/sp ace.txt" 10 text/plain "x-amz-meta-note: has spaces"
obj "odd/per%cent&amp=eq?q#h+plus" 11 text/plain
obj "odd/ünïcödé-€.txt" 12 text/plain
obj "odd//double" 13 text/plain
obj "odd/trailing/" 14 text/plain
obj "both" 17 text/plain
obj "both/inner" 18 text/plain
obj "long/$LONG/x" 19 text/plain
obj "empty" 0 application/x-empty "x-amz-meta-zero: 1"
head -c $((65 * 1048576 + 123)) /dev/urandom >"$T/big"
t0=$(date +%s)
curlk "$T/cfg" >"$T/codes"
s3curl -o /dev/null -w '%{http_code}\n' -X PUT -H 'Content-Type: application/x-big' -H 'x-amz-meta-size: big' \
    -T "$T/big" "$AWS_ENDPOINT_URL/$B/big/huge.bin" >>"$T/codes"
nb=$(grep -c '^200$' "$T/codes")
[ "$nb" -gt 1 ] || { head -3 "$T/cfg.1.err"; sort "$T/codes" | uniq -c; } | sed "s/^/# /"
[ "$nb" -eq $((n + 1)) ]; ok $? "made the source bucket: $nb objects ($(($(date +%s) - t0)) s)"

# props BUCKET PREFIX DIR [SAMPLE]: the objects below PREFIX (shown without
# it) as the independent aws CLI sees them: DIR/keys, every key and size
# (s3api list-objects-v2); DIR/c/..., every content (s3 sync) but of the
# keys that are no file names (odd/..., both beside both/inner, a 300-byte
# segment), which s3api get-object puts in DIR/g/1, 2, ...; DIR/props,
# "KEY [size, content type, encoding, language, cache control,
# disposition, metadata]" for those and the keys of SAMPLE (default: each
# kind of object, and two changed below; aws takes ~0.5 s a call)
SAMPLE="empty big/huge.bin d0/s0/f0.txt d0/s0/f1.json.gz d0/s0/f2.html d9/s9/f3.bin d0/s0/f3.bin d3/s9/f6.bin"
s3aws() { aws --endpoint-url "$AWS_ENDPOINT_URL" "$@" 2>>"$T/aws.err"; }
props() {
	rm -rf "$3"
	mkdir -p "$3/c" "$3/g" "$3/s"
	s3aws s3api list-objects-v2 --bucket "$1" --prefix "$2" --query 'Contents[].[Key, Size]' --output text |
	    sed -n "s|^$2||p" >"$3/keys"
	s3aws s3 sync --only-show-errors --exclude 'odd/*' --exclude 'both' --exclude 'both/*' \
	    --exclude 'long/*' "s3://$1/$2" "$3/c"
	_i=0
	{ cut -f1 "$3/keys" | grep -E '^(odd/|both$|both/|long/)' | sed 's|^|g |'
	  [ -z "${4-$SAMPLE}" ] || printf 's %s\n' ${4-$SAMPLE}; } | while read -r _d _k; do
		_i=$((_i + 1))
		printf '%s ' "$_k"
		s3aws s3api get-object --bucket "$1" --key "$2$_k" "$3/$_d/$_i" --output json \
		    --query '[ContentLength, ContentType, ContentEncoding, ContentLanguage, CacheControl, ContentDisposition, Metadata]' |
		    tr -d '\n' | tr -s ' '
		echo
	done >"$3/props"
}
clients_install aws; ok $? "the aws CLI is installed"
aws_setup
props "$B" "" "$T/p.src"
[ "$(wc -l <"$T/p.src/keys")" -eq "$nb" ] && [ "$(find "$T/p.src/c" "$T/p.src/g" -type f | wc -l)" -eq "$nb" ] &&
    [ "$(grep -c '^d0/s0/f2.html \[.*"text/html"' "$T/p.src/props")" -eq 1 ]
ok $? "aws s3api list-objects-v2 lists and aws s3 sync and s3api get-object download all $nb objects"

# ---- a read-only user: ListBucket and GetObject only
rgw_user reader READERKEY0001 reader-secret-0001 >/dev/null 2>&1
cat >"$T/policy.json" <<EOF
{"Version": "2012-10-17", "Statement": [
 {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/reader"]}, "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::$B"]},
 {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/reader"]}, "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::$B/*"]}]}
EOF
code=$(s3curl -X PUT -o /dev/null -w "%{http_code}" --data-binary @"$T/policy.json" "$AWS_ENDPOINT_URL/$B?policy=")
[ "$code" -eq 204 ] || [ "$code" -eq 200 ]; ok $? "a bucket policy lets user reader list and read only (HTTP $code)"
reader() { AWS_ACCESS_KEY_ID=READERKEY0001 AWS_SECRET_ACCESS_KEY=reader-secret-0001 "$@"; }

tf init; ok $? "init a local repository"
t0=$(date +%s)
reader tf backup "s3://$B" >"$T/id1" 2>"$T/err"; rc=$?
[ $rc -eq 0 ]; ok $? "backup of s3://$B by the read-only user ($(($(date +%s) - t0)) s, exit $rc)"
cat "$T/err"
tf ls latest >"$T/ls"
grep -q "^/s3/$B/d9/s9/f9.bin$" "$T/ls" && grep -q "^/s3/$B/big/huge.bin$" "$T/ls" &&
    grep -q "^/s3/$B/odd/%-/double$" "$T/ls" && grep -q "^/s3/$B/both%!$" "$T/ls"
ok $? "the snapshot holds /s3/$B with nested prefixes and encoded odd keys"

# ---- restore into a fresh bucket and into a prefix of one
t0=$(date +%s)
tf restore latest --include "/s3/$B" --target "s3://$B-dst"; rc=$?
ok $rc "restore into s3://$B-dst ($(($(date +%s) - t0)) s)"
props "$B-dst" "" "$T/p.dst"
cmp -s "$T/p.src/props" "$T/p.dst/props" || diff "$T/p.src/props" "$T/p.dst/props" | head -4 | sed 's/^/# /'
cmp -s "$T/p.src/keys" "$T/p.dst/keys" && cmp -s "$T/p.src/props" "$T/p.dst/props"
ok $? "keys and sizes, and (aws s3api get-object) content types, encodings, languages, cache control, disposition and metadata are identical"
diff -r "$T/p.src" "$T/p.dst" >/dev/null; ok $? "every object's content is identical (downloaded by aws)"
tf restore latest --include "/s3/$B/d3" --target "s3://$B-dst/sub/prefix"; rc=$?
props "$B-dst" "sub/prefix/" "$T/p.sub" ""
[ $rc -eq 0 ] && [ "$(wc -l <"$T/p.sub/keys")" -eq 100 ] && grep -q '^d3/s0/f0.txt	' "$T/p.sub/keys" &&
    diff -r "$T/p.src/c/d3" "$T/p.sub/c/d3" >/dev/null
ok $? "a part of the bucket restores below a prefix with its original keys"

# ---- change 1% (10 existing .bin objects); the next backup GETs only those
i=0
for k in 0 1 2 3 4 5 6 7 8 9; do
	key="d$k/s$(((k * 3) % 10))/f$((k % 7 + 3)).bin"
	grep -q "^$key	" "$T/p.src/keys" || continue
	head -c 500 /dev/urandom >"$T/new$k"
	s3curl -o /dev/null -w '%{http_code}\n' -X PUT -H 'Content-Type: text/x-changed' -H "x-amz-meta-round: 2" \
	    -T "$T/new$k" "$AWS_ENDPOINT_URL/$B/$key" | grep -q 200 && i=$((i + 1))
done
[ $i -eq 10 ]; ok $? "changed 10 existing objects of $nb"
props "$B" "" "$T/p.src2"
fp_start proxy "${AWS_ENDPOINT_URL##*:}" || ok 1 "proxy starts"
AWS_ENDPOINT_URL="http://127.0.0.1:$FP_PORT" reader tf backup "s3://$B" >"$T/id2" 2>"$T/err"; rc=$?
# the proxy forwards the Host header unchanged; the URL names its port
gets=$(grep '^request [0-9]* GET ' "$T/proxy.log" | grep -vc 'list-type')
[ $rc -eq 0 ] && [ "$gets" -eq 10 ]; ok $? "the second backup downloads only the 10 changed objects ($gets GETs, exit $rc)"
cat "$T/err"

tf restore "$(cat "$T/id1")" --include "/s3/$B" --target "s3://$B-old"; rc1=$?
tf restore "$(cat "$T/id2")" --include "/s3/$B" --target "s3://$B-new"; rc2=$?
props "$B-old" "" "$T/p.old"
props "$B-new" "" "$T/p.new"
[ $rc1 -eq 0 ] && diff -r "$T/p.old" "$T/p.src" >/dev/null; ok $? "the first snapshot restores the old bucket"
[ $rc2 -eq 0 ] && cmp -s "$T/p.new/props" "$T/p.src2/props" && ! cmp -s "$T/p.src/props" "$T/p.src2/props" &&
    cmp -s "$T/p.new/keys" "$T/p.src2/keys"
ok $? "the second snapshot restores the changed bucket (keys, sizes, properties)"
diff -r "$T/p.new" "$T/p.src2" >/dev/null; ok $? "the second snapshot restores the changed bucket (contents)"

# ---- an object rewritten while the backup waits for it: a proxy holds
# the GET of d7/s7/f7.bin until the test has rewritten it (straight at
# RGW); the backup (reading everything again) notices (If-Match) and
# reports it
fp_start hold "${AWS_ENDPOINT_URL##*:}" -g "$T/hold.gate" -t 60 -f "hold:1:GET:/$B/d7/s7/f7.bin" || ok 1 "proxy starts"
fp_held_change hold "/$B/d7/s7/f7.bin" \
    'AWS_ENDPOINT_URL="http://127.0.0.1:$FP_PORT" reader tf --no-cache backup "s3://$B" >/dev/null 2>"$T/err"' \
    's3curl -o /dev/null -w %{http_code} -X PUT --data-binary changed-while-read "$AWS_ENDPOINT_URL/$B/d7/s7/f7.bin"'
rc=$?
tf --json cat snapshot latest >"$T/snap.json"
[ $FP_HELD -eq 0 ] && [ "$FP_CHANGED" = 200 ] && [ $rc -eq 0 ] &&
    grep -q "d7/s7/f7.bin changed while it was read" "$T/err" && grep -q "changed_while_read.*d7/s7/f7.bin" "$T/snap.json"
ok $? "an object rewritten while the backup waits for it is reported and listed in the snapshot (HTTP $FP_CHANGED, exit $rc)"
[ "$(tf dump latest "/s3/$B/d7/s7/f7.bin")" = changed-while-read ]; ok $? "and stored as it is now"

# ---- errors
tf backup "s3://nosuch-$$" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "source s3://nosuch-$$" "$T/err" && grep -q "does not exist" "$T/err"
ok $? "a missing bucket is a clear error naming the source (exit $rc)"
AWS_SECRET_ACCESS_KEY=wrong-secret-xyz tf backup "s3://$B" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "rejects the credentials" "$T/err" && ! grep -q "wrong-secret-xyz" "$T/err"
ok $? "a wrong secret is a clear error that shows no secret (exit $rc)"
reader tf restore latest --include "/s3/$B" --target "s3://$B/copy" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "access denied" "$T/err"; ok $? "restoring as the read-only user fails clearly (exit $rc)"

done_testing
