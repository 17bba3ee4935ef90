#!/bin/sh
# retry: cloud requests are retried, and without retries a failure is
# clean.  twofold talks to Azurite and to Ceph RGW through
# tests/tools/faultproxy, which answers some requests with 503, 429 or 500,
# resets connections in the middle of a request body or of a response, and
# stalls one request past TWOFOLD_HTTP_TIMEOUT.  With the default retries:
# init, two backups, restore (bit-exact) and check --read-data succeed and
# the proxy counts its faults of every kind.  When every upload's first
# answer is lost, key add and backup still succeed (the retry finds the
# object stored: "exists" is success).  With TWOFOLD_HTTP_RETRIES=0:
# a backup whose uploads are all cut off and a check whose reads get 503 exit
# 1 with a message naming the object; afterwards (straight to the server)
# every stored object is whole -- its name is the SHA-256 of its bytes, so
# an upload cut off half way is never a complete-looking object -- no
# snapshot was added, check --read-data passes and the last good snapshot
# restores identical.  S3 goes through the proxy with SigV4: the proxy
# forwards the Host header unchanged, and the server checks the signature
# against the header the client signed.
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/azurite.sh"
. "$TWOFOLD_TOP/tests/servers/rgw.sh"
. "$TWOFOLD_TOP/tests/servers/faultproxy.sh"
OBJTOOL=$(dirname "$TWOFOLD_BIN")/tools/objtool

