#!/bin/sh
# outage: the cloud store (Azurite) is stopped in the middle of a backup,
# then started again on the same data: the backup fails clearly, the next
# one completes, and check --read-data passes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../servers/azurite.sh"
trap 'azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

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

done_testing
