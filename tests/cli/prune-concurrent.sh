#!/bin/sh
# prune-concurrent: three backup processes write different and
# overlapping data into one repository for ~20 s while a fourth loop
# runs forget --keep-last 2 --prune (grace 10 minutes: only the backups'
# own end markers let plans run).  Every backup deduplicates against a
# shared pool of files that keep falling out of and coming back into the
# snapshots, so plans condemn blobs that running backups also use.
# Afterwards check --read-data is clean and every surviving snapshot
# restores bit-exact.
. "$(dirname "$0")/lib.sh"

if [ "$TWOFOLD_TEST_STORE" != local ]; then
	ok 0 "prune tests run on the local store only (skipped for $TWOFOLD_TEST_STORE)"
	done_testing
fi
SECS=${PRUNE_RACE_SECS:-20}
tf init || exit 1
random_files "$T/pool" 24 60000	# shared: every host copies some of these
mkdir -p "$T/exp"

# host N (its own cache and witness, as on its own machine): each round a random subset of the pool, a few files of its own,
# one pool file appended to (a changed single-chunk file); back up; keep
# a copy of what was backed up under the snapshot's ID
host() {
	h=$1
	end=$(($(date +%s) + SECS))
	round=0
	while [ "$(date +%s)" -lt $end ]; do
		round=$((round + 1))
		rm -rf "$T/h$h"
		mkdir -p "$T/h$h"
		for f in $(ls "$T/pool" | shuf -n 10); do cp "$T/pool/$f" "$T/h$h/$f"; done
		random_files "$T/h$h/own" 2 30000
		echo "host $h round $round" >>"$T/h$h/$(ls "$T/pool" | shuf -n 1)"
		id=$(XDG_CACHE_HOME="$T/cache$h" tf backup --host "h$h" "$T/h$h" 2>>"$T/err$h")
		if [ -n "$id" ]; then
			cp -a "$T/h$h" "$T/exp/$id"
			echo "$id" >>"$T/ids$h"
		else
			echo "backup failed in round $round" >>"$T/err$h"
		fi
	done
}
pruner() {
	end=$(($(date +%s) + SECS))
	n=0
	while [ "$(date +%s)" -lt $end ]; do
		tf --json forget --keep-last 2 --prune --grace 10m >>"$T/prune.json" 2>>"$T/errp" ||
			echo "prune failed" >>"$T/errp"
		n=$((n + 1))
	done
	echo $n >"$T/nprune"
}
host 1 & p1=$!
host 2 & p2=$!
host 3 & p3=$!
pruner & pp=$!
wait $p1 $p2 $p3 $pp

nb=$(cat "$T"/ids* | wc -l)
np=$(cat "$T/nprune")
[ "$nb" -ge 6 ] && [ "$np" -ge 3 ]
ok $? "$nb backups and $np prunes ran at the same time"
! grep -q 'failed' "$T"/err* 2>/dev/null
ok $? "no backup or prune failed"
done_n=$(grep -o '"plans_done":[0-9]*' "$T/prune.json" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
del=$(grep -o '"packs_deleted":[0-9]*' "$T/prune.json" | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
waited=$(grep -c '"plans_waiting":[1-9]' "$T/prune.json")
[ "$done_n" -gt 0 ] && [ "$del" -gt 0 ]
ok $? "the prunes executed $done_n plans, deleted $del packs ($waited runs had plans waiting for backups)"

# what the failures said
{ grep -hv "^prune failed" "$T"/errp; grep -hv "^backup failed" "$T"/err[0-9]; } 2>/dev/null |
	sort | uniq -c | sort -rn | head -8 | sed 's/^/# /'

# one final prune with nothing running: everything pending runs
tf forget --keep-last 2 >/dev/null 2>&1
tf prune --grace 10m >/dev/null
ok $? "a final prune completes"
tf check --read-data >"$T/check" 2>&1
ok $? "check --read-data is clean"
sed -n '/problem\|missing\|damaged/p' "$T/check" | head -5
left=0
bad=0
for id in $(tf --json snapshots | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4); do
	left=$((left + 1))
	rm -rf "$T/out"
	h=$(grep -l "$id" "$T"/ids* | sed 's/.*ids//')
	if ! tf restore "$id" --target "$T/out" >/dev/null 2>&1 ||
	    ! diff -r "$T/exp/$id" "$T/out$T/h$h" >/dev/null; then
		bad=$((bad + 1))
		echo "# snapshot $id of host $h does not restore identical"
	fi
done
[ $left -ge 3 ] && [ $bad -eq 0 ]
ok $? "all $left surviving snapshots restore bit-exact"
done_testing
