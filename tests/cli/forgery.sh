#!/bin/sh
# forgery: forged and altered snapshots are rejected, and key revocation
# does not trust a snapshot's own timestamp.
#
# tests/tools/forge writes snapshot objects with the library: sealed to the
# repository's epoch key with a write-only key's material and signed by
# (a) a key of another repository, (a') a write-only key after `key
# remove` (its slot saved by the attacker beforehand), (a'') the
# write-only key while naming the owner as the signer; (b) is a real
# snapshot with one byte flipped, stored under its new SHA-256.  Each must
# be listed as REJECTED with its reason by `snapshots` (exit 10), refused
# by `restore` (exit 1, nothing written), named by `check` (exit 10), and
# never chosen as "latest".
#
# Revocation: a write-only key makes S3; the owner revokes it (`key
# revoke`); the key is then refused when it opens the repository; two
# snapshots the attacker makes with its material afterwards, one dated
# now and one backdated before S3, are both rejected; S3 stays valid and
# is marked "revoked signer, made before revocation" (text and --json).
. "$(dirname "$0")/lib.sh"

TOOLS=$(dirname "$TWOFOLD_BIN")/tools
flip() { # flip FILE OFFSET
	fl_old=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "$(printf '\\%03o' $(((fl_old + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
# status_of ID: the status field of snapshot ID in `snapshots --json`
status_of() { tf --json snapshots 2>/dev/null | tr '{' '\n' | grep "\"id\":\"$1\"" | sed -n 's/.*"status":"\([a-z-]*\)".*/\1/p'; }

mkdir -p "$T/src"
random_files "$T/src" 3 100000
tf init || exit 1
S0=$(tf backup "$T/src") || exit 1
TREE=$(tf cat snapshot "$S0" | sed -n 's/.*"tree":"\([0-9a-f]*\)".*/\1/p')
[ ${#TREE} -eq 64 ]; ok $? "an owner snapshot and its tree ID"
printf 'write only\n' >"$T/wopass"
wid=$(tf key add --write-only --name host1 --new-password-file "$T/wopass") || exit 1

# forged ID WHY: snapshots, restore, check and latest all reject ID for WHY
forged() {
	_id=$1 _why=$2 _what=$3
	[ "$(status_of "$_id")" = rejected ] &&
		tf --json snapshots 2>/dev/null | tr '{' '\n' | grep "\"id\":\"$_id\"" | grep -q "$_why"
	ok $? "$_what: snapshots --json lists it as rejected: $_why"
	tf snapshots >"$T/out" 2>"$T/err"; _rc=$?
	[ $_rc -eq 10 ] && grep -q "^$(echo "$_id" | cut -c1-8)  REJECTED: .*$_why" "$T/out"
	ok $? "$_what: snapshots shows REJECTED with the reason and exits 10 (exit $_rc)"
	tf restore "$_id" --target "$T/r-$_id" >/dev/null 2>"$T/err"; _rc=$?
	[ $_rc -eq 1 ] && grep -q "is rejected: .*$_why" "$T/err" && [ ! -e "$T/r-$_id" ]
	ok $? "$_what: restore refuses it, exit $_rc, nothing written: $(head -c 100 "$T/err" | tr '\n' ' ')"
	tf check >/dev/null 2>"$T/err"; _rc=$?
	[ $_rc -eq 10 ] && grep -q "snapshots/$_id is rejected: .*$_why" "$T/err"
	ok $? "$_what: check names it and exits 10 (exit $_rc)"
	[ "$(tf cat snapshot latest 2>/dev/null | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')" != "$_id" ]
	ok $? "$_what: it is never 'latest'"
}

# the epoch to seal to and its public key, from the config every key reads
FORGE_EPOCH=$(tf --json cat config | tr '{' '\n' | grep '"state":"active"' | tail -n 1 |
	sed -n 's/.*"number":\([0-9]*\).*"public_key":"\([0-9a-f]*\)".*/\1:\2/p')
export FORGE_EPOCH
[ -n "$FORGE_EPOCH" ]; ok $? "the config names the current epoch's public key"

# ---- (a) signed by a key of another repository ----
tf -r "$T/other" init || exit 1
F1=$("$TOOLS/forge" snapshot "$T/repo/keys" "$T/wopass" "$T/other/keys" "$T/pass" "$TREE" \
	"$(($(date +%s) + 3600))000000000" "$T/repo/snapshots"); ok $? "forge: a snapshot signed by another repository's key"
forged "$F1" "signed by a key the config does not allow" "foreign signer"

# ---- (a'') the write-only key impersonates the owner: the config (which
# it can read) gives the owner's slot and signing key; it signs itself ----
OWNER=$(tf --json cat config | tr '{' '\n' | grep '"role":"owner"' |
	sed -n 's/.*"id":"\([0-9a-f]*\)".*"signer":"\([0-9a-f]*\)".*/\1:\2/p')
F0=$(FORGE_CLAIM=$OWNER "$TOOLS/forge" snapshot "$T/repo/keys" "$T/wopass" "$T/repo/keys" "$T/wopass" \
	"$TREE" "$(date +%s%N)" "$T/repo/snapshots"); ok $? "forge: a snapshot naming the owner as signer, signed by the write-only key"
forged "$F0" "its signature is not valid" "impersonated owner"

# ---- (a') signed by a removed key (its slot kept by the attacker) ----
printf 'write only 2\n' >"$T/wo2pass"
w2=$(tf key add --write-only --name host2 --new-password-file "$T/wo2pass") || exit 1
mkdir "$T/w2keys"
cp "$T/repo/keys/"* "$T/w2keys/"
S2=$(tf --password-file "$T/wo2pass" backup "$T/src"); ok $? "the second write-only key makes a snapshot"
tf key remove "$w2" 2>"$T/err"; ok $? "key remove of that key"
F2=$("$TOOLS/forge" snapshot "$T/w2keys" "$T/wo2pass" "$T/w2keys" "$T/wo2pass" "$TREE" \
	"$(date +%s%N)" "$T/repo/snapshots"); ok $? "forge: a snapshot by the removed key's saved slot"
forged "$F2" "signed by revoked key 'host2' and not one of the snapshots it made before" "removed key"
[ "$(status_of "$S2")" = ok-revoked-key ]; ok $? "the removed key's earlier snapshot stays valid (ok-revoked-key)"

# ---- (b) one byte flipped, object renamed to its new SHA-256 ----
cp "$T/repo/snapshots/$S0" "$T/flipped"
flip "$T/flipped" $(($(stat -c %s "$T/flipped") / 2))
F3=$(sha256sum "$T/flipped" | cut -c1-64)
mv "$T/flipped" "$T/repo/snapshots/$F3"
[ "$F3" != "$S0" ]; ok $? "an altered copy of a snapshot under its recomputed name"
forged "$F3" "fails authentication" "flipped byte"
[ "$(status_of "$S0")" = ok ]; ok $? "the original snapshot is still good"

# ---- revocation ----
printf 'write only 3\n' >"$T/wo3pass"
w3=$(tf key add --write-only --name host3 --new-password-file "$T/wo3pass") || exit 1
t3=$(date +%s%N)
S3=$(tf --password-file "$T/wo3pass" backup "$T/src"); ok $? "the third write-only key makes S3"
tf key revoke "$w3" 2>"$T/err"; ok $? "key revoke (owner)"
"$TWOFOLD_BIN" key revoke "$w3" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "already revoked" "$T/err"; ok $? "revoking it again is an error (exit $rc)"
tf key list >"$T/keys" 2>/dev/null
grep -q "^ $w3 .*host3 (revoked)" "$T/keys"; ok $? "key list marks it revoked"
tf --json key list 2>/dev/null | tr '{' '\n' | grep "\"id\":\"$w3\"" | grep -q '"revoked":true' &&
	[ "$(tf --json key list 2>/dev/null | grep -o '"revoked":true' | wc -l)" -eq 1 ]
ok $? "key list --json: revoked true for it (the removed key's slot is gone) and for no other"
tf cat config | tr '{' '\n' | grep "\"id\":\"$w3\"" | grep -q "\"revoked\":true,\"allowed_snapshots\":\[\"$S3\"\]"
ok $? "the config lists S3 as the one snapshot it made before revocation"
tf --password-file "$T/wo3pass" backup "$T/src" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "was revoked" "$T/err"
ok $? "the revoked key is refused when it opens the repository (exit $rc)"
F4=$("$TOOLS/forge" snapshot "$T/repo/keys" "$T/wo3pass" "$T/repo/keys" "$T/wo3pass" \
	"$TREE" "$(date +%s%N)" "$T/repo/snapshots"); ok $? "forge: S4 with the revoked key's material, dated now"
forged "$F4" "signed by revoked key 'host3' and not one of the snapshots it made before" "revoked key, dated now"
F5=$("$TOOLS/forge" snapshot "$T/repo/keys" "$T/wo3pass" "$T/repo/keys" "$T/wo3pass" \
	"$TREE" "$((t3 - 1000000000))" "$T/repo/snapshots"); ok $? "forge: S5 with the revoked key's material, backdated before S3"
forged "$F5" "signed by revoked key 'host3' and not one of the snapshots it made before" "revoked key, backdated"
[ "$(status_of "$S3")" = ok-revoked-key ] &&
	tf --json snapshots 2>/dev/null | tr '{' '\n' | grep "\"id\":\"$S3\"" | grep -q '"note":"revoked signer, made before revocation"'
ok $? "S3 stays valid, marked in --json: revoked signer, made before revocation"
tf snapshots 2>/dev/null | grep "^$(echo "$S3" | cut -c1-8) " | grep -q "(revoked signer, made before revocation)"
ok $? "and in the text listing"
tf restore "$S3" --target "$T/r3" 2>"$T/err" && diff -r "$T/src" "$T/r3$T/src"
ok $? "S3 restores"

# Everything at once: check names each forgery and nothing else.
tf check >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 10 ] && [ "$(grep -c 'snapshots/[0-9a-f]* is rejected' "$T/err")" -eq 6 ]
ok $? "check exits 10 and names exactly the 6 forged snapshots (exit $rc)"
n=$(tf --json snapshots 2>/dev/null | grep -o '"status":"ok[a-z-]*"' | wc -l)
[ "$n" -eq 3 ]; ok $? "3 good snapshots remain listed as good (S0, S2, S3): $n"

done_testing
