#!/bin/sh
# crash: a backup killed at any moment (kill -9) leaves a repository that
# checks clean and whose earlier snapshots restore identical; the next
# backup completes.  ~200 MB of sources (40 files of 5 MiB sharing a random
# seed, each with its own last bytes), one good backup, then ten rounds of
# "start a backup of a changed tree, kill -9 it after a random delay".
# Against Azurite and Ceph RGW (tests/cli/core-*.sh) with less data: 8
# files and 6 MB a round.
. "$(dirname "$0")/lib.sh"

if [ "$TWOFOLD_TEST_STORE" = local ]; then NFILES=40 ROUND=20000000; else NFILES=8 ROUND=6000000; fi

ms() { date +%s%3N; }
# rnd LO HI: a random decimal in [LO, HI)
rnd() { awk -v s="$(od -An -tu2 -N2 /dev/urandom)" -v lo="$1" -v hi="$2" \
	'BEGIN { srand(s); printf "%.3f\n", lo + rand() * (hi - lo) }'; }

mkdir -p "$T/src/d1" "$T/src/d2"
head -c 5242880 /dev/urandom >"$T/seed"
i=1
while [ $i -le $NFILES ]; do
	d=d$((i % 2 + 1))
	{ cat "$T/seed"; printf 'file %d' $i; } >"$T/src/$d/f$i"
	i=$((i + 1))
done
echo small >"$T/src/small.txt"
head -c $ROUND /dev/urandom >"$T/src/fresh.bin"	# as much new data as a round brings
ln -s d1/f1 "$T/src/link"

tf init || exit 1
t0=$(ms)
first=$(tf --no-cache backup "$T/src")
rc=$?
t1=$(ms)
echo "$first" | grep -Eq '^[0-9a-f]{64}$' && [ $rc -eq 0 ]
ok $? "first backup of ~$(du -sm "$T/src" | cut -f1) MB (took $((t1 - t0)) ms)"

# change_tree ROUND: a new file of fresh random data (new packs to
# write), the previous round's file gone, one source file touched
change_tree() {
	rm -f "$T/src/round-"*
	head -c $ROUND /dev/urandom >"$T/src/round-$1.bin"
	touch -c "$T/src/d$(($1 % 2 + 1))/f$1"
}
# timed_backup ARGS: run a round-like backup to completion; its duration
# in ms on stdout
timed_backup() {
	tb_t0=$(ms)
	tf "$@" backup "$T/src" >/dev/null 2>&1
	echo $(($(ms) - tb_t0))
}
# hi_of MS: the longest kill delay for a backup that takes MS: a little
# more than a whole backup (so kills land in every phase, up to writing
# the index and the snapshot), at most 1 s, at least 0.1 s
hi_of() { awk -v d="$1" 'BEGIN { d *= 1.1; if (d > 1000) d = 1000; if (d < 100) d = 100; printf "%.3f", d / 1000 }'; }

# Calibration: how long a round takes with and without the file cache.
change_tree 0
hi_nocache=$(hi_of "$(timed_backup --no-cache)")
change_tree 0
hi_cache=$(hi_of "$(timed_backup)")

# Ten rounds: a backup of a changed tree, killed after a random delay
# between 0.05 s and about as long as such a backup takes.  A round that
# completes before its kill is fine, but most should be killed (at
# least 3 of 10 must be, or the test proved little).
killed=0
round=1
while [ $round -le 10 ]; do
	change_tree $round
	if [ $((round % 3)) -ne 0 ]; then nc=--no-cache hi=$hi_nocache; else nc= hi=$hi_cache; fi
	delay=$(rnd 0.05 "$hi")
	"$TWOFOLD_BIN" -q $nc backup "$T/src" >/dev/null 2>"$T/bk.err" &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2>/dev/null
	{ wait $pid; } 2>/dev/null
	brc=$?
	if [ $brc -eq 137 ]; then killed=$((killed + 1)); st="killed after ${delay}s"; else st="completed (exit $brc) before its kill at ${delay}s"; fi
	tf check >/dev/null 2>"$T/check.err"
	rc=$?
	ok $rc "round $round: backup ${nc:-with cache} $st; check passes (exit $rc)"
	[ $rc -ne 0 ] && sed 's/^/# /' "$T/check.err"
	round=$((round + 1))
done
[ $killed -ge 3 ]; ok $? "backups were killed while running ($killed of 10; at least 3 needed)"

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
