#!/bin/sh
# source_azure: an Azure container as a backup source (Azurite): over 1000
# blobs (nested prefixes, odd names, user metadata, content types and
# encodings, a 0-byte blob, one over 64 MiB) backed up into a local
# repository with a read-only SAS, restored into a fresh container and
# compared with the az CLI (az storage blob list with metadata, every blob
# downloaded);
# restored into a directory (user.twofold.* xattrs); after changing 1% of
# the blobs the next backup GETs only those (counted by a proxy), and the
# old and new snapshots restore the old and new states; a blob rewritten
# during the backup (while a proxy holds its GET) is stored as it is now
# and reported; a missing container, a wrong key and an expired SAS are
# clear errors.
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/azurite.sh"
. "$TWOFOLD_TOP/tests/servers/faultproxy.sh"
. "$TWOFOLD_TOP/tests/servers/clients.sh"
trap 'fp_stop_all; azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

if ! azurite_start 2>"$T/azurite.err"; then
	cat "$T/azurite.err" >&2
	ok 1 "Azurite starts"
	done_testing
fi
ok 0 "Azurite starts on port $AZURITE_PORT"
clients_install az; ok $? "the az CLI is installed"
az_setup
export TWOFOLD_REPOSITORY="$T/repo"
A=$AZURITE_ACCOUNT
KEYCS=$AZURE_STORAGE_CONNECTION_STRING

urlenc() { printf %s "$1" | sed 's/%/%25/g; s/+/%2B/g; s/\//%2F/g; s/=/%3D/g; s/:/%3A/g; s/ /%20/g; s/&/%26/g'; }
# pe NAME: every byte percent-encoded but '/'
pe() { printf %s "$1" | od -An -tx1 -v | tr -d ' \n' | sed 's/../%&/g; s/%2f/\//g; s/\/$/%2F/'; }
hexkey() { printf %s "$AZURITE_KEY" | base64 -d | od -An -tx1 -v | tr -d ' \n'; }
# mksas PERMS EXPIRY CONTAINER: a service SAS for a container
mksas() {
	_sig=$(printf '%s\n\n%s\n/blob/%s/%s\n\n\n%s\n%s\n%s\n\n\n\n\n\n\n' \
	    "$1" "$2" "$A" "$3" "https,http" "2020-12-06" "c" |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(hexkey)" -binary | base64 -w0)
	printf 'sv=2020-12-06&spr=https,http&se=%s&sr=c&sp=%s&sig=%s' \
	    "$(urlenc "$2")" "$1" "$(urlenc "$_sig")"
}
# mkcontainer NAME: Create Container, signed with Shared Key
mkcontainer() {
	_d=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
	_sig=$(printf 'PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:2020-12-06\n/%s/%s/%s\nrestype:container' \
	    "$_d" "$A" "$A" "$1" |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(hexkey)" -binary | base64 -w0)
	curl -s -o /dev/null -w '%{http_code}' -X PUT -H "x-ms-date: $_d" -H "x-ms-version: 2020-12-06" \
	    -H "Authorization: SharedKey $A:$_sig" "$AZURITE_URL/$1?restype=container"
}
FUTURE=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
PAST=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
for c in src dst old new; do mkcontainer $c >/dev/null; done
SAS=$(mksas racwdl "$FUTURE" src)
SAS_R=$(mksas rl "$FUTURE" src)
sascs() { echo "BlobEndpoint=$AZURITE_URL;SharedAccessSignature=$1"; }

# ---- the source container: 1100 blobs in 10x10 prefixes, and odd ones
mkdir -p "$T/data"
rm -f "$T"/cfg.*
n=0
# curlk CFG-PREFIX: run every CFG-PREFIX.* config with one curl each, in
# parallel (one connection per curl)
curlk() {
	_pids=""
	for _f in "$1".*; do
		curl -sS -K "$_f" >"$_f.out" 2>"$_f.err" &
		_pids="$_pids $!"
	done
	for _p in $_pids; do wait "$_p"; done
	cat "$1".*.out
}
# blob NAME SIZE CONTENT-TYPE [HEADER]...: write a file, queue its upload
blob() {
	n=$((n + 1))
	case $1 in
	*.gz) head -c "$2" /dev/urandom | gzip -c -n >"$T/data/$n" ;;	# az decodes it
	*) head -c "$2" /dev/urandom >"$T/data/$n" ;;
	esac
	{
		printf 'url = "%s/src/%s?%s"\nupload-file = "%s"\n' "$AZURITE_URL" "$(pe "$1")" "$SAS" "$T/data/$n"
		printf 'header = "x-ms-blob-type: BlockBlob"\nheader = "Expect:"\nheader = "Content-Type: %s"\n' "$3"
		shift 3
		for _h; do printf 'header = "%s"\n' "$_h"; done
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n'
	} >>"$T/cfg.$((n % 8))"
}
for a in 0 1 2 3 4 5 6 7 8 9; do
	for b in 0 1 2 3 4 5 6 7 8 9; do
		for c in 0 1 2 3 4 5 6 7 8 9 10; do
			case $c in
			0) blob "d$a/s$b/f$c.txt" $((n % 3000 + 1)) "text/plain; charset=utf-8" "x-ms-meta-Idx: $n" "x-ms-meta-owner: alice" ;;
			1) blob "d$a/s$b/f$c.json.gz" $((n % 2000 + 1)) application/json "Content-Encoding: gzip" "Cache-Control: max-age=60" ;;
			2) blob "d$a/s$b/f$c.html" $((n % 1000 + 1)) text/html "Content-Language: de-CH" "Content-Disposition: attachment; filename=\\\"x.html\\\"" ;;
			*) blob "d$a/s$b/f$c.bin" $((n % 4000 + 1)) application/octet-stream ;;
			esac
		done
	done
