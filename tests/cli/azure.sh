#!/bin/sh
# azure: a repository in Azure Blob Storage, against Azurite (Microsoft's
# emulator) started on loopback: init, backup (a pack large enough to go up
# with Put Block + Put Block List), snapshots, bit-exact restore, dedup,
# check --read-data; wrong key, missing container, wrong account, read-only,
# no-delete and expired SAS tokens; confidentiality (no plaintext marker in
# any stored blob, read back over the REST API with curl and a SAS);
# integrity (a flipped byte in a stored pack makes check exit 10 naming it).
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/azurite.sh"
trap 'azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

if ! azurite_start 2>"$T/azurite.err"; then
	cat "$T/azurite.err" >&2
	ok 1 "Azurite starts"
	done_testing
fi
ok 0 "Azurite starts on port $AZURITE_PORT"

C=tf-$$
export TWOFOLD_REPOSITORY="azure://$AZURITE_ACCOUNT/$C/some/prefix"
# packs (~16 MiB) above 8 MiB go up in 4 MiB blocks (default: 32 and 8 MiB)
export TWOFOLD_AZURE_PUT_MAX=8388608 TWOFOLD_AZURE_BLOCK_SIZE=4194304
KEYCS=$AZURE_STORAGE_CONNECTION_STRING
MARK=zebrafinchmarker

# mksas PERMS EXPIRY: a service SAS for the container
mksas() { azurite_sas "$C" "$@"; }
FUTURE=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
PAST=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
SAS_R=$(mksas rl "$FUTURE")
SAS_W=$(mksas racwl "$FUTURE")
SAS_OLD=$(mksas racwl "$PAST")
sascs() { echo "BlobEndpoint=$AZURITE_URL;SharedAccessSignature=$1"; }

# blobs: "NAME SIZE" of every blob in the container (List Blobs, read SAS)
blobs() {
	curl -sf "$AZURITE_URL/$C?restype=container&comp=list&maxresults=5000&$SAS_R" |
	    sed 's/<Blob>/\n/g' |
	    sed -n 's|.*<Name>\([^<]*\)</Name>.*<Content-Length>\([0-9]*\)</Content-Length>.*|\1 \2|p'
}

mkdir -p "$T/src/$MARK-dir"
printf 'secret %s contents\n' "$MARK" >"$T/src/$MARK-dir/$MARK.txt"
echo hello >"$T/src/a.txt"
head -c 300000 /dev/urandom >"$T/src/small.bin"
head -c 20000000 /dev/urandom >"$T/src/big.bin"
i=0
while [ $i -lt 200 ]; do printf '%s line %d\n' "$MARK" $i; i=$((i + 1)); done >"$T/src/$MARK-dir/log"

tf init; ok $? "init creates a repository (and the container)"
tf init 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "already holds a repository" "$T/err"; ok $? "init twice fails clearly (exit $rc)"

id=$(tf backup "$T/src"); ok $? "backup succeeds"
echo "$id" | grep -Eq '^[0-9a-f]{64}$'; ok $? "backup prints the snapshot ID"

blobs >"$T/blobs"
grep -q '^some/prefix/config/' "$T/blobs" && ! grep -qv '^some/prefix/' "$T/blobs"
ok $? "every blob lives under the prefix ($(wc -l <"$T/blobs") blobs)"
big=$(awk '$2 > 8388608 { print $1; exit }' "$T/blobs")
nblk=0
[ -n "$big" ] && nblk=$(curl -sf "$AZURITE_URL/$C/$big?comp=blocklist&blocklisttype=committed&$SAS_R" |
    grep -o '<Block>' | wc -l)
[ "$nblk" -ge 3 ]; ok $? "a pack over 8 MiB was uploaded as $nblk blocks (Put Block List)"

tf snapshots >"$T/snaps"; ok $? "snapshots lists"
grep -q "$(echo "$id" | cut -c1-8)" "$T/snaps"; ok $? "the table shows the new snapshot"

tf restore latest --target "$T/out"; ok $? "restore"
diff -r "$T/src" "$T/out$T/src"; ok $? "restored tree is identical (diff -r)"

tf --json backup "$T/src" >"$T/b2.json"; ok $? "second backup succeeds"
added=$(sed -n 's/.*"added_bytes":\([0-9]*\).*/\1/p' "$T/b2.json")
[ -n "$added" ] && [ "$added" -lt 100000 ]; ok $? "second backup dedups (added $added bytes)"

tf check --read-data; ok $? "check --read-data passes"

