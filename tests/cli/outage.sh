#!/bin/sh
# outage: the cloud store goes away in the middle of a backup and comes
# back: the backup fails clearly, the next one completes, check
# --read-data passes and the snapshot restores identical.  Azurite is
# stopped and started again on the same data.  Ceph RGW keeps its data in
# RAM (memstore), so it cannot be restarted with its data: for S3 the
# outage is of the network instead -- twofold reaches RGW through
# tests/tools/faultproxy, which is killed (dropping every connection;
# new ones are refused) and started again on the same port.
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

TWOFOLD_THREADS=1 "$TWOFOLD_BIN" -q backup "$T/src" >/dev/null 2>"$T/err" &
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
TWOFOLD_THREADS=1 "$TWOFOLD_BIN" -q backup "$T/src" >/dev/null 2>"$T/err" &
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

done_testing
