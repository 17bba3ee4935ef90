#!/bin/sh
# rotate: key rotate, rekey and retiring an epoch, on a repository with a
# local copy and a cloud copy (Azurite).
#
# A read-only key leaks: the thief keeps its slot, its passphrase and the
# grants of the time.  The owner revokes it, rotates (new epoch 2), backs
# up, and rekeys in small steps (--max-size), one of them killed with
# kill -9, until epoch 1 is retired.  Then: every snapshot restores
# bit-exact under its new ID (the write-only key's, and a revoked
# write-only key's, which stays accepted), check --read-data --copies is
# clean, no copy holds a grant of epoch 1 or any object sealed to it, the
# witness takes the replaced IDs for what they are (no rollback alarm),
# keys added after the rotation work, and tests/tools/epoch_proof shows
# that the thief's material (which opened the repository before: the
# control) opens no object in either copy.
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/azurite.sh"
trap 'azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
TOOLS=$(dirname "$TWOFOLD_BIN")/tools
OBJ=$TOOLS/objtool

azurite_start; ok $? "Azurite starts on 127.0.0.1:$AZURITE_PORT"
unset TWOFOLD_REPOSITORY
L=$T/local
A="azure://$AZURITE_ACCOUNT/rotate/repo"
two() { tf -r "$L" -r "$A" "$@"; }
jnum() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"; }	# jnum KEY FILE
# epoch_pk N: "N:PKHEX" of epoch N from the config
epoch_pk() {
	two --json cat config | tr '{' '\n' | grep "\"number\":$1," |
		sed -n 's/.*"number":\([0-9]*\).*"public_key":"\([0-9a-f]*\)".*/\1:\2/p'
}

random_files "$T/src" 4 3000000
echo first >"$T/src/a"
two init >/dev/null 2>&1; ok $? "init: a local and a cloud copy"
two backup "$T/src" >/dev/null 2>&1; ok $? "owner backup"
printf 'read only pass\n' >"$T/ropass"
printf 'write only pass\n' >"$T/wopass"
printf 'second write only\n' >"$T/wo2pass"
rid=$(two key add --read-only --name leaked --new-password-file "$T/ropass" 2>/dev/null); ok $? "key add --read-only"
two key add --write-only --name host --new-password-file "$T/wopass" >/dev/null 2>&1; ok $? "key add --write-only"
w2=$(two key add --write-only --name retired-host --new-password-file "$T/wo2pass" 2>/dev/null); ok $? "a second write-only key"
echo by-host >"$T/src/b"
two --password-file "$T/wopass" backup "$T/src" >/dev/null 2>&1; ok $? "the write-only key backs up"
echo by-retired-host >"$T/src/c"
two --password-file "$T/wo2pass" backup "$T/src" >/dev/null 2>&1; ok $? "the second write-only key backs up"
two key revoke "$w2" >/dev/null 2>&1; ok $? "the second write-only key is revoked (its snapshot stays valid)"

# the thief's material, and a control: it opens the repository today
E1=$(epoch_pk 1)
cp -r "$L/keys" "$T/stolen-keys" && cp -r "$L/grants" "$T/stolen-grants"
"$TOOLS/epoch_proof" "$T/stolen-keys" "$T/ropass" "$T/stolen-grants" "$E1" open "$L" >"$T/proof0" 2>&1
ok $? "control: the read-only key's material opens epoch-1 objects ($(grep -c opened: "$T/proof0") opened)"
[ "$(ls "$L/grants" | wc -l)" -eq 2 ] && [ "$("$OBJ" "$A" list grants/ | wc -l)" -eq 2 ]
ok $? "one grant per owner and read-only key, on both copies"

# every snapshot's content, by time (IDs change with rekey)
restore_all() { # restore_all DIR: DIR/<time>/ for every snapshot
	two --json snapshots 2>/dev/null | tr '{' '\n' | sed -n 's/.*"id":"\([0-9a-f]*\)".*"time":"\([^"]*\)".*/\1 \2/p' |
	while read -r id t; do
		two restore "$id" --target "$1/$(echo "$t" | tr -dc '0-9')" >/dev/null 2>&1 || echo "restore $id failed"
	done
}
restore_all "$T/before" >"$T/rb.err"
[ ! -s "$T/rb.err" ] && [ "$(ls "$T/before" | wc -l)" -eq 3 ]; ok $? "three snapshots restore before the rotation"

two key revoke "$rid" >/dev/null 2>&1; ok $? "the leaked read-only key is revoked"
ep=$(two key rotate 2>/dev/null); ok $? "key rotate"
[ "$ep" = 2 ]; ok $? "key rotate starts epoch 2 ($ep)"
two --json cat config >"$T/cfg.json" 2>/dev/null
[ "$(jnum epoch "$T/cfg.json")" = 2 ]; ok $? "the config seals new data to epoch 2"
[ "$(ls "$L/grants" | grep -c -- '-00000002-')" -eq 1 ]
ok $? "epoch 2 is granted to the owner only (the revoked read-only key gets nothing)"
echo after-rotation >"$T/src/d"
two backup "$T/src" >/dev/null 2>&1; ok $? "owner backup after the rotation"
echo host-after >"$T/src/e"
two --password-file "$T/wopass" backup "$T/src" >/dev/null 2>&1
ok $? "the write-only key backs up after the rotation (it seals to epoch 2 from the config)"
"$TOOLS/epoch_proof" "$T/stolen-keys" "$T/ropass" "$T/stolen-grants" "$E1" open "$L" >/dev/null 2>&1
ok $? "before rekey, the old material still opens the old objects"