# confidentiality: no blob name or content holds the marker
n=0; leak=0
while read -r name size; do
	n=$((n + 1))
	curl -sf "$AZURITE_URL/$C/$name?$SAS_R" -o "$T/blob" || { leak=1; echo "# cannot download $name"; }
	[ "$(wc -c <"$T/blob")" -eq "$size" ] || { leak=1; echo "# $name has the wrong size"; }
	if grep -q "$MARK" "$T/blob"; then leak=1; echo "# marker in $name"; fi
done <"$T/blobs"
! grep -q "$MARK" "$T/blobs" && [ $leak -eq 0 ] && [ $n -gt 3 ]
ok $? "no plaintext marker in any of $n blobs or their names"

# credentials
WRONGKEY=$(head -c 64 /dev/urandom | base64 -w0)
AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$WRONGKEY;BlobEndpoint=$AZURITE_URL;" \
    tf snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "account key is wrong" "$T/err"; ok $? "a wrong account key is a clear error (exit $rc)"
! grep -qF "$WRONGKEY" "$T/err" && ! grep -qF "$AZURITE_KEY" "$T/err"; ok $? "the message shows no key"

TWOFOLD_REPOSITORY="azure://$AZURITE_ACCOUNT/nosuch-$$/p" tf snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "does not exist" "$T/err"; ok $? "a missing container is a clear error (exit $rc)"

TWOFOLD_REPOSITORY="azure://otheraccount/$C/some/prefix" tf snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "credentials are for account $AZURITE_ACCOUNT" "$T/err"
ok $? "an account that does not match the credentials is a clear error"

AZURE_STORAGE_CONNECTION_STRING=$(sascs "$SAS_R") tf snapshots >/dev/null; ok $? "a read-only SAS can list snapshots"
AZURE_STORAGE_CONNECTION_STRING=$(sascs "$SAS_R") tf restore latest --target "$T/out2"; rc=$?
[ $rc -eq 0 ] && diff -r "$T/src" "$T/out2$T/src"; ok $? "a read-only SAS can restore"
echo new >"$T/src/new.txt"
AZURE_STORAGE_CONNECTION_STRING=$(sascs "$SAS_R") tf backup "$T/src" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "lacks permission" "$T/err"; ok $? "backup with a read-only SAS fails clearly (exit $rc)"
! grep -qF "sig=" "$T/err" && ! grep -qF "$(echo "$SAS_R" | sed 's/.*sig=//')" "$T/err"; ok $? "the message shows no SAS"

AZURE_STORAGE_CONNECTION_STRING= AZURE_STORAGE_BLOB_ENDPOINT=$AZURITE_URL AZURE_STORAGE_SAS_TOKEN="?$SAS_W" \
    tf backup "$T/src" >/dev/null; ok $? "backup with a no-delete SAS (sp=racwl, AZURE_STORAGE_SAS_TOKEN) succeeds"
AZURE_STORAGE_CONNECTION_STRING= AZURE_STORAGE_BLOB_ENDPOINT=$AZURITE_URL \
    AZURE_STORAGE_ACCOUNT=$AZURITE_ACCOUNT AZURE_STORAGE_KEY=$AZURITE_KEY tf snapshots >"$T/snaps"
[ $? -eq 0 ] && [ "$(grep -c "$T/src" "$T/snaps")" -eq 3 ]; ok $? "AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY work (3 snapshots)"

AZURE_STORAGE_CONNECTION_STRING=$(sascs "$SAS_OLD") tf snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "SAS expired at $PAST" "$T/err"; ok $? "an expired SAS is a clear error (exit $rc)"

# integrity: flip one byte in the middle of a stored pack
blobs >"$T/blobs"
victim=$(awk '$1 ~ /\/data\// && $2 > 1000 { print $1; exit }' "$T/blobs")
obj=${victim#some/prefix/}
curl -sf "$AZURITE_URL/$C/$victim?$SAS_R" -o "$T/v" &&
    size=$(wc -c <"$T/v") && pos=$((size / 2)) &&
    byte=$(dd if="$T/v" bs=1 skip=$pos count=1 2>/dev/null | od -An -tu1 | tr -d ' ') &&
    printf "\\$(printf %03o $(((byte + 1) % 256)))" |
    dd of="$T/v" bs=1 seek=$pos conv=notrunc 2>/dev/null &&
    curl -sf -X PUT -H 'x-ms-blob-type: BlockBlob' --data-binary @"$T/v" \
        "$AZURITE_URL/$C/$victim?$SAS_W" >/dev/null
ok $? "flipped a byte in $obj"
tf check --read-data >"$T/out.txt" 2>&1; rc=$?
[ $rc -eq 10 ] && grep -q "$obj" "$T/out.txt"; ok $? "check --read-data exits 10 naming the damaged object (exit $rc)"

done_testing
