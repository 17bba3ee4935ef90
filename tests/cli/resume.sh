#!/bin/sh
# resume: a backup killed part-way leaves index objects for what it had
# uploaded, so the next backup does not send that data again.
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

done_testing
