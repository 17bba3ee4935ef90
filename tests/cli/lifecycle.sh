#!/bin/sh
# lifecycle: forget (policy and IDs, dry run, owner only), diff, find,
# stats and dump (a file, and a directory as a tar checked with tar(1)
# and diff -r).  Snapshot times are faked with backup --time.
. "$(dirname "$0")/lib.sh"

export TZ=UTC
S="$T/src"
long=$(printf 'd%.0s' $(seq 1 120))
mkdir -p "$S/sub" "$S/$long"
echo "version one" >"$S/a.txt"
echo "goes away" >"$S/c.txt"
echo "never changes" >"$S/same.txt"
: >"$S/empty"
head -c 300000 /dev/urandom >"$S/sub/b.bin"
echo "deep" >"$S/$long/file-with-a-long-name-$long"
ln "$S/same.txt" "$S/hard.txt"
ln -s a.txt "$S/link"
cp "$S/a.txt" "$T/a.v1"
jnum() { grep -o "\"$1\":[0-9.]*" "$2" | head -1 | cut -d: -f2; }	# jnum KEY FILE: first number
nsnap() { find "$T/repo/snapshots" -type f ! -name '.*' | wc -l; }

tf init || exit 1
tf backup --time "2024-01-01 99:00:00" "$S" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "YYYY-MM-DD HH:MM:SS" "$T/err"; ok $? "backup --time with a bad time exits 1 and shows the format"
s1=$(tf backup --time "2024-01-01 10:00:00" "$S"); ok $? "backup --time (1)"
echo "version two" >"$S/a.txt"
rm "$S/c.txt"
echo "new file" >"$S/new.txt"
chmod 600 "$S/sub/b.bin"
s2=$(tf backup --time "2024-01-02 10:00:00" --tag keep "$S"); ok $? "backup --time --tag (2)"
s3=$(tf backup --time "2024-01-02 11:00:00" "$S"); ok $? "backup --time (3)"
s4=$(tf backup --time "2024-01-03 10:00:00" "$S"); ok $? "backup --time (4)"
tf snapshots >"$T/snaps"
grep -q "^$(echo "$s1" | cut -c1-8)  2024-01-01 10:00:00" "$T/snaps"; ok $? "the snapshot carries the faked time"

# ---- diff ----
tf diff "$s1" "$s2" >"$T/diff"; ok $? "diff exits 0"
grep -qx "M    $S/a.txt" "$T/diff"; ok $? "diff: changed content is M"
grep -qx "+    $S/new.txt" "$T/diff"; ok $? "diff: added file is +"
grep -qx -- "-    $S/c.txt" "$T/diff"; ok $? "diff: removed file is -"
grep -qx "U    $S/sub/b.bin" "$T/diff"; ok $? "diff: mode change only is U"
! grep -q "same.txt\|$long" "$T/diff"; ok $? "diff: unchanged files and directories are not listed"
grep -q "1 new, 1 removed, 1 changed" "$T/diff"; ok $? "diff: summary counts"
tf --json diff "$s1" "$s2" >"$T/diff.json"
grep -q "\"path\":\"$S/new.txt\",\"modifier\":\"+\"" "$T/diff.json" &&
    [ "$(jnum files_added "$T/diff.json")" = 1 ] && [ "$(jnum metadata_changed "$T/diff.json")" -ge 1 ]
ok $? "diff --json: changes and statistics"
tf diff "$s3" "$s4" >"$T/diff0"
[ "$(grep -c '^[-+MTU] ' "$T/diff0")" -eq 0 ]; ok $? "diff of identical trees lists nothing"
tf diff "$s1" nosuch 2>"$T/err"; [ $? -eq 1 ] && grep -q "no snapshot nosuch" "$T/err"; ok $? "diff with an unknown snapshot exits 1"

# ---- find ----
tf find 'new*' >"$T/find"; ok $? "find exits 0"
[ "$(grep -c "$S/new.txt" "$T/find")" -eq 3 ] && ! grep -q "^$(echo "$s1" | cut -c1-8)" "$T/find"
ok $? "find: the new file is in snapshots 2, 3, 4 only"
tf find --snapshot "$s1" a.txt >"$T/find1"
[ "$(wc -l <"$T/find1")" -eq 1 ] && grep -q "^$(echo "$s1" | cut -c1-8) .* 12  $S/a.txt$" "$T/find1"
ok $? "find --snapshot: one snapshot, with size and path"
tf find --path "*/sub/*.bin" >"$T/find2"
[ "$(grep -c "300000  $S/sub/b.bin" "$T/find2")" -eq 4 ]; ok $? "find --path matches the full path"
tf find "$S/a.txt" >"$T/find3"
[ ! -s "$T/find3" ]; ok $? "find without --path matches names, not paths"
tf --json find 'file-with-*' >"$T/find.json"
[ "$(grep -c "\"path\":\"$S/$long/file-with-a-long-name-$long\"" "$T/find.json")" -eq 4 ]
ok $? "find --json"

