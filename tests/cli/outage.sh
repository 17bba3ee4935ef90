#!/bin/sh
# outage: the cloud store goes away in the middle of a backup and comes
# back: the backup fails clearly, the next one completes, check
# --read-data passes and the snapshot restores identical.  Azurite is
# stopped and started again on the same data.  Ceph RGW keeps its data in
# RAM (memstore), so it cannot be restarted with its data: for S3 the
# outage is of the network instead -- twofold reaches RGW through
# tests/tools/faultproxy, which is killed (dropping every connection;
# new ones are refused) and started again on the same port.  Last, the
# store fails exactly the fourth pack's upload (the proxy answers 503 and
# the backup may not retry), after three packs landed and before any
# index object: the next
# backup indexes them from its pack journal instead of uploading them
# again (docs/FORMAT.md, "Pack journal").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../servers/azurite.sh"
. "$(dirname "$0")/../servers/rgw.sh"
. "$(dirname "$0")/../servers/faultproxy.sh"
RGW_ON_EXIT='fp_stop_all; azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'
trap "$RGW_ON_EXIT" EXIT

azurite_start; ok $? "Azurite starts on 127.0.0.1:$AZURITE_PORT"
export TWOFOLD_REPOSITORY="azure://$AZURITE_ACCOUNT/outage/repo"
export TWOFOLD_HTTP_RETRIES=3	# fail fast while the store is down
random_files "$T/src" 10 12582912
tf init; ok $? "init"

# slow_src: 36 MB of the sources, a pause, the rest: a backup of it from
# stdin cannot finish before the store goes away 1 s in (from files it
# could: 120 MB take about a second).
slow_src() { cat "$T/src/f0" "$T/src/f1" "$T/src/f2"; sleep 4; cat "$T/src/f3"; }
slow_src | TWOFOLD_THREADS=1 "$TWOFOLD_BIN" -q backup --stdin --stdin-filename blob \
    >/dev/null 2>"$T/err" &
pid=$!
sleep 1
kill "$AZURITE_PID"	# a clean stop: Azurite keeps what it acknowledged
wait "$AZURITE_PID" 2>/dev/null
wait $pid
rc=$?
[ $rc -eq 1 ]; ok $? "the backup fails when the store goes away (exit $rc)"
grep -q "127.0.0.1" "$T/err" || grep -qi "connect" "$T/err"
ok $? "it says the store cannot be reached"
sed "s/^/# /" "$T/err" | head -3

# Start Azurite again on the same port and data.
"$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$AZURITE_DIR/data" \
    --silent --disableTelemetry >>"$AZURITE_DIR/log" 2>&1 &
AZURITE_PID=$!
n=0
until azurite_answers "$AZURITE_PORT" || [ $n -ge 100 ]; do
	sleep 0.2
	n=$((n + 1))
done
azurite_answers "$AZURITE_PORT"; ok $? "Azurite is back"

tf backup "$T/src" >/dev/null 2>"$T/err2"; ok $? "the next backup completes"
tf check --read-data; ok $? "check --read-data passes"
tf restore latest --target "$T/out" && diff -r "$T/src" "$T/out$T/src"
ok $? "the snapshot restores identical"
azurite_stop

