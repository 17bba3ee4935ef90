#!/bin/sh
# cloudcrash: kill -9 at random moments of backups into Azurite and into
# Ceph RGW; afterwards check passes, earlier snapshots restore identical,
# and the next backup completes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../servers/azurite.sh"
. "$(dirname "$0")/../servers/rgw.sh"

RGW_ON_EXIT='azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'
azurite_start; ok $? "Azurite starts"
rgw_start; ok $? "Ceph RGW starts"

random_files "$T/src" 6 6291456

rounds() { # URL NAME
	export TWOFOLD_REPOSITORY="$1"
	tf init || return 1
	first=$(tf backup "$T/src") || return 1
	killed=0
	r=1
	while [ $r -le 5 ]; do
		head -c 33554432 /dev/urandom >"$T/src/new$r"	# something new to upload
		delay=$(awk -v s="$$$r" 'BEGIN { srand(s); printf "%.2f", 0.02 + rand() * 0.28 }')
		"$TWOFOLD_BIN" -q backup --no-cache "$T/src" >/dev/null 2>&1 &
		pid=$!
		sleep "$delay"
		kill -9 $pid 2>/dev/null && killed=$((killed + 1))
		wait $pid 2>/dev/null
		tf check >/dev/null 2>"$T/err" || { cat "$T/err"; return 1; }
		r=$((r + 1))
	done
	echo "# $2: $killed of 5 backups killed while running"
	[ $killed -ge 1 ] || return 1	# else this test proved nothing
	rm -rf "$T/out"
	tf restore "$first" --target "$T/out" || return 1
	for f in 0 1 2 3 4 5; do cmp -s "$T/src/f$f" "$T/out$T/src/f$f" || return 1; done
	tf backup "$T/src" >/dev/null && tf check --read-data
}

rounds "azure://$AZURITE_ACCOUNT/crash/repo" Azure
ok $? "Azure: after kill -9 during backups, check passes each time, the first snapshot restores, the next backup completes and check --read-data passes"
rounds "s3://crash/repo" S3
ok $? "S3: after kill -9 during backups, check passes each time, the first snapshot restores, the next backup completes and check --read-data passes"

done_testing