RGW_ON_EXIT='fp_stop_all; azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'
trap "$RGW_ON_EXIT" EXIT
t0=$(date +%s)
azurite_start; ok $? "Azurite starts"
rgw_start; ok $? "Ceph RGW starts"
[ -n "$AZURITE_PID" ] && [ -n "$RGW_PIDS" ] || done_testing
AZ_PORT=$AZURITE_PORT
RGW_PORT=${AWS_ENDPOINT_URL##*:}

export TWOFOLD_HTTP_TIMEOUT=3		# the stalled request is given up after 3 s
# large objects take the block / multipart paths (through the proxy too)
export TWOFOLD_AZURE_PUT_MAX=2097152 TWOFOLD_AZURE_BLOCK_SIZE=1048576
export TWOFOLD_S3_MULTIPART_THRESHOLD=2097152
# faults on a schedule (counted per rule; the first matching rule wins),
# at most 3 for one request: with the default 5 retries all get through
FAULTS="-m 3 -f stall:9 -f reset-request:every=3:PUT -f reset-response:every=7
    -f 503:every=5 -f 429:every=11 -f 500:every=13"

# via_azure PORT / via_s3 PORT: point the store's endpoint at PORT
via_azure() {
	export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$1/$AZURITE_ACCOUNT;"
}
via_s3() { export AWS_ENDPOINT_URL="http://127.0.0.1:$1"; }

# whole_objects: every object of the repository named by its contents
# (keys, config, data, index, snapshots), read straight from the server, is
# whole: its name ends in the SHA-256 of its bytes
whole_objects() {
	"$OBJTOOL" "$TWOFOLD_REPOSITORY" list | grep -E '^(keys|config|data|index|snapshots)/' >"$T/objs" ||
		return 1
	[ "$(wc -l <"$T/objs")" -ge 5 ] || return 1
	while read -r _name _size; do
		_h=${_name##*/}
		_h=${_h##*-}
		if [ "$("$OBJTOOL" "$TWOFOLD_REPOSITORY" get "$_name" | sha256sum | cut -c1-64)" != "$_h" ]; then
			echo "# $_name ($_size bytes) is not whole"
			return 1
		fi
	done <"$T/objs"
}

mkdir -p "$T/src/sub"
printf 'second passphrase\n' >"$T/pass2"
random_files "$T/src" 2 3000000
head -c 700000 /dev/urandom >"$T/src/sub/mid.bin"
echo "a small file" >"$T/src/sub/small.txt"

# scenario LABEL UPSTREAM_PORT VIA REPOSITORY
scenario() {
	L=$1 up=$2 via=$3
	export TWOFOLD_REPOSITORY=$4
	rm -rf "$T/out-$L" "$T/src/new"*

	# shellcheck disable=SC2086
	fp_start "$L-faulty" "$up" -t 30 $FAULTS || { ok 1 "$L: the fault proxy starts"; return; }
	pid=$FP_PID
	$via "$FP_PORT"
	tf init 2>"$T/err"; ok $? "$L: init through the faulty proxy"
	tf backup "$T/src" >/dev/null 2>"$T/err"; ok $? "$L: backup through the faulty proxy"
	echo "changed" >"$T/src/new-small.txt"
	tf backup "$T/src" >/dev/null 2>"$T/err"; ok $? "$L: a second backup through the faulty proxy"
	tf restore latest --target "$T/out-$L" 2>"$T/err" && diff -r "$T/src" "$T/out-$L$T/src"
	ok $? "$L: restore through the faulty proxy is bit-exact (diff -r)"
	tf check --read-data 2>"$T/err"; ok $? "$L: check --read-data through the faulty proxy"
	TWOFOLD_HTTP_RETRIES=0 tf check --read-data >/dev/null 2>"$T/err"; rc=$?
	[ $rc -eq 1 ] && grep -q "$TWOFOLD_REPOSITORY" "$T/err"
	ok $? "$L: with TWOFOLD_HTTP_RETRIES=0 the same faults fail check with exit 1, not 10 (exit $rc)"
	sed 's/^/# /' "$T/err" | head -n 2
	fp_stop "$pid"
	n=$(fp_faults "$L-faulty")
	summary="$n faults in $(fp_requests "$L-faulty") requests:"
	all=1
	for k in 503 429 500 reset-request reset-response stall; do
		c=$(fp_faults "$L-faulty" $k)
		summary="$summary $c $k"
		[ "$c" -gt 0 ] || all=0
	done
	[ "$n" -gt 0 ] && [ $all -eq 1 ]; ok $? "$L: every kind of fault was injected and survived ($summary)"

	# Lost answers: every upload's first answer is lost (the connection
	# is reset after the server stored the object), so every retry finds
	# the object there already -- "exists" is success for objects named
	# by their contents (the config too)
	fp_start "$L-lost" "$up" -m 1 -f reset-response:every=1:PUT || { ok 1 "$L: the fault proxy starts"; return; }
	pid=$FP_PID
	$via "$FP_PORT"
	tf key add --name second --new-password-file "$T/pass2" >/dev/null 2>"$T/err"
	ok $? "$L: key add (a key slot and a config) when every first answer is lost"
	head -c 1200000 /dev/urandom >"$T/src/new-lost.bin"
	tf backup "$T/src" >/dev/null 2>"$T/err"
	ok $? "$L: backup when every first answer is lost ($(fp_faults "$L-lost") answers lost)"
	fp_stop "$pid"
	sed 's/^/# /' "$T/err" | head -n 3

	# Without retries.  Every upload of a pack is cut off half way (every
	# one: on a reused connection that dies before answering, libcurl
	# itself sends the request once more on a new one).
	head -c 2500000 /dev/urandom >"$T/src/new-big.bin"
	fp_start "$L-cut" "$up" -f reset-request:every=1:PUT:/data/ ||
		{ ok 1 "$L: the fault proxy starts"; return; }
	pid=$FP_PID
	$via "$FP_PORT"
	# (default sizes: the new pack goes up in one PUT)
	( unset TWOFOLD_AZURE_PUT_MAX TWOFOLD_AZURE_BLOCK_SIZE TWOFOLD_S3_MULTIPART_THRESHOLD
	  TWOFOLD_HTTP_RETRIES=0 tf backup "$T/src" >/dev/null 2>"$T/err" ); rc=$?
	fp_stop "$pid"
	rm -f "$T/src/new-big.bin"
	sed 's/^/# /' "$T/err" | head -n 3
	[ $rc -eq 1 ] && grep -q "$TWOFOLD_REPOSITORY" "$T/err" && grep -qi -e reset -e connection "$T/err"
	ok $? "$L: TWOFOLD_HTTP_RETRIES=0: a cut-off upload fails the backup with a clear message (exit $rc)"
	[ "$(fp_faults "$L-cut")" -gt 0 ]; ok $? "$L: ... after $(fp_faults "$L-cut") cut-off uploads"
	# the pack whose PUT was cut off after half its bytes
	cut=$(sed -n 's|^fault [0-9]* reset-request PUT [^?]*/repo/\(data/[^ ?]*\) [1-9][0-9]*$|\1|p' "$T/$L-cut.log" | head -n 1)
	$via "$up"
	[ -n "$cut" ] && "$OBJTOOL" "$TWOFOLD_REPOSITORY" list data/ >"$T/objs" && ! grep -q "^$cut " "$T/objs"
	ok $? "$L: the pack cut off half way is not in the store (${cut:-no whole-object PUT was cut})"
	fp_start "$L-busy" "$up" -f 503:every=2 || { ok 1 "$L: the fault proxy starts"; return; }
	pid=$FP_PID
	$via "$FP_PORT"
	TWOFOLD_HTTP_RETRIES=0 tf check --read-data >/dev/null 2>"$T/err"; rc=$?
	fp_stop "$pid"
	sed 's/^/# /' "$T/err" | head -n 3
	[ $rc -eq 1 ] && grep -q "503" "$T/err" && grep -q "$TWOFOLD_REPOSITORY" "$T/err"
	ok $? "$L: TWOFOLD_HTTP_RETRIES=0: a 503 fails check with a clear message (exit $rc)"

	# A 429 with Retry-After: 1 is waited out for at least that second
	# (our own first backoff would be at most 0.2 s).
	fp_start "$L-slow" "$up" -f 429:1 || { ok 1 "$L: the fault proxy starts"; return; }
	pid=$FP_PID
	$via "$FP_PORT"
	t1=$(date +%s%N)
	tf snapshots >/dev/null 2>"$T/err"; rc=$?
	ms=$((($(date +%s%N) - t1) / 1000000))
	fp_stop "$pid"
	[ $rc -eq 0 ] && [ "$(fp_faults "$L-slow" 429)" -eq 1 ] && [ $ms -ge 1000 ]
	ok $? "$L: Retry-After is honoured (one 429, the command took $ms ms and succeeded)"

	# Straight to the server: nothing is damaged.
	$via "$up"
	whole_objects; ok $? "$L: every stored object is whole ($(wc -l <"$T/objs") objects; none cut off)"
	[ "$(tf --json snapshots 2>/dev/null | grep -o '"id"' | wc -l)" -eq 3 ]
	ok $? "$L: the failed backup added no snapshot"
	tf check --read-data 2>"$T/err"; ok $? "$L: check --read-data passes afterwards"
	rm -rf "$T/out2-$L"
	tf restore latest --target "$T/out2-$L" 2>"$T/err" && diff -r "$T/src" "$T/out2-$L$T/src"
	ok $? "$L: the last good snapshot restores identical"
}

scenario azure "$AZ_PORT" via_azure "azure://$AZURITE_ACCOUNT/retry/repo"
scenario s3 "$RGW_PORT" via_s3 "s3://retry/repo"

echo "# retry test ran $(($(date +%s) - t0)) s including server starts"
done_testing