# rekey in small steps; one step killed
two --json rekey --max-size 1 >"$T/rk1.json" 2>"$T/rk1.err"; ok $? "rekey --max-size 1: one step"
grep -q '"complete":false' "$T/rk1.json" && [ "$(jnum objects_left "$T/rk1.json")" -gt 0 ]
ok $? "after one step, objects sealed to epoch 1 remain ($(jnum objects_left "$T/rk1.json"))"
grep -q '"snapshots":\[{"old"' "$T/rk1.json"; ok $? "the first step reseals the snapshots (old and new IDs in --json)"
# the binary itself in the background: a shell function would be a
# subshell, and kill -9 would leave twofold running with its lock
"$TWOFOLD_BIN" -q -r "$L" -r "$A" rekey --max-size 1 >/dev/null 2>&1 &
kp=$!
sleep 0.3
kill -9 $kp 2>/dev/null
wait $kp 2>/dev/null
n=0 done_=0
while [ $n -lt 20 ] && [ $done_ -eq 0 ]; do
	two --json rekey --max-size 4M >"$T/rk.json" 2>>"$T/rk.err" || break
	grep -q '"complete":true' "$T/rk.json" && done_=1
	n=$((n + 1))
done
[ $done_ -eq 1 ]; ok $? "rekey resumes after kill -9 and completes in steps ($n more run(s))"
grep -q '"retired":\[1\]' "$T/rk.json"; ok $? "the last step retires epoch 1"
two --json cat config >"$T/cfg2.json" 2>/dev/null
grep -q '"number":1,"public_key":"[0-9a-f]*","state":"retired"' "$T/cfg2.json"; ok $? "the config marks epoch 1 retired"
[ "$(ls "$L/grants" | grep -c -- '-00000001-')" -eq 0 ] && [ "$("$OBJ" "$A" list grants/ | grep -c -- '-00000001-')" -eq 0 ]
ok $? "no copy holds a grant of epoch 1"

two snapshots >"$T/snaps" 2>"$T/snaps.err"; rc=$?
[ $rc -eq 0 ]; ok $? "snapshots: no rollback alarm for the replaced IDs (exit $rc)"
[ "$(grep -c '^[0-9a-f]\{8\} ' "$T/snaps")" -eq 5 ]; ok $? "five snapshots, none rejected"
two --json snapshots 2>/dev/null | grep -q '"ok-revoked-key"'; ok $? "the revoked key's snapshot stays accepted under its new ID"
two check --read-data --copies >"$T/check" 2>&1; ok $? "check --read-data --copies is clean"
restore_all "$T/after" >"$T/ra.err"
[ ! -s "$T/ra.err" ]; ok $? "every snapshot restores after rekey"
ok_same=1
for d in "$T/before"/*; do
	diff -r "$d" "$T/after/$(basename "$d")" >/dev/null || ok_same=0
done
[ $ok_same -eq 1 ]; ok $? "the three snapshots made before the rotation restore bit-exact"
two restore latest --target "$T/latest" >/dev/null 2>&1 && diff -r "$T/src" "$T/latest$T/src" >/dev/null
ok $? "the newest snapshot restores bit-exact"

mkdir -p "$T/cloud" && "$OBJ" "$A" copy "$T/cloud" >/dev/null 2>&1; ok $? "the cloud copy's objects, downloaded"
"$TOOLS/epoch_proof" "$T/stolen-keys" "$T/ropass" "$T/stolen-grants" "$E1" none "$L" "$T/cloud" >"$T/proof" 2>&1
ok $? "the old epoch's key material opens nothing in either copy: $(tail -n 1 "$T/proof")"
two --password-file "$T/ropass" snapshots >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ]; ok $? "the revoked read-only key is refused (exit $rc)"

printf 'new reader\n' >"$T/ro2pass"
two key add --read-only --new-password-file "$T/ro2pass" >/dev/null 2>&1; ok $? "a read-only key added after the rotation"
two --password-file "$T/ro2pass" restore latest --target "$T/ro2" >/dev/null 2>&1 &&
    diff -r "$T/src" "$T/ro2$T/src" >/dev/null
ok $? "it restores bit-exact (its grant of epoch 2)"
two rekey >"$T/rk-again" 2>&1 && grep -q "nothing is sealed to an older epoch" "$T/rk-again"
ok $? "rekey with nothing left to do says so"
g=$(ls "$L/grants" | head -n 1)
mv "$L/grants/$g" "$T/grant.saved"
"$TWOFOLD_BIN" -r "$L" check >"$T/gcheck" 2>&1
grep -q "has no grant of the current epoch 2" "$T/gcheck"
ok $? "check of the local copy alone names the key whose grant is missing"
two repair >/dev/null 2>&1 && cmp -s "$L/grants/$g" "$T/grant.saved"
ok $? "repair restores the grant from the cloud copy"

done_testing
