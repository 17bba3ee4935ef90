#!/bin/sh
# dedup: the same data is stored once.  Backing up unchanged data again,
# a copy of a file under another name, or a file with one byte changed
# adds (almost) nothing / about one chunk -- measured on the repository
# directory (du -sb) and in backup --json's added_bytes; also with
# --no-cache, so deduplication does not rely on the file cache.  Also run
# against Azurite and Ceph RGW (tests/cli/core-*.sh): sizes are then the
# sum of the objects' sizes.
. "$(dirname "$0")/lib.sh"

MiB=1048576
SIZE=$((32 * MiB))
SMALL=$((SIZE / 100 + 65536))		# "almost nothing": < 1% of the data + 64 KiB
CHUNK=$((8 * MiB + MiB))		# about one chunk: chunks are 512 KiB..8 MiB

repo_size() { repo_bytes "$TWOFOLD_REPOSITORY"; }	# local: du -sb
jnum() { # jnum KEY FILE: an unsigned number from a one-object JSON file
	tr ',{}' '\n\n\n' <"$2" | sed -n "s/^ *\"$1\" *: *\([0-9][0-9]*\) *\$/\1/p" | head -n 1
}
# backup_json NAME ARGS...: run a JSON backup; sets rc, grow (bytes the
# repository grew by) and added (added_bytes) for the result NAME.json.
backup_json() {
	_name=$1
	shift
	_before=$(repo_size)
	tf --json "$@" >"$T/$_name.json" 2>"$T/$_name.err"
	rc=$?
	grow=$(($(repo_size) - _before))
	added=$(jnum added_bytes "$T/$_name.json")
	added=${added:--1}
}
# flip_byte FILE OFFSET: change the byte at OFFSET to another value.
flip_byte() {
	fb_old=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	fb_new=$(((fb_old + 1) % 256))
	printf "$(printf '\\%03o' "$fb_new")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

mkdir -p "$T/src"
head -c $SIZE /dev/urandom >"$T/src/big"
echo small >"$T/src/small"
# old mtimes: a file cache may rightly distrust files changed just now
touch -d '2020-01-01 00:00:00' "$T/src/big" "$T/src/small"

tf init; ok $? "init"
backup_json b1 backup "$T/src"
[ $rc -eq 0 ] && [ $grow -ge $SIZE ]
ok $? "first backup stores the random data (exit $rc, repo grew $grow >= $SIZE)"
[ "$added" -ge $SIZE ]; ok $? "first backup's added_bytes ($added) >= data size"

backup_json b2 backup "$T/src"
[ $rc -eq 0 ] && [ $grow -lt $SMALL ]
ok $? "the same data again adds almost nothing (exit $rc, grew $grow < $SMALL)"
[ "$added" -ge 0 ] && [ "$added" -lt 65536 ]; ok $? "... and added_bytes is small ($added)"
[ "$(jnum files_unchanged "$T/b2.json")" = 2 ]; ok $? "... the file cache found both files unchanged"

backup_json b3 --no-cache backup "$T/src"
[ $rc -eq 0 ] && [ $grow -lt $SMALL ]
ok $? "--no-cache: the same data again adds almost nothing (exit $rc, grew $grow)"
[ "$added" -ge 0 ] && [ "$added" -lt 65536 ]; ok $? "--no-cache: added_bytes is small ($added)"
[ "$(jnum files_unchanged "$T/b3.json")" = 0 ]; ok $? "--no-cache: files were read again, not taken from the cache"

cp "$T/src/big" "$T/src/big-copy"
backup_json b4 backup "$T/src"
[ $rc -eq 0 ] && [ $grow -lt $SMALL ]
ok $? "a copy under another name adds almost nothing (exit $rc, grew $grow)"
[ "$added" -ge 0 ] && [ "$added" -lt 65536 ]; ok $? "... added_bytes is small ($added)"

mkdir "$T/src2"
cp "$T/src/big" "$T/src2/other-name"
backup_json b5 --no-cache backup "$T/src2"
[ $rc -eq 0 ] && [ $grow -lt $SMALL ]
ok $? "--no-cache: a copy in another tree adds almost nothing (exit $rc, grew $grow)"

# xattrs and the file cache: a file cached without xattrs that gains one
# (which changes its ctime) is read again; a cached file with xattrs has
# them read on every backup
if setfattr -n user.tf -v one "$T/src/small" 2>/dev/null; then
	for b in bx by; do
		backup_json $b backup "$T/src"
		rm -rf "$T/xo"
		tf restore latest --target "$T/xo" >/dev/null 2>&1
		[ "$(getfattr --only-values -n user.tf "$T/xo$T/src/small" 2>/dev/null)" = one ]
		ok $? "backup $b keeps the xattr ($(jnum files_unchanged "$T/$b.json") files from the cache)"
	done
	[ "$(jnum files_unchanged "$T/by.json")" -eq $(($(jnum files_unchanged "$T/bx.json") + 1)) ]
	ok $? "... the first read the changed file again, the second took it from the cache"
	setfattr -x user.tf "$T/src/small"
else
	ok 0 "xattrs are not supported here (skipped)"
fi

cp "$T/src/big" "$T/orig"
flip_byte "$T/src/big" $((SIZE / 2))
[ "$(cmp -l "$T/orig" "$T/src/big" | wc -l)" -eq 1 ]; ok $? "control: exactly one byte changed"
backup_json b6 backup "$T/src"
[ $rc -eq 0 ] && [ $grow -gt 0 ] && [ $grow -lt $CHUNK ]
ok $? "one changed byte grows the repo by about one chunk (exit $rc, 0 < $grow < $CHUNK)"
[ "$added" -gt 0 ] && [ "$added" -lt $CHUNK ]; ok $? "... added_bytes is about one chunk ($added)"

flip_byte "$T/src/big-copy" $((SIZE / 4))
backup_json b7 --no-cache backup "$T/src"
[ $rc -eq 0 ] && [ $grow -gt 0 ] && [ $grow -lt $CHUNK ]
ok $? "--no-cache: one changed byte in another file grows by about one chunk (0 < $grow < $CHUNK)"
[ "$added" -gt 0 ] && [ "$added" -lt $CHUNK ]; ok $? "--no-cache: ... added_bytes ($added)"

tf restore latest --target "$T/out" 2>"$T/rerr"
cmp "$T/src/big" "$T/out$T/src/big" 2>/dev/null && cmp "$T/src/big-copy" "$T/out$T/src/big-copy" 2>/dev/null
ok $? "the deduplicated files restore bit-exact"
tf check --read-data 2>"$T/cerr"; ok $? "check --read-data passes"

done_testing
