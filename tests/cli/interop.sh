#!/bin/sh
# interop: what twofold stores in the cloud is listed and downloaded by
# independent clients — Debian's az CLI against Azurite, aws CLI against
# Ceph RGW — and what they download is checked: every object's SHA-256
# is its name, and no marker from the backed-up names or contents
# appears anywhere in it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../servers/azurite.sh"
. "$(dirname "$0")/../servers/rgw.sh"
. "$(dirname "$0")/../servers/clients.sh"

clients_install aws az; ok $? "aws and az CLIs are installed"

RGW_ON_EXIT='azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'
azurite_start; ok $? "Azurite starts"
rgw_start; ok $? "Ceph RGW starts"

marker="TWOFOLDINTEROP$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$T/src/$marker-dir"
i=0
while [ $i -lt 20 ]; do
	printf '%s line %d\n' "$marker" $i >>"$T/src/$marker-dir/$marker.txt"
	i=$((i + 1))
done
head -c 3000000 /dev/urandom >"$T/src/random.bin"

# verify DIR WHAT: checks on a downloaded copy of a repository
verify() {
	[ -d "$1" ] || mkdir -p "$1/config"	# nothing downloaded: the checks below fail
	n=$(find "$1" -type f | wc -l)
	[ "$n" -ge 5 ]; ok $? "$2: the client downloaded the repository's $n objects"
	bad=0
	# locks/ holds prune's and backup sessions' markers, not content-named
	# (docs/FORMAT.md, 14.1)
	for f in $(find "$1" -type f ! -path '*/config/*' ! -path '*/grants/*' ! -path '*/locks/*'); do
		[ "$(sha256sum <"$f" | cut -c1-64)" = "$(basename "$f")" ] || bad=$((bad + 1))
	done
	[ $bad -eq 0 ]; ok $? "$2: every object's SHA-256 is its name ($bad mismatches)"
	for c in "$1"/config/* "$1"/grants/*; do
		[ -f "$c" ] && [ "$(sha256sum <"$c" | cut -c1-64)" = "${c##*-}" ] || bad=$((bad + 1))
	done
	[ $bad -eq 0 ]; ok $? "$2: config and grant objects carry their SHA-256 after the last dash"
	hex=$(printf '%s' "$marker" | od -An -tx1 | tr -d ' \n')
	b64=$(printf '%s' "$marker" | base64)
	! grep -r -a -q -F -e "$marker" -e "$hex" -e "$b64" "$1"
	ok $? "$2: the marker appears in no object (plain, hex or base64)"
	! find "$1" | grep -q -F "$marker"; ok $? "$2: nor in any object name"
}

# --- Azure: az storage blob against Azurite
az_setup
TWOFOLD_REPOSITORY="azure://$AZURITE_ACCOUNT/interop/repo" tf init; ok $? "init on Azurite"
TWOFOLD_REPOSITORY="azure://$AZURITE_ACCOUNT/interop/repo" tf backup "$T/src" >/dev/null; ok $? "backup to Azurite"
az storage blob list --container-name interop --connection-string "$AZURE_STORAGE_CONNECTION_STRING" \
    --query '[].name' -o tsv >"$T/az.list" 2>"$T/az.err"
ok $? "az storage blob list"
grep -q '^repo/snapshots/' "$T/az.list" && grep -q '^repo/data/' "$T/az.list" && grep -q '^repo/keys/' "$T/az.list"
ok $? "az lists keys, data and snapshots under the prefix"
mkdir -p "$T/az.dl"	# az wants an existing destination
az storage blob download-batch --source interop --destination "$T/az.dl" --pattern 'repo/*' \
    --connection-string "$AZURE_STORAGE_CONNECTION_STRING" >/dev/null 2>>"$T/az.err"
ok $? "az storage blob download-batch"
verify "$T/az.dl/repo" "Azure"

# --- S3: aws s3 against RGW
aws_setup
TWOFOLD_REPOSITORY="s3://interop/repo" tf init; ok $? "init on RGW"
TWOFOLD_REPOSITORY="s3://interop/repo" tf backup "$T/src" >/dev/null; ok $? "backup to RGW"
aws --endpoint-url "$AWS_ENDPOINT_URL" s3api list-objects-v2 --bucket interop --prefix repo/ \
    --query 'Contents[].Key' --output text >"$T/aws.list" 2>"$T/aws.err"
ok $? "aws s3api list-objects-v2"
tr '\t' '\n' <"$T/aws.list" | grep -q '^repo/snapshots/'; ok $? "aws lists the snapshot"
aws --endpoint-url "$AWS_ENDPOINT_URL" s3 sync s3://interop/repo "$T/aws.dl" >/dev/null 2>>"$T/aws.err"
ok $? "aws s3 sync downloads the repository"
verify "$T/aws.dl" "S3"

done_testing