# ---- stats ----
tf --json stats >"$T/stats.json"; ok $? "stats --json exits 0"
want=$(find "$T/repo" -type f ! -name '.*' -printf '%s\n' | awk '{s += $1} END {print s}')
[ "$(jnum total_bytes "$T/stats.json")" = "$want" ]; ok $? "stats: store size matches the files on disk ($want)"
[ "$(jnum snapshots "$T/stats.json")" = 4 ]; ok $? "stats: 4 snapshots"
d=$(jnum dedup_ratio "$T/stats.json")
awk "BEGIN {exit !($d > 3.5 && $d < 4.5)}"; ok $? "stats: four near-identical snapshots dedup about 4x ($d)"
tf stats "$s1" >"$T/stats1"
grep -q "^snapshots: *1$" "$T/stats1" && grep -q "dedup ratio" "$T/stats1" && grep -q "compression ratio" "$T/stats1"
ok $? "stats SNAPSHOT: one snapshot, text"

# ---- dump ----
tf dump "$s1" "$S/a.txt" >"$T/a.out"; ok $? "dump a file"
cmp -s "$T/a.out" "$T/a.v1"; ok $? "dump: the old version of the file, byte for byte"
tf dump latest "$S/sub/b.bin" | cmp -s - "$S/sub/b.bin"; ok $? "dump: a 300 kB file"
tf dump latest "$S" >"$T/src.tar"; ok $? "dump a directory"
tar -tvf "$T/src.tar" >"$T/tar.list" 2>&1; ok $? "tar -tvf reads the archive"
grep -q "file-with-a-long-name-$long\$" "$T/tar.list"; ok $? "tar: a name longer than 100 bytes (pax)"
grep -Eq "hard.txt link to .*same.txt|same.txt link to .*hard.txt" "$T/tar.list"; ok $? "tar: hardlink as hardlink"
grep -q "link -> a.txt" "$T/tar.list"; ok $? "tar: symlink"
grep -q "^-rw------- .*sub/b.bin" "$T/tar.list"; ok $? "tar: mode"
mkdir "$T/x"
tar -xf "$T/src.tar" -C "$T/x"; ok $? "tar -xf extracts it"
diff -r "$S" "$T/x$S"; ok $? "extracted tree equals the source (diff -r)"
[ "$(stat -c %i "$T/x$S/hard.txt")" = "$(stat -c %i "$T/x$S/same.txt")" ]; ok $? "extracted hardlinks share an inode"
[ "$(stat -c %Y "$T/x$S/sub/b.bin")" = "$(stat -c %Y "$S/sub/b.bin")" ]; ok $? "extracted mtime"
tf dump latest / | tar -tf - >"$T/tar.all"; ok $? "dump / is a tar of everything"
grep -q "^${S#/}/sub/b.bin$" "$T/tar.all"; ok $? "dump /: names without the leading /"
tf dump latest "$S/nosuch" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no such path" "$T/err"; ok $? "dump of a missing path exits 1 clearly"

# ---- forget: refusals ----
printf 'wo pass\n' >"$T/wopass"
printf 'ro pass\n' >"$T/ropass"
tf key add --write-only --name wo --new-password-file "$T/wopass" >/dev/null
tf key add --read-only --name ro --new-password-file "$T/ropass" >/dev/null
tf --password-file "$T/wopass" forget --keep-last 1 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "write-only key: it cannot forget" "$T/err" && [ "$(nsnap)" -eq 4 ]
ok $? "forget with a write-only key exits 1, names the role, removes nothing"
tf --password-file "$T/ropass" forget "$s1" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "read-only key" "$T/err" && [ "$(nsnap)" -eq 4 ]
ok $? "forget with a read-only key is refused too"
tf forget 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no policy given" "$T/err"; ok $? "forget without a policy or IDs is refused"
tf forget --keep-last 0 2>"$T/err"; [ $? -eq 1 ]; ok $? "forget --keep-last 0 is an empty policy: refused"
tf forget --keep-tag nosuch >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "would remove every snapshot" "$T/err" && [ "$(nsnap)" -eq 4 ]
ok $? "a policy that empties a group is refused"
tf forget --keep-within 1x 2>/dev/null; [ $? -eq 1 ]; ok $? "a bad duration is refused"
tf forget --keep-last 1 "$s1" 2>/dev/null; [ $? -eq 1 ] && [ "$(nsnap)" -eq 4 ]; ok $? "IDs and a policy together are refused"

