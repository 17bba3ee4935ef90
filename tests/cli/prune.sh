#!/bin/sh
# prune: unreferenced data goes, what snapshots reference stays bit-exact.
# - after forgetting snapshots, prune removes and repacks; check
#   --read-data is clean; the remaining snapshots restore identical;
# - space: all but one snapshot forgotten, the pruned repository's data and
#   index are within 10% of a fresh repository holding that one snapshot;
# - --dry-run writes nothing; --json reports what was freed;
# - the two-phase protocol (docs/FORMAT.md, "Prune"): a plan made while a
#   backup session is open waits for it; a backup that starts after the
#   plan stores condemned blobs again rather than deduplicating against
#   them; once the session ends the next prune executes the plan; a
#   session silent for longer than --grace does not block.
. "$(dirname "$0")/lib.sh"

if [ "$TWOFOLD_TEST_STORE" != local ]; then
	ok 0 "prune tests run on the local store only (skipped for $TWOFOLD_TEST_STORE)"
	done_testing
fi
R="$T/repo"
size_of() { du -sb "$1/data" "$1/index" | awk '{ s += $1 } END { print s }'; }
state() { (cd "$R" && find data index snapshots -type f | sort); }
# restores SNAP DIR: restore SNAP and compare with DIR
restores() {
	rm -rf "$T/out"
	tf restore "$1" --target "$T/out" >/dev/null 2>&1 && diff -r "$2" "$T/out$T/src" >/dev/null
}

tf init || exit 1
# five generations of a tree: shared files, files that come and go,
# a large file (several chunks) rewritten in the middle
random_files "$T/src/keep" 6 200000
head -c 3000000 /dev/urandom >"$T/src/big"
gen=1
while [ $gen -le 5 ]; do
	random_files "$T/src/g$gen" 4 150000
	[ $gen -gt 1 ] && rm -rf "$T/src/g$((gen - 1))"
	head -c 100000 /dev/urandom | dd of="$T/src/big" bs=1 seek=$((gen * 500000)) conv=notrunc 2>/dev/null
	eval "s$gen=\$(tf backup \"\$T/src\")"
	rm -rf "$T/exp$gen"
	cp -a "$T/src" "$T/exp$gen"
	gen=$((gen + 1))
done
before=$(size_of "$R")

# --dry-run: nothing changes
tf forget "$s1" "$s2" >/dev/null
st0=$(state)
tf prune --dry-run >"$T/dry" 2>&1
rc=$?
[ $rc -eq 0 ] && [ "$(state)" = "$st0" ] && grep -q 'would remove' "$T/dry"
ok $? "prune --dry-run reports and changes nothing"

tf --json prune >"$T/json"
ok $? "prune after forgetting two of five snapshots"
freed=$(sed -n 's/.*"bytes_freed":\([0-9]*\).*/\1/p' "$T/json")
after=$(size_of "$R")
[ -n "$freed" ] && [ "$freed" -gt 0 ] && [ "$after" -lt "$before" ]
ok $? "it freed space ($before -> $after bytes, reported $freed)"
[ -z "$(ls "$R/locks")" ]
ok $? "no plan, wait list, lock or finished session marker is left"
tf check --read-data >/dev/null 2>&1
ok $? "check --read-data is clean after prune"
ok_all=0
for g in 3 4 5; do
	eval "restores \$s$g \"\$T/exp$g\"" || ok_all=1
done
ok $ok_all "the three remaining snapshots restore bit-exact"
tf prune >"$T/again"
grep -q '0 unused pack(s), 0 to repack, 0 without index' "$T/again"
ok $? "a second prune finds nothing to do"

# space: keep only the newest snapshot
tf forget "$s3" "$s4" >/dev/null
tf prune >/dev/null
ok $? "prune after forgetting all but one snapshot"
pruned=$(size_of "$R")
TWOFOLD_REPOSITORY="$T/fresh" tf init >/dev/null 2>&1
rm -rf "$T/src" && cp -a "$T/exp5" "$T/src"
TWOFOLD_REPOSITORY="$T/fresh" tf --no-cache backup "$T/src" >/dev/null
fresh=$(size_of "$T/fresh")
[ "$pruned" -le $((fresh + fresh / 10)) ]
ok $? "pruned repository within 10% of a fresh one ($pruned vs $fresh bytes)"
tf check --read-data >/dev/null 2>&1 && restores "$s5" "$T/exp5"
ok $? "the last snapshot checks and restores bit-exact"

# the protocol: an open backup session makes the plan wait
rm -rf "$T/src/extra" && random_files "$T/src/extra" 3 120000
rm -rf "$T/exp6" && cp -a "$T/src" "$T/exp6"
s6=$(tf backup "$T/src")
tf forget "$s6" >/dev/null
sid=0123456789abcdef0123456789abcdef
now=$(printf '%016x' "$(($(date +%s) * 1000000000))")
echo x >"$R/locks/session-$sid-$now"		# a backup running elsewhere
tf --json prune --grace 1h >"$T/j1"
grep -q '"plans_made":1' "$T/j1" && grep -q '"plans_waiting":1' "$T/j1" &&
	grep -q '"packs_deleted":0' "$T/j1" && ls "$R/locks" | grep -q '^condemned-' &&
	ls "$R/locks" | grep -q '^waitfor-'