done
LONG=$(printf 'L%.0s' $(seq 1 300))
blob "odd/sp ace.txt" 10 text/plain "x-ms-meta-note: has spaces"
blob "odd/per%cent&amp=eq?q#h+plus" 11 text/plain
blob "odd/ünïcödé-€.txt" 12 text/plain
blob "odd//double" 13 text/plain
blob "odd/trailing/" 14 text/plain
blob "odd/../dots" 15 text/plain
blob "odd/./dot" 16 text/plain
blob "both" 17 text/plain
blob "both/inner" 18 text/plain
blob "long/$LONG/x" 19 text/plain
blob "empty" 0 application/x-empty "x-ms-meta-zero: 1"
head -c $((65 * 1048576 + 123)) /dev/urandom >"$T/big"
t0=$(date +%s)
curlk "$T/cfg" >"$T/codes"
curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H 'x-ms-blob-type: BlockBlob' -H 'Content-Type: application/x-big' \
    -H 'x-ms-meta-size: big' --data-binary @"$T/big" "$AZURITE_URL/src/big/huge.bin?$SAS" >>"$T/codes"
nb=$(grep -c '^201$' "$T/codes")
[ "$nb" -eq $((n + 1)) ]; ok $? "made the source container: $nb blobs ($(($(date +%s) - t0)) s)"

