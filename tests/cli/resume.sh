#!/bin/sh
# resume: a backup killed part-way leaves index objects for what it had
# uploaded, so the next backup does not send that data again.  The packs
# it stored after its last index object are in its pack journal
# (docs/FORMAT.md, "Pack journal"): the next backup indexes them instead
# of uploading their blobs again, and forgets a record whose pack is gone
# or whose record is damaged.
. "$(dirname "$0")/lib.sh"

random_files "$T/src" 12 16777216
total=$(du -sb "$T/src" | cut -f1)
tf init; ok $? "init"

TWOFOLD_THREADS=1 "$TWOFOLD_BIN" -q backup --no-cache "$T/src" >/dev/null 2>&1 &
pid=$!
n=0
while [ $n -lt 600 ] && [ -z "$(ls "$T/repo/index" 2>/dev/null)" ] && kill -0 $pid 2>/dev/null; do
	sleep 0.05
	n=$((n + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -n "$(ls "$T/repo/index")" ]; ok $? "the interrupted backup wrote an index object before it was killed"
[ -z "$(ls "$T/repo/snapshots")" ]; ok $? "and no snapshot"

tf --json backup --no-cache "$T/src" >"$T/out.json"; ok $? "the next backup completes"
added=$(sed -n 's/.*"added_bytes":\([0-9]*\).*/\1/p' "$T/out.json")
echo "# total $total bytes, added by the second backup $added bytes"
[ -n "$added" ] && [ "$added" -le $((total - 48 * 1048576)) ]
ok $? "it does not upload again what landed before the kill (added $added of $total bytes)"
tf check --read-data; ok $? "check --read-data passes"
tf restore latest --target "$T/out" && diff -r "$T/src" "$T/out$T/src"
ok $? "the snapshot restores identical"

# ---- the pack journal: packs stored after the last index object ----
# A backup reads from a fifo that stops after 60 MiB: it stores three full
# 16 MiB packs and waits for more (a fourth pack, and with it the first
# index object, would need 64 MiB); then it is killed.  Chunk boundaries
# are random and a pack may pass 16 MiB by up to a chunk, so three packs
# can need more than 60 MiB: once no pack has landed for 5 s, the fifo
# gets 4 MiB more (the fourth pack would still need 16 MiB beyond the
# third).
export TWOFOLD_REPOSITORY="$T/repo2" XDG_CACHE_HOME="$T/cache2"
R=$TWOFOLD_REPOSITORY
tf init; ok $? "a second repository"
npacks() { find "$R/data" -type f ! -name '.*' | wc -l; }
nindex() { find "$R/index" -type f ! -name '.*' | wc -l; }
interrupt() { # FILE: back up its first 60 MiB (or more) from a fifo; kill -9 once 3 more packs landed
	_p0=$(npacks)
	_i0=$(nindex)
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	"$TWOFOLD_BIN" -q backup --stdin --stdin-filename big <"$T/fifo" >/dev/null 2>&1 &
	_pid=$!
	exec 3>"$T/fifo"
	head -c 62914560 "$1" >&3
	_w=0
	_fed=15		# 4 MiB blocks
	_last=$_p0
	_still=0
	while [ "$(npacks)" -lt $((_p0 + 3)) ] && [ $_w -lt 1200 ]; do
		sleep 0.05
		_w=$((_w + 1))
		_n=$(npacks)
		if [ "$_n" -ne "$_last" ]; then
			_last=$_n
			_still=0
		elif [ $((_still += 1)) -ge 100 ] && [ $_fed -lt 24 ]; then
			dd if="$1" bs=4M skip=$_fed count=1 status=none >&3
			_fed=$((_fed + 1))
			_still=0
		fi
	done
	kill -9 $_pid 2>/dev/null
	wait $_pid 2>/dev/null
	exec 3>&-
	[ "$(npacks)" -ge $((_p0 + 3)) ] && [ "$(nindex)" -eq "$_i0" ]
}
mkdir -p "$T/src2"
head -c 100663296 /dev/urandom >"$T/src2/big"
big=100663296
interrupt "$T/src2/big"
ok $? "a backup killed after it stored 3 packs and before any index object"
J=$(echo "$XDG_CACHE_HOME"/twofold/*/journal)
ls "$R/data"/*/* | sed 's,.*/,,' | sort >"$T/landed"
ls "$J" | sort >"$T/recorded"
echo "# $(wc -l <"$T/landed") packs landed, $(wc -l <"$T/recorded") journal records"
! comm -23 "$T/landed" "$T/recorded" | grep -q .
ok $? "every pack that landed has a record in the pack journal"
[ -z "$(find "$J" -type f ! -perm 0600)" ] && [ "$(stat -c %a "$J")" = 700 ]
ok $? "the journal is private: records 0600 in a 0700 directory"
before=$(du -sb "$R/data" | cut -f1)

tf --json backup "$T/src2" >"$T/out2.json" 2>"$T/err2"; ok $? "the next backup completes"
sed 's/^/# /' "$T/err2"
added=$(sed -n 's/.*"added_bytes":\([0-9]*\).*/\1/p' "$T/out2.json")
after=$(du -sb "$R/data" | cut -f1)
echo "# $big bytes backed up; data/ held $before bytes before, $after after; the backup added $added"
[ -n "$added" ] && [ "$added" -le $((big - before + before / 20)) ]
ok $? "it adds only what had not landed ($added bytes of $big; $before had landed)"
[ "$after" -le $((big + big / 20)) ]
ok $? "data/ holds every blob once: $after bytes for $big bytes of data"
ls "$R/data"/*/* | sed 's,.*/,,' | sort >"$T/final"
! comm -23 "$T/landed" "$T/final" | grep -q .
ok $? "the packs that landed before the kill are all still there"
tf --json prune --dry-run >"$T/dry.json" 2>/dev/null
grep -q '"packs_orphan":0,' "$T/dry.json" && grep -q '"packs_unused":0,' "$T/dry.json"
ok $? "prune finds no pack that no index names, and none unused"
[ -z "$(ls "$J")" ]; ok $? "the journal is empty once the index covers its packs"
tf check --read-data; ok $? "check --read-data passes"
tf restore latest --target "$T/out2" && cmp "$T/src2/big" "$T/out2$T/src2/big"
ok $? "the snapshot restores identical"

# Interrupted again; then one of the packs is deleted (as a prune that
# counted the killed backup dead would) and another's record is damaged:
# both are forgotten and their blobs stored again.
head -c 100663296 /dev/urandom >"$T/src2/big3"
interrupt "$T/src2/big3"
ok $? "another backup killed after it stored 3 packs"
set -- $(ls "$J")
[ $# -ge 3 ]; ok $? "its journal holds $# records"
rm "$R/data/$(echo "$1" | cut -c1-2)/$1"
printf x >>"$J/$2"
tf backup "$T/src2" >/dev/null 2>"$T/err3"; ok $? "the next backup completes"
sed 's/^/# /' "$T/err3"
grep -q "journal record.*$2.*damaged" "$T/err3"; ok $? "it warns of the damaged record"
[ -z "$(ls "$J")" ]; ok $? "and forgets both records"
tf check --read-data; ok $? "check --read-data passes"
rm -rf "$T/out3"
tf restore latest --target "$T/out3" && diff -r "$T/src2" "$T/out3$T/src2"
ok $? "the snapshot restores identical"

# A write-only key cannot open trailers: it adopts on existence and size.
printf 'write-only pass\n' >"$T/wopass"
tf key add --write-only --name host --new-password-file "$T/wopass" >/dev/null
ok $? "a write-only key"
orphans() { tf --json prune --dry-run 2>/dev/null | sed -n 's/.*"packs_orphan":\([0-9]*\).*/\1/p'; }
o0=$(orphans)	# the pack of the damaged record above
export TWOFOLD_PASSWORD_FILE="$T/wopass"
head -c 100663296 /dev/urandom >"$T/src2/big4"
d0=$(du -sb "$R/data" | cut -f1)
interrupt "$T/src2/big4"
ok $? "a write-only backup killed after it stored 3 packs"
landed=$(($(du -sb "$R/data" | cut -f1) - d0))
tf --json backup "$T/src2" >"$T/out4.json"; ok $? "the next write-only backup completes"
added=$(sed -n 's/.*"added_bytes":\([0-9]*\).*/\1/p' "$T/out4.json")
[ -n "$added" ] && [ "$added" -le $((big - landed + landed / 20)) ]
ok $? "it adds only what had not landed ($added bytes of $big; $landed had landed)"
export TWOFOLD_PASSWORD_FILE="$T/pass"
o1=$(orphans)
[ -n "$o0" ] && [ "$o1" = "$o0" ]; ok $? "prune finds no new pack that no index names ($o1, before $o0)"
[ -z "$(ls "$J")" ]; ok $? "the journal is empty"

# While another process of this host holds the journal (its lock), a
# backup keeps no journal and takes none of its records.
head -c 67108864 /dev/urandom >"$T/src2/big6"
interrupt "$T/src2/big6"
ok $? "a backup killed after it stored 3 packs"
ls "$J" >"$T/rec6"
(flock 9 && exec sleep 30) 9>"$J.lock" &
lockpid=$!
sleep 0.3
"$TWOFOLD_BIN" backup "$T/src2" >/dev/null 2>"$T/err6"; ok $? "a backup beside the lock holder completes"
grep -q "another backup of this repository runs on this host" "$T/err6" && ls "$J" | cmp -s - "$T/rec6"
ok $? "it says it keeps no journal, and leaves the records alone"
kill $lockpid
wait $lockpid 2>/dev/null
tf backup "$T/src2" >/dev/null; ok $? "the next backup completes"
[ -z "$(ls "$J")" ]; ok $? "and takes the records (the journal is empty)"
tf check --read-data; ok $? "check --read-data passes"

# A prune plans to delete a killed backup's unindexed packs (it condemns
# their blobs and waits for that backup).  The next backup must not adopt
# them: once the killed backup counts as dead the plan runs -- here while
# that next backup is still running -- and deletes them.
head -c 100663296 /dev/urandom >"$T/src2/big5"
interrupt "$T/src2/big5"
ok $? "a backup killed after it stored 3 packs"
tf prune >/dev/null 2>&1 && ls "$R/locks" | grep -q '^condemned-'
ok $? "a prune plans to delete its packs and waits for it"
rm -f "$T/fifo"
mkfifo "$T/fifo"
"$TWOFOLD_BIN" -q backup --stdin --stdin-filename big5 <"$T/fifo" >/dev/null 2>"$T/err5" &
pid=$!
exec 3>"$T/fifo"
w=0
while [ -n "$(ls "$J")" ] && [ $w -lt 200 ]; do sleep 0.05; w=$((w + 1)); done
[ -z "$(ls "$J")" ]; ok $? "the next backup forgets the condemned packs' records"
tf prune --grace 0 >/dev/null 2>&1 && ! ls "$R/locks" | grep -q '^condemned-'
ok $? "the plan runs while that backup reads its data"
cat "$T/src2/big5" >&3
exec 3>&-
wait $pid; ok $? "the backup completes"
sed 's/^/# /' "$T/err5"
tf check --read-data; ok $? "check --read-data passes"
rm -rf "$T/out5"
tf restore latest --target "$T/out5" && cmp "$T/src2/big5" "$T/out5/big5"
ok $? "its snapshot restores identical"

done_testing
