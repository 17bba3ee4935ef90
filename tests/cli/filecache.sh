#!/bin/sh
# filecache: the file cache outlives backups of other paths.  One
# repository backs up two trees in turn (as a host backing up /home daily
# and /etc weekly would); each backup takes its unchanged files from the
# cache even though a backup of the other tree came in between.  An entry
# no backup has seen for FC_MAX_AGE (20) backups is dropped.
. "$(dirname "$0")/lib.sh"

jnum() { # jnum KEY FILE: an unsigned number from a one-object JSON file
	tr ',{}' '\n\n\n' <"$2" | sed -n "s/^ *\"$1\" *: *\([0-9][0-9]*\) *\$/\1/p" | head -n 1
}
unchanged() { tf --json backup "$1" >"$T/b.json" 2>"$T/b.err" && jnum files_unchanged "$T/b.json"; }

random_files "$T/a" 20 3000
random_files "$T/b" 10 3000
tf init; ok $? "init"
tf backup "$T/a" >/dev/null; ok $? "backup of tree a"
tf backup "$T/b" >/dev/null; ok $? "backup of tree b"
n=$(unchanged "$T/a"); [ "$n" = 20 ]
ok $? "tree a again, after a backup of b: all 20 files from the cache ($n)"
n=$(unchanged "$T/b"); [ "$n" = 10 ]
ok $? "tree b again, after a backup of a: all 10 files from the cache ($n)"

# 20 backups of b leave a's entries at the oldest age still kept; the
# 21st drops them
for i in $(seq 19); do tf backup "$T/b" >/dev/null || break; done
n=$(unchanged "$T/a"); [ "$n" = 20 ]
ok $? "after 20 backups of other paths, a's entries are still there ($n)"
for i in $(seq 21); do tf backup "$T/b" >/dev/null || break; done
n=$(unchanged "$T/a"); [ "$n" = 0 ]
ok $? "after 21 backups of other paths they are gone: a is read again ($n unchanged)"
tf check --read-data >/dev/null 2>&1; ok $? "check --read-data is clean"
done_testing