ok $? "a plan made beside a running backup waits for it and deletes nothing"
# a new backup of the same files must store the condemned blobs again
s7=$(tf --json backup "$T/src" | sed -n 's/.*"snapshot":"\([0-9a-f]*\)".*"added_bytes":\([0-9]*\).*/\1 \2/p')
added=${s7#* }
s7=${s7% *}
[ -n "$added" ] && [ "$added" -ge 360000 ]
ok $? "a backup after the plan re-stores the condemned blobs ($added bytes added)"
tf prune --grace 1h >/dev/null
ls "$R/locks" | grep -q '^condemned-'
ok $? "the plan still waits while the session is open"
echo x >"$R/locks/session-$sid-end"
tf --json prune --grace 1h >"$T/j2"
grep -q '"plans_done":1' "$T/j2" && ! ls "$R/locks" | grep -q '^condemned-'
ok $? "after the session ends, the next prune executes the plan"
tf check --read-data >/dev/null 2>&1 && restores "$s7" "$T/exp6" && restores "$s5" "$T/exp5"
ok $? "check is clean; the backup made beside the plan restores bit-exact"

# a session that died (no heartbeat within the grace period) does not block
old=$(printf '%016x' "$(( ($(date +%s) - 7200) * 1000000000))")
echo x >"$R/locks/session-fedcba9876543210fedcba9876543210-$old"
tf forget "$s7" >/dev/null
tf --json prune --grace 1h >"$T/j3"
grep -q '"plans_done":1' "$T/j3" && grep -q '"plans_waiting":0' "$T/j3" && [ -z "$(ls "$R/locks")" ]
ok $? "a session silent for longer than --grace is dead: the plan runs, its markers go"
tf check --read-data >/dev/null 2>&1 && restores "$s5" "$T/exp5"
ok $? "check clean, the kept snapshot restores"

# a write-only key (it reads only dedup lists and plans' condemned IDs)
# backs up while a plan waits: it stores the condemned blobs again
printf 'write only pass\n' >"$T/wopass"
tf key add --write-only --name host --new-password-file "$T/wopass" >/dev/null
ok $? "key add --write-only"
rm -rf "$T/exp8" && cp -a "$T/src" "$T/exp8"
s8=$(tf backup "$T/src")
tf forget "$s8" >/dev/null
echo x >"$R/locks/session-$sid-$(printf '%016x' "$(($(date +%s) * 1000000000))")"
rm -f "$R/locks/session-$sid-end"
tf prune --grace 1h >/dev/null && ls "$R/locks" | grep -q '^condemned-'
ok $? "a plan waits for a running session"
s9=$(TWOFOLD_PASSWORD_FILE="$T/wopass" tf --no-cache --json backup "$T/src" |
	sed -n 's/.*"snapshot":"\([0-9a-f]*\)".*"added_bytes":\([0-9]*\).*/\1 \2/p')
added=${s9#* }
s9=${s9% *}
[ -n "$added" ] && [ "$added" -ge 360000 ]
ok $? "a write-only backup re-stores the condemned blobs ($added bytes added)"
echo x >"$R/locks/session-$sid-end"
tf --json prune --grace 1h >"$T/j4"
grep -q '"plans_done":1' "$T/j4"
ok $? "the plan runs once the session ended"
tf check --read-data >/dev/null 2>&1 && restores "$s9" "$T/exp8" && restores "$s5" "$T/exp5"
ok $? "check clean; the write-only key's snapshot restores bit-exact"

# a backup that stalls (a suspended machine: no heartbeat for 20 minutes;
# TWOFOLD_DEBUG_STALL makes it look so) while a prune that counts it dead
# deletes what it deduplicated against does not write its snapshot
head -c 400000 /dev/urandom >"$T/blob"
sx=$(tf backup --stdin --stdin-filename blob <"$T/blob")
tf forget "$sx" >/dev/null
sy=$(TWOFOLD_DEBUG_STALL=1 tf backup --stdin --stdin-filename blob 2>"$T/stall.err" <"$T/blob") &&
	[ -n "$sy" ] && tf forget "$sy" >/dev/null
ok $? "a stalled backup whose data no prune touched still writes its snapshot"

( sleep 2; cat "$T/blob" ) | TWOFOLD_DEBUG_STALL=1 tf backup --stdin --stdin-filename blob >/dev/null 2>"$T/stall.err" &
bpid=$!
sleep 1
tf prune --grace 0 >/dev/null 2>&1	# counts the waiting backup dead
wait $bpid
rc=$?
[ $rc -ne 0 ] && grep -q 'stalled' "$T/stall.err" && tf check >/dev/null 2>&1
ok $? "a stalled backup whose data a prune removed refuses to write its snapshot (exit $rc)"

# forget --prune: forget, then prune in one command
rm -rf "$T/src/extra" "$T/exp10" && cp -a "$T/src" "$T/exp10"
s10=$(tf backup "$T/src")
b0=$(size_of "$R")
tf forget --keep-last 1 --prune --grace 1h >"$T/fp" 2>&1
grep -q 'removed [1-9][0-9]* pack' "$T/fp" && [ "$(size_of "$R")" -lt "$b0" ] &&
	tf check --read-data >/dev/null 2>&1 && restores "$s10" "$T/exp10"
ok $? "forget --keep-last 1 --prune frees the forgotten snapshots' data in one command"
done_testing
