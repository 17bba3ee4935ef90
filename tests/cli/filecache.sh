#!/bin/sh
# filecache: the file cache outlives backups of other paths.  One
# repository backs up two trees in turn (as a host backing up /home daily
# and /etc weekly would); each backup takes its unchanged files from the
# cache even though a backup of the other tree came in between.  An entry
# no backup has seen for FC_MAX_AGE (20) backups is dropped.  A backup
# that would write the cache unchanged does not write it.
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

# An unchanged re-backup leaves the cache file as it is (a rewrite
# replaces the file: new inode); a backup that changes it rewrites it.
# A cache of its own, so that it holds a's entries only: entries of
# other paths age at every backup, which changes the file.
export XDG_CACHE_HOME="$T/cache2"
tf backup "$T/a" >/dev/null
cf=$(find "$XDG_CACHE_HOME" -name files -type f)
i1=$(stat -c %i "$cf")
n=$(unchanged "$T/a"); i2=$(stat -c %i "$cf")
[ "$n" = 20 ] && [ -n "$i1" ] && [ "$i1" = "$i2" ]
ok $? "an unchanged re-backup does not rewrite the cache ($n unchanged, inode $i1 -> $i2)"
printf 'one more\n' >>"$T/a/$(ls "$T/a" | head -n 1)"
tf backup "$T/a" >/dev/null; i3=$(stat -c %i "$cf")
n=$(unchanged "$T/a"); i4=$(stat -c %i "$cf")
[ "$i3" != "$i2" ] && [ "$n" = 20 ] && [ "$i4" = "$i3" ]
ok $? "a changed file rewrites it, and the next backup finds all 20 in it (inode $i2 -> $i3, $n unchanged)"
tf backup "$T/b" >/dev/null; i5=$(stat -c %i "$cf")
[ "$i5" != "$i4" ]
ok $? "a backup of other paths rewrites it (a's entries age; inode $i4 -> $i5)"
tf check --read-data >/dev/null 2>&1; ok $? "check --read-data is clean"
done_testing