# ---- forget: dry run, policy, IDs ----
tf forget --keep-daily 2 --dry-run >"$T/f0"; ok $? "forget --keep-daily 2 --dry-run"
grep -q "^  $(echo "$s4" | cut -c1-8) .*daily snapshot" "$T/f0" &&
    grep -q "^  $(echo "$s3" | cut -c1-8) .*daily snapshot" "$T/f0" &&
    grep -q "would remove 2 snapshots" "$T/f0" && [ "$(nsnap)" -eq 4 ]
ok $? "dry run: the newest of each of the 2 newest days kept, nothing removed"
tf --json forget --keep-last 1 --keep-tag keep --dry-run >"$T/f.json"
[ "$(jnum removed "$T/f.json")" = 2 ] && grep -q '"reasons":\["has tags"\]' "$T/f.json" &&
    grep -q '"dry_run":true' "$T/f.json"
ok $? "forget --json --dry-run"
tf forget --keep-last 1 --keep-tag keep >"$T/f1"; ok $? "forget --keep-last 1 --keep-tag keep"
grep -q "^  $(echo "$s4" | cut -c1-8) .*last snapshot" "$T/f1" &&
    grep -q "^  $(echo "$s2" | cut -c1-8) .*has tags" "$T/f1"
ok $? "forget prints why each kept snapshot is kept"
[ "$(nsnap)" -eq 2 ] && [ ! -e "$T/repo/snapshots/$s1" ] && [ ! -e "$T/repo/snapshots/$s3" ] &&
    [ -e "$T/repo/snapshots/$s2" ] && [ -e "$T/repo/snapshots/$s4" ]
ok $? "exactly snapshots 1 and 3 are gone"
tf check >/dev/null 2>"$T/err"; ok $? "check passes after forget"
tf forget "$(echo "$s2" | cut -c1-10)" >"$T/f2"; ok $? "forget ID"
[ "$(nsnap)" -eq 1 ] && [ -e "$T/repo/snapshots/$s4" ]; ok $? "forget ID removes exactly that snapshot"
tf forget 0000000000 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no snapshot 0000000000" "$T/err" && [ "$(nsnap)" -eq 1 ]; ok $? "forget of an unknown ID exits 1"
tf restore latest --target "$T/r" && diff -r "$S" "$T/r$S"; ok $? "the kept snapshot still restores"

# ---- damaged data: named, the tar stays readable, exit 1 ----
export TWOFOLD_REPOSITORY="$T/repo2" XDG_CACHE_HOME="$T/cache2"
mkdir "$T/d"
head -c 200000 /dev/urandom >"$T/d/x.bin"
tf init || exit 1
d1=$(tf backup "$T/d")
p1=$(find "$T/repo2/data" -type f ! -name '.*')
echo "second" >"$T/d/y.txt"
d2=$(tf backup "$T/d")
rm -f $p1	# the first pack: x.bin's data and the first snapshot's trees
tf dump "$d2" "$T/d" >"$T/d.tar" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "$T/d/x.bin.*missing" "$T/err"; ok $? "dump names the file whose data is missing, exit 1"
tar -tf "$T/d.tar" >/dev/null && mkdir "$T/dx" && tar -xf "$T/d.tar" -C "$T/dx" &&
    cmp -s "$T/dx$T/d/y.txt" "$T/d/y.txt" && [ "$(stat -c %s "$T/dx$T/d/x.bin")" -eq 200000 ]
ok $? "the archive stays well-formed: the other file intact, the damaged one zero-filled to its size"
tf dump "$d2" "$T/d/x.bin" >/dev/null 2>"$T/err"; [ $? -eq 1 ]; ok $? "dump of the damaged file exits 1"
tf diff "$d1" "$d2" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "cannot read the directory" "$T/err"; ok $? "diff with a missing tree exits 1 and says where"
tf stats >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "cannot read tree" "$T/err"; ok $? "stats with a missing tree exits 1 and says so"
rm -f "$T/repo2/snapshots/$d1"	# behind twofold's back: looks like a rolled-back copy
tf forget --keep-last 1 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "forget: a copy was found rolled back" "$T/err" && [ -e "$T/repo2/snapshots/$d2" ]
ok $? "forget refuses to act on a snapshot list a rolled-back copy shrank"

done_testing