# S3: the network to RGW goes down and comes back
rgw_start; ok $? "Ceph RGW starts"
[ -n "$RGW_PIDS" ] || done_testing
RGW_PORT=${AWS_ENDPOINT_URL##*:}
fp_start net "$RGW_PORT"; ok $? "faultproxy in front of RGW on 127.0.0.1:$FP_PORT"
PORT=$FP_PORT
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" TWOFOLD_REPOSITORY="s3://outage/repo"
tf init; ok $? "S3: init"
slow_src | TWOFOLD_THREADS=1 "$TWOFOLD_BIN" -q backup --stdin --stdin-filename blob \
    >/dev/null 2>"$T/err" &
pid=$!
sleep 1
kill -0 $pid 2>/dev/null; ok $? "S3: the backup is still running after 1 s"
fp_stop "$FP_PID"	# every connection drops; new ones are refused
wait $pid
rc=$?
[ $rc -eq 1 ] && grep -q "s3://outage/repo" "$T/err"
ok $? "S3: the backup fails when the network goes away (exit $rc)"
sed "s/^/# /" "$T/err" | head -3
fp_start net "$RGW_PORT" "$PORT"; ok $? "S3: the network is back (faultproxy on the same port)"
tf backup "$T/src" >/dev/null 2>"$T/err2"; ok $? "S3: the next backup completes"
tf check --read-data; ok $? "S3: check --read-data passes"
rm -rf "$T/out"
tf restore latest --target "$T/out" && diff -r "$T/src" "$T/out$T/src"
ok $? "S3: the snapshot restores identical"

# S3: from the fourth on, every PUT of a pack fails (503, no retries; the
# worker may try one more pack before the backup stops): three packs
# landed, no index object names them.  (A refused or reset connection
# would not do: libcurl sends the request again on a fresh connection.)
fp_start journal "$RGW_PORT" -f "503:4:PUT:/data/" -f "503:5:PUT:/data/" \
    -f "503:6:PUT:/data/" -f "503:7:PUT:/data/" -f "503:8:PUT:/data/"
ok $? "S3: a faultproxy that fails pack uploads from the fourth on"
export AWS_ENDPOINT_URL="http://127.0.0.1:$FP_PORT" TWOFOLD_REPOSITORY="s3://outage/journal"
R=$TWOFOLD_REPOSITORY
tf init; ok $? "S3: init"
mkdir -p "$T/src3"
head -c 100663296 /dev/urandom >"$T/src3/big"
big=100663296
TWOFOLD_HTTP_RETRIES=0 TWOFOLD_THREADS=1 tf backup "$T/src3" >/dev/null 2>"$T/err4"
rc=$?
[ $rc -eq 1 ] && [ "$(fp_faults journal 503)" -ge 1 ]
ok $? "S3: the backup fails when the fourth pack cannot be uploaded (exit $rc)"
fp_stop "$FP_PID"
export AWS_ENDPOINT_URL="http://127.0.0.1:$RGW_PORT"	# the store is back
objs "$R" | grep '^data/' >"$T/landed"
[ "$(wc -l <"$T/landed")" -eq 3 ] && ! objs "$R" | grep -q '^index/'
ok $? "S3: three packs landed, and no index object"
landed=$("$OBJTOOL" "$R" list | awk '$1 ~ /^data\// { s += $2 } END { print s + 0 }')
tf --json backup "$T/src3" >"$T/out4.json" 2>"$T/err5"; ok $? "S3: the next backup completes"
added=$(sed -n 's/.*"added_bytes":\([0-9]*\).*/\1/p' "$T/out4.json")
stored=$("$OBJTOOL" "$R" list | awk '$1 ~ /^data\// { s += $2 } END { print s + 0 }')
echo "# $big bytes backed up; $landed bytes of packs had landed; the next backup added $added; data/ holds $stored"
[ -n "$added" ] && [ "$added" -le $((big - landed + landed / 20)) ] && [ "$stored" -le $((big + big / 20)) ]
ok $? "S3: it uploads only what had not landed; data/ holds every blob once"
objs "$R" | grep '^data/' >"$T/final"
! comm -23 "$T/landed" "$T/final" | grep -q . && tf --json prune --dry-run 2>/dev/null | grep -q '"packs_orphan":0,'
ok $? "S3: the three packs are kept and indexed (prune finds no pack without index)"
tf check --read-data; ok $? "S3: check --read-data passes"
rm -rf "$T/out"
tf restore latest --target "$T/out" && cmp "$T/src3/big" "$T/out$T/src3/big"
ok $? "S3: the snapshot restores identical"

done_testing
