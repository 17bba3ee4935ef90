#!/bin/sh
# keyroles: what a write-only and a read-only key can and cannot do.
#
# Write-only: it backs up and deduplicates (a second backup of the same
# data adds ~0 bytes, from backup --json); tests/tools/wo_proof then takes
# only what its key slot yields and tries every decryption path of the
# format on every object (it must all fail, and the marker of a backed-up
# file is in none of the outputs; the owner control finds it); restore,
# ls, cat, snapshots, check, key add/remove/revoke and forget (when the
# command exists) fail with exit 1 and a message naming the role; nothing
# is deleted.  Read-only: it lists, restores bit-exact and checks; backup,
# key add/remove/revoke and forget/prune fail the same way.
. "$(dirname "$0")/lib.sh"

TOOLS=$(dirname "$TWOFOLD_BIN")/tools
M="WOMARKER$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$T/src"
i=0
while [ $i -lt 3000 ]; do echo "$M line $i"; i=$((i + 1)); done >"$T/src/marker.txt"
random_files "$T/src/r" 3 400000
jnum() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"; }	# jnum KEY FILE
has_cmd() { "$TWOFOLD_BIN" --help 2>&1 | grep -q "^  $1"; }

tf init || exit 1
tf backup "$T/src" >/dev/null; ok $? "owner backup"
printf 'write only pass\n' >"$T/wopass"
printf 'read only pass\n' >"$T/ropass"
wid=$(tf key add --write-only --name backup-host --new-password-file "$T/wopass"); ok $? "key add --write-only"
rid=$(tf key add --read-only --name restorer --new-password-file "$T/ropass"); ok $? "key add --read-only"
W() { tf --password-file "$T/wopass" "$@"; }
RO() { tf --password-file "$T/ropass" "$@"; }

# ---- write-only: backup and deduplication ----
echo "new with the write-only key: $M" >"$T/src/new.txt"
W --json backup "$T/src" >"$T/wb1.json" 2>"$T/err"; rc=$?
a1=$(jnum added_bytes "$T/wb1.json")
[ $rc -eq 0 ] && [ -n "$a1" ] && [ "$a1" -lt 100000 ]
ok $? "a write-only key backs up, deduplicating against the owner's data (added ${a1:-?} bytes of 1.2 MB)"
W --json --no-cache backup "$T/src" >"$T/wb2.json" 2>"$T/err"; rc=$?
a2=$(jnum added_bytes "$T/wb2.json")
# Not exactly 0: the trees of the parent directories ($T, /tmp) record
# their changing mtimes.  No chunk is stored again.
[ $rc -eq 0 ] && [ -n "$a2" ] && [ "$a2" -le 4096 ]
ok $? "a second write-only backup of the same data, every file read again, adds ~0 bytes (${a2:-?}: directory metadata only)"
n=$(tf --json snapshots | grep -o '"status":"ok"' | wc -l)
[ "$n" -eq 3 ]; ok $? "the owner sees the write-only key's snapshots as good ($n of 3)"

# ---- write-only: the cryptographic proof ----
"$TOOLS/wo_proof" "$T/repo" "$T/wopass" "$T/pass" "$M" >"$T/proof" 2>"$T/proof.err"; rc=$?
while IFS= read -r line; do
	case $line in
	PASS:*) ok 0 "wo_proof:${line#PASS:}" ;;
	FAIL:*) ok 1 "wo_proof:${line#FAIL:}" ;;
	esac
done <"$T/proof"
[ $rc -eq 0 ] && [ "$(grep -c '^PASS:' "$T/proof")" -ge 15 ]
ok $? "wo_proof ran every check and exited 0 (exit $rc)"

# ---- write-only: refusals ----
refused() { # refused ROLE-WORD DESCRIPTION COMMAND...: exit 1 and the role named
	_w=$1 _d=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	_rc=$?
	[ $_rc -eq 1 ] && grep -q "is a $_w key: it cannot" "$T/err"
	ok $? "$_d: refused, exit $_rc, $(head -c 120 "$T/err" | tr '\n' ' ')"
}
S=$(tf --json snapshots | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -n 1)
tf --json snapshots | tr '{' '\n' | sed -n 's/.*"tree":"\([0-9a-f]*\)".*/\1/p' | head -n 1 >"$T/tree"
TREE=$(cat "$T/tree")
IDX=$(ls "$T/repo/index" | head -n 1)
refused write-only "write-only restore" W restore latest --target "$T/wo-out"
[ ! -e "$T/wo-out" ] || [ -z "$(ls -A "$T/wo-out")" ]; ok $? "write-only restore wrote nothing"
refused write-only "write-only ls" W ls "$S"
refused write-only "write-only snapshots" W snapshots
refused write-only "write-only cat snapshot" W cat snapshot "$S"
refused write-only "write-only cat tree" W cat tree "$TREE"
refused write-only "write-only cat index" W cat index "$IDX"
refused write-only "write-only check" W check
printf 'p4\n' >"$T/p4"
refused write-only "write-only key add" W key add --new-password-file "$T/p4"
refused write-only "write-only key remove" W key remove "$rid"
refused write-only "write-only key revoke" W key revoke "$rid"
if has_cmd forget; then
	refused write-only "write-only forget" W forget --keep-last 1
else
	ok 0 "# SKIP forget: this build has no forget command"
fi
if has_cmd prune; then
	refused write-only "write-only prune" W prune
fi
# The other readers of snapshots, where this build has them.
S2=$(tf --json snapshots | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | sed -n 2p)
has_cmd diff && refused write-only "write-only diff" W diff "$S" "$S2"
has_cmd find && refused write-only "write-only find" W find marker.txt
has_cmd stats && refused write-only "write-only stats" W stats
has_cmd dump && refused write-only "write-only dump" W dump "$S" "$T/src/marker.txt"
n=$(tf --json snapshots | grep -o '"status":"ok"' | wc -l)
[ "$n" -eq 3 ] && [ "$(tf --json key list | grep -o '"id"' | wc -l)" -eq 3 ]
ok $? "after all that, the owner still sees 3 snapshots and 3 keys"

# ---- read-only ----
RO snapshots >/dev/null 2>"$T/err"; ok $? "read-only snapshots"
RO ls latest >/dev/null 2>"$T/err"; ok $? "read-only ls"
RO restore latest --target "$T/ro-out" 2>"$T/err" && diff -r "$T/src" "$T/ro-out$T/src"
ok $? "read-only restore is bit-exact"
RO check --read-data 2>"$T/err"; ok $? "read-only check --read-data"
refused read-only "read-only backup" RO backup "$T/src"
refused read-only "read-only key add" RO key add --new-password-file "$T/p4"
refused read-only "read-only key remove" RO key remove "$wid"
refused read-only "read-only key revoke" RO key revoke "$wid"
if has_cmd forget; then
	refused read-only "read-only forget" RO forget --keep-last 1
else
	ok 0 "# SKIP forget: this build has no forget command"
fi
if has_cmd prune; then
	refused read-only "read-only prune" RO prune
fi
n=$(tf --json snapshots | grep -o '"status":"ok"' | wc -l)
[ "$n" -eq 3 ]; ok $? "the read-only key removed nothing ($n snapshots)"

done_testing
