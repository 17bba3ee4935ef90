#!/bin/sh
# prune-crash: prune killed with kill -9 at random moments (while it
# marks, repacks, writes its plan, deletes packs or index objects) never
# costs a surviving snapshot any data: after every kill `check` is clean
# and the kept snapshots restore bit-exact; a last prune completes and
# check --read-data is clean.
. "$(dirname "$0")/lib.sh"

if [ "$TWOFOLD_TEST_STORE" != local ]; then
	ok 0 "prune tests run on the local store only (skipped for $TWOFOLD_TEST_STORE)"
	done_testing
fi
ROUNDS=${PRUNE_CRASH_ROUNDS:-8}
ms() { date +%s%3N; }
rnd() { awk -v s="$(od -An -tu2 -N2 /dev/urandom)" -v lo="$1" -v hi="$2" \
	'BEGIN { srand(s); printf "%.3f\n", lo + rand() * (hi - lo) }'; }

tf init || exit 1
mkdir -p "$T/exp"
# snapshot N: a changing subset of a pool and a new file each, so that
# forgetting one leaves both whole packs and partly used packs behind
random_files "$T/pool" 30 100000
snap() {
	rm -rf "$T/src"
	mkdir -p "$T/src"
	for f in $(ls "$T/pool" | shuf -n 12); do cp "$T/pool/$f" "$T/src/"; done
	head -c 1500000 /dev/urandom >"$T/src/new"
	id=$(tf --no-cache backup "$T/src") || return 1
	cp -a "$T/src" "$T/exp/$id"
	echo "$id"
}
i=0
while [ $i -lt $((ROUNDS + 3)) ]; do snap >>"$T/ids" || exit 1; i=$((i + 1)); done

# how long a whole prune takes, to aim the kills
t0=$(ms)
tf prune >/dev/null
hi=$(awk -v d="$(($(ms) - t0))" 'BEGIN { d *= 1.3; if (d < 60) d = 60; printf "%.3f", d / 1000 }')

bad=0
round=1
while [ $round -le $ROUNDS ]; do
	# forget the oldest snapshot left, add a new one
	old=$(head -n 1 "$T/ids")
	tf forget "$old" >/dev/null
	sed -i 1d "$T/ids"
	snap >>"$T/ids" || exit 1
	d=$(rnd 0.005 "$hi")
	"$TWOFOLD_BIN" -q prune --grace 0 >/dev/null 2>&1 &
	pid=$!
	sleep "$d"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	if ! tf check >"$T/check" 2>&1; then
		bad=$((bad + 1))
		echo "# round $round (kill after ${d}s): check failed"
		sed -n '1,5p' "$T/check" | sed 's/^/#   /'
		[ -n "${PRUNE_KEEP_FAIL:-}" ] && rm -rf "$PRUNE_KEEP_FAIL" && cp -a "$T/repo" "$PRUNE_KEEP_FAIL"
	fi
	for id in $(cat "$T/ids"); do
		rm -rf "$T/out"
		if ! tf restore "$id" --target "$T/out" >/dev/null 2>&1 ||
		    ! diff -r "$T/exp/$id" "$T/out$T/src" >/dev/null; then
			bad=$((bad + 1))
			echo "# round $round (kill after ${d}s): snapshot $id does not restore"
		fi
	done
	round=$((round + 1))
done
ok $bad "$ROUNDS prunes killed at random moments (up to ${hi}s): check clean, every kept snapshot restores bit-exact"
tf prune >"$T/last" 2>&1
ok $? "the next prune completes (it takes over the dead prune's lock and plans)"
# What a dead prune left is cleaned by the next ones: a plan it wrote may
# still have to wait one prune for its wait list to be settled.
left=$(ls "$T/repo/locks" | grep -v '^session-')
if [ -n "$left" ]; then
	echo "# after one prune: $(echo $left)"
	sed 's/^/#   /' "$T/last" | head -5
	tf prune >/dev/null 2>&1
	left=$(ls "$T/repo/locks" | grep -v '^session-')
fi
[ -z "$left" ]
ok $? "no plan or lock is left behind${left:+ (left: $(echo $left))}"
tf check --read-data >/dev/null 2>&1
ok $? "check --read-data is clean"
n=0
for id in $(cat "$T/ids"); do
	rm -rf "$T/out"
	tf restore "$id" --target "$T/out" >/dev/null 2>&1 && diff -r "$T/exp/$id" "$T/out$T/src" >/dev/null || n=$((n + 1))
done
ok $n "the $(wc -l <"$T/ids") kept snapshots restore bit-exact"
done_testing