# azlist CONTAINER: every blob's name, size, properties (content type,
# encoding, language, cache control, disposition, MD5) and metadata, one
# line each as JSON (az sorts the keys of the properties and the metadata),
# as the independent client az storage blob list reports them
azlist() {
	az storage blob list -c "$1" --include m --num-results '*' --connection-string "$KEYCS" -o json \
	    --query '[].[name, properties.contentLength, properties.contentSettings, metadata]' 2>>"$T/az.err" |
	    awk '{ t = $0; sub(/^ +/, "", t); i = length($0) - length(t) }
		i == 2 && t ~ /^\[/ { l = "" } i >= 2 { l = l t } i == 2 && t ~ /^\]/ { sub(/,$/, "", l); print l }'
}
# azget CONTAINER DIR: every blob's content into DIR: az storage blob
# download-batch (d*, 1100 blobs) and download (big/huge.bin); the few odd
# names az cannot fetch (its client drops "." and ".." segments, and
# "odd/trailing/" or "both" beside "both/inner" cannot be files) with
# curl, into DIR/odd/1, 2, ... in listing order
azget() {
	rm -rf "$2" "$T"/fcfg.*
	mkdir -p "$2/odd"
	az storage blob download-batch -s "$1" -d "$2" --pattern 'd*' --max-connections 8 --no-progress \
	    --connection-string "$KEYCS" -o none 2>>"$T/az.err" &&
	    az storage blob download -c "$1" -n big/huge.bin -f "$2/big" --no-progress \
		--connection-string "$KEYCS" -o none 2>>"$T/az.err" || return 1
	_i=0
	_sas=$(mksas rl "$FUTURE" "$1")
	azlist "$1" | sed -n 's/^\["\([^"]*\)",.*/\1/p' | grep -v '^d\|^big/huge.bin$' |
	    while IFS= read -r _nm; do
		_i=$((_i + 1))
		printf 'url = "%s/%s/%s?%s"\noutput = "%s/odd/%d"\nnext\n' "$AZURITE_URL" "$1" "$(pe "$_nm")" "$_sas" "$2" $_i
	    done >"$T/fcfg.0"
	curlk "$T/fcfg" >/dev/null
}
azlist src >"$T/l.src"
[ "$(wc -l <"$T/l.src")" -eq "$nb" ]; ok $? "az storage blob list shows all $nb blobs"

# ---- backup with a read-only SAS (r, l)
tf init; ok $? "init a local repository"
t0=$(date +%s)
AZURE_STORAGE_CONNECTION_STRING=$(sascs "$SAS_R") tf backup "azure://$A/src" >"$T/id1" 2>"$T/err"; rc=$?
[ $rc -eq 0 ]; ok $? "backup of azure://$A/src with a read-only SAS ($(($(date +%s) - t0)) s, exit $rc)"
cat "$T/err"
tf ls latest >"$T/ls"
grep -q "^/azure/$A/src/d9/s9/f10.bin$" "$T/ls" && grep -q "^/azure/$A/src/big/huge.bin$" "$T/ls" &&
    grep -q "^/azure/$A/src/odd/%-/double$" "$T/ls" && grep -q "^/azure/$A/src/odd/%2E%2E/dots$" "$T/ls" &&
    grep -q "^/azure/$A/src/both%!$" "$T/ls" && grep -q "^/azure/$A/src/odd/trailing/%-$" "$T/ls"
[ $? -eq 0 ] || grep odd "$T/ls" | sed 's/^/# /'
ok $([ $? -eq 0 ]; echo $?) "the snapshot holds /azure/$A/src with nested prefixes and encoded odd names"

# ---- restore into a fresh container, compare with az
t0=$(date +%s)
tf restore latest --include "/azure/$A/src" --target "azure://$A/dst"; rc=$?
ok $rc "restore into azure://$A/dst ($(($(date +%s) - t0)) s)"
azlist dst >"$T/l.dst"
cmp -s "$T/l.src" "$T/l.dst" || diff "$T/l.src" "$T/l.dst" | head -6 | cut -c1-900 | sed 's/^/# /'
cmp -s "$T/l.src" "$T/l.dst"; ok $? "names, sizes, content types, encodings, languages, cache control, disposition, MD5 and metadata are identical ($(wc -l <"$T/l.dst") blobs)"
t0=$(date +%s)
azget src "$T/get.src" && azget dst "$T/get.dst" && diff -r "$T/get.src" "$T/get.dst" >/dev/null &&
    [ "$(find "$T/get.dst" -type f | wc -l)" -eq "$nb" ]
ok $? "every blob's content is identical (downloaded by az, $(find "$T/get.dst" -type f | wc -l) blobs, $(($(date +%s) - t0)) s)"

# ---- restore into a directory: files with user.twofold.* xattrs
tf restore latest --include "/azure/$A/src" --target "$T/dir"; rc=$?
D="$T/dir/azure/$A/src"
[ $rc -eq 0 ] && cmp -s "$D/big/huge.bin" "$T/big" && [ "$(find "$D" -type f | wc -l)" -eq "$nb" ]
ok $? "restore into a directory writes every blob as a file (exit $rc)"
if command -v getfattr >/dev/null 2>&1 && getfattr -n user.twofold.meta.owner --only-values "$D/d0/s0/f0.txt" >"$T/x" 2>/dev/null; then
	grep -qx alice "$T/x" &&
	    [ "$(getfattr -n user.twofold.content-type --only-values "$D/d0/s0/f0.txt")" = "text/plain; charset=utf-8" ]
	ok $? "properties and metadata become user.twofold.* xattrs"
