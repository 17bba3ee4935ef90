#!/bin/sh
# crash: a backup killed at any moment (kill -9) leaves a repository that
# checks clean and whose earlier snapshots restore identical; the next
# backup completes.  ~200 MB of sources (40 files of 5 MiB sharing a random
# seed, each with its own last bytes), one good backup, then ten rounds of
# "start a backup of a changed tree, kill -9 it after a random delay".
. "$(dirname "$0")/lib.sh"

ms() { date +%s%3N; }
# rnd LO HI: a random decimal in [LO, HI)
rnd() { awk -v s="$(od -An -tu2 -N2 /dev/urandom)" -v lo="$1" -v hi="$2" \
	'BEGIN { srand(s); printf "%.3f\n", lo + rand() * (hi - lo) }'; }

mkdir -p "$T/src/d1" "$T/src/d2"
head -c 5242880 /dev/urandom >"$T/seed"
i=1
while [ $i -le 40 ]; do
	d=d$((i % 2 + 1))
	{ cat "$T/seed"; printf 'file %d' $i; } >"$T/src/$d/f$i"
	i=$((i + 1))
done
echo small >"$T/src/small.txt"
ln -s d1/f1 "$T/src/link"

tf init || exit 1
t0=$(ms)
first=$(tf --no-cache backup "$T/src")
rc=$?
t1=$(ms)
echo "$first" | grep -Eq '^[0-9a-f]{64}$' && [ $rc -eq 0 ]
ok $? "first backup of ~200 MB (took $((t1 - t0)) ms)"

# The kill comes between 0.05 s and about 1 s, but before the backup
# would have finished (a round that completes tests nothing).
dur=$(((t1 - t0) * 9 / 10))
[ $dur -gt 1000 ] && dur=1000
[ $dur -lt 100 ] && dur=100
hi=$(awk -v d=$dur 'BEGIN { printf "%.3f", d / 1000 }')

killed=0
round=1
while [ $round -le 10 ]; do
	# the changed tree: a new file of fresh random data (new packs to
	# write), the previous round's file gone, one source file touched
	rm -f "$T/src/round-"*
	head -c 20000000 /dev/urandom >"$T/src/round-$round.bin"
	touch -c "$T/src/d$((round % 2 + 1))/f$round"
	if [ $((round % 2)) -eq 0 ]; then nc=--no-cache; else nc=; fi
	delay=$(rnd 0.05 "$hi")
	"$TWOFOLD_BIN" -q $nc backup "$T/src" >/dev/null 2>"$T/bk.err" &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2>/dev/null
	{ wait $pid; } 2>/dev/null
	brc=$?
	[ $brc -eq 137 ] && killed=$((killed + 1))
	tf check >/dev/null 2>"$T/check.err"
	rc=$?
	ok $rc "round $round: backup ${nc:-with cache} killed after ${delay}s (status $brc); check passes (exit $rc)"
	[ $rc -ne 0 ] && sed 's/^/# /' "$T/check.err"
	round=$((round + 1))
done
[ $killed -ge 5 ]; ok $? "most backups were killed while running ($killed of 10)"

rm -f "$T/src/round-"*
tf --json snapshots >"$T/snaps.json" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && grep -q "\"id\":\"$first\"" "$T/snaps.json" && ! grep -q '"rejected"' "$T/snaps.json"
ok $? "snapshots lists the first snapshot and rejects none (exit $rc)"
tf restore "$first" --target "$T/out" 2>"$T/restore.err"
rc=$?
[ $rc -eq 0 ] && diff -r --no-dereference "$T/src" "$T/out$T/src" >"$T/diff" 2>&1
ok $? "the first snapshot restores identical after the crashes (exit $rc)"
rm -rf "$T/out"

last=$(tf backup "$T/src" 2>"$T/bk.err")
rc=$?
[ $rc -eq 0 ] && [ "$last" != "$first" ] && echo "$last" | grep -Eq '^[0-9a-f]{64}$'
ok $? "a normal backup completes afterwards (exit $rc)"
tf check --read-data 2>"$T/check.err"
ok $? "check --read-data passes"
tf restore "$last" --target "$T/out" 2>"$T/restore.err" && diff -r --no-dereference "$T/src" "$T/out$T/src" >"$T/diff" 2>&1
ok $? "the new snapshot restores identical"

done_testing