else
	ok 0 "# SKIP no user xattrs on this file system"
fi

# ---- change 1% of the blobs (11 existing ones); the next backup GETs only
# those
i=0
for k in 0 1 2 3 4 5 6 7 8 9 10; do
	name="d$k/s$(((k * 3) % 10))/f$((k % 8 + 3)).bin"
	[ $k -eq 10 ] && name="odd/sp ace.txt"
	grep -qF "[\"$name\"," "$T/l.src" || continue
	head -c 500 /dev/urandom >"$T/new$k"
	curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H 'x-ms-blob-type: BlockBlob' -H 'Content-Type: text/x-changed' \
	    --data-binary @"$T/new$k" "$AZURITE_URL/src/$(pe "$name")?$SAS" | grep -q 201 && i=$((i + 1))
done
ok $([ $i -eq 11 ]; echo $?) "changed 11 existing blobs of $nb"
azlist src >"$T/l.src2"
fp_start proxy "$AZURITE_PORT" || ok 1 "proxy starts"
PROXYCS="BlobEndpoint=http://127.0.0.1:$FP_PORT/$A;SharedAccessSignature=$SAS_R"
AZURE_STORAGE_CONNECTION_STRING=$PROXYCS tf backup "azure://$A/src" >"$T/id2" 2>"$T/err"; rc=$?
gets=$(grep '^request [0-9]* GET ' "$T/proxy.log" | grep -vc 'comp=list')
[ $rc -eq 0 ] && [ "$gets" -eq 11 ]; ok $? "the second backup downloads only the 11 changed blobs ($gets GETs, exit $rc)"

# ---- server errors and cut connections during the downloads are retried
fp_start flaky "$AZURITE_PORT" -f 503:every=7:GET -f reset-response:every=11:GET -m 2 || ok 1 "proxy starts"
FLAKYCS="BlobEndpoint=http://127.0.0.1:$FP_PORT/$A;SharedAccessSignature=$SAS_R"
AZURE_STORAGE_CONNECTION_STRING=$FLAKYCS tf --no-cache backup "azure://$A/src" >"$T/id3" 2>"$T/err"; rc=$?
faults=$(fp_faults flaky)
tf ls "$(cat "$T/id3")" >"$T/ls3"
[ $rc -eq 0 ] && [ "$faults" -gt 10 ] && [ "$(grep -c "^/azure/$A/src/" "$T/ls3")" -eq "$(grep -c "^/azure/$A/src/" "$T/ls")" ]
[ $rc -eq 0 ] || head -5 "$T/err" | sed "s/^/# /"
ok $? "a backup through $faults injected 503s and cut responses completes (exit $rc)"
[ "$(tf --json cat snapshot "$(cat "$T/id3")" | sed -n 's/.*"tree":"\([0-9a-f]*\)".*/\1/p')" = \
    "$(tf --json cat snapshot "$(cat "$T/id2")" | sed -n 's/.*"tree":"\([0-9a-f]*\)".*/\1/p')" ]
ok $? "and gives the same tree as the clean backup of the same state (full dedup)"

# ---- the old snapshot restores the old state, the new one the new state
tf restore "$(cat "$T/id1")" --include "/azure/$A/src" --target "azure://$A/old"; rc1=$?
tf restore "$(cat "$T/id2")" --include "/azure/$A/src" --target "azure://$A/new"; rc2=$?
azlist old >"$T/l.old"
azlist new >"$T/l.new"
[ $rc1 -eq 0 ] && cmp -s "$T/l.old" "$T/l.src"; ok $? "the first snapshot restores the old container"
[ $rc2 -eq 0 ] && cmp -s "$T/l.new" "$T/l.src2" && ! cmp -s "$T/l.src" "$T/l.src2"
ok $? "the second snapshot restores the changed container"
az storage blob download -c new -n "odd/sp ace.txt" -f "$T/got10" --no-progress --connection-string "$KEYCS" \
    -o none 2>>"$T/az.err" && cmp -s "$T/got10" "$T/new10"
ok $? "a changed blob has its new content (az storage blob download)"

# ---- a blob changed while the backup runs: a proxy holds the GET of
# d5/s5/f5.bin until the test has rewritten that blob (straight at
# Azurite) and opened the gate; the backup, reading everything again,
# must notice (If-Match) and report it
fp_start hold "$AZURITE_PORT" -g "$T/hold.gate" -t 60 -f hold:1:GET:/src/d5/s5/f5.bin || ok 1 "proxy starts"
HOLDCS="BlobEndpoint=http://127.0.0.1:$FP_PORT/$A;SharedAccessSignature=$SAS_R"
fp_held_change hold /src/d5/s5/f5.bin \
    'AZURE_STORAGE_CONNECTION_STRING=$HOLDCS tf --no-cache backup "azure://$A/src" >/dev/null 2>"$T/err"' \
    'curl -s -o /dev/null -w %{http_code} -X PUT -H "x-ms-blob-type: BlockBlob" --data-binary changed-while-read \
	"$AZURITE_URL/src/d5/s5/f5.bin?$SAS"'
rc=$?
tf --json cat snapshot latest >"$T/snap.json"
[ $FP_HELD -eq 0 ] && [ "$FP_CHANGED" = 201 ] && [ $rc -eq 0 ] &&
    grep -q "d5/s5/f5.bin changed while it was read" "$T/err" && grep -q "changed_while_read.*d5/s5/f5.bin" "$T/snap.json"
ok $? "a blob rewritten while the backup waits for it is reported and listed in the snapshot (HTTP $FP_CHANGED, exit $rc)"
tf dump latest "/azure/$A/src/d5/s5/f5.bin" >"$T/cw"
[ "$(cat "$T/cw")" = changed-while-read ]; ok $? "and stored as it is now (If-Match caught the change)"

# ---- a repository of two copies, local and in Azure; restore from the
# cloud copy alone
mkcontainer repo >/dev/null
tf -r "$T/repo2" -r "azure://$A/repo/two" init && tf -r "$T/repo2" -r "azure://$A/repo/two" backup "azure://$A/src" >/dev/null
ok $? "backup of the container into a local + Azure repository (-r A -r B)"
mkcontainer fromcloud >/dev/null
tf -r "azure://$A/repo/two" restore latest --include "/azure/$A/src" --target "azure://$A/fromcloud"; rc=$?
azlist src >"$T/l.src3"
azlist fromcloud >"$T/l.fromcloud"
[ $rc -eq 0 ] && cmp -s "$T/l.src3" "$T/l.fromcloud"; ok $? "the cloud copy alone restores it into another container"

# ---- errors
tf backup "azure://$A/nosuch" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "source azure://$A/nosuch" "$T/err" && grep -q "does not exist" "$T/err"
ok $? "a missing container is a clear error naming the source (exit $rc)"
WRONG=$(head -c 64 /dev/urandom | base64 -w0)
AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$A;AccountKey=$WRONG;BlobEndpoint=$AZURITE_URL;" \
    tf backup "azure://$A/src" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "source azure://$A/src" "$T/err" && grep -q "account key is wrong" "$T/err" &&
    ! grep -qF "$WRONG" "$T/err"
ok $? "a wrong key is a clear error that shows no key (exit $rc)"
AZURE_STORAGE_CONNECTION_STRING=$(sascs "$(mksas rl "$PAST" src)") tf backup "azure://$A/src" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "SAS expired at $PAST" "$T/err" && ! grep -q "sig=" "$T/err"
ok $? "an expired SAS is a clear error that shows no signature (exit $rc)"
AZURE_STORAGE_CONNECTION_STRING=$(sascs "$SAS_R") tf restore latest --include "/azure/$A/src" \
    --target "azure://$A/src/copy" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "lacks a permission\|SAS is wrong" "$T/err"
ok $? "restoring with a read-only SAS fails clearly (exit $rc)"

done_testing
