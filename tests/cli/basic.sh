#!/bin/sh
# basic: init, backup, snapshots, ls, restore, check; exit codes; wrong
# password; usage errors.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src/sub"
echo hello >"$T/src/a.txt"
head -c 3000000 /dev/urandom >"$T/src/sub/big.bin"

tf init; ok $? "init creates a repository"
tf init 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "already holds a repository" "$T/err"; ok $? "init twice fails clearly (exit $rc)"

id=$(tf backup "$T/src"); ok $? "backup succeeds"
echo "$id" | grep -Eq '^[0-9a-f]{64}$'; ok $? "backup prints the snapshot ID"

tf snapshots >"$T/snaps"; ok $? "snapshots lists"
grep -q "$(echo "$id" | cut -c1-8)" "$T/snaps"; ok $? "the table shows the new snapshot"
tf --json snapshots >"$T/snaps.json"
grep -q "\"id\":\"$id\"" "$T/snaps.json"; ok $? "snapshots --json has the full ID"

tf ls latest >"$T/ls"; ok $? "ls latest"
grep -q "$T/src/sub/big.bin" "$T/ls"; ok $? "ls shows the full path"
tf ls "$(echo "$id" | cut -c1-6)" "$T/src/sub" >"$T/ls2"; ok $? "ls by ID prefix and path"
! grep -q "a.txt" "$T/ls2"; ok $? "ls PATH lists only below PATH"

tf restore latest --target "$T/out"; ok $? "restore"
diff -r "$T/src" "$T/out$T/src"; ok $? "restored tree is identical (diff -r)"

tf check; ok $? "check passes"
tf --connections 1 backup "$T/src" >/dev/null; ok $? "backup with --connections 1"
tf --connections 0 snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "connections takes a number" "$T/err"; ok $? "--connections 0 is refused clearly"
tf check --read-data; ok $? "check --read-data passes"

printf 'wrong\n' >"$T/bad"
before=$(find "$T/repo" -type f | sort | md5sum)
"$TWOFOLD_BIN" --password-file "$T/bad" snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ]; ok $? "wrong password exits 1 (got $rc)"
grep -q "wrong password" "$T/err"; ok $? "wrong password says so"
"$TWOFOLD_BIN" --password-file "$T/bad" backup "$T/src" 2>/dev/null
after=$(find "$T/repo" -type f | sort | md5sum)
[ "$before" = "$after" ]; ok $? "wrong password writes nothing"

tf restore nosuch --target "$T/x" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no snapshot nosuch" "$T/err"; ok $? "unknown snapshot is a clear error"
tf frobnicate 2>/dev/null; [ $? -eq 1 ]; ok $? "unknown command exits 1"
TWOFOLD_REPOSITORY= tf snapshots 2>"$T/err"; grep -q "no repository given" "$T/err"; ok $? "missing repository is explained"
"$TWOFOLD_BIN" -r "$T/nonexistent" snapshots 2>"$T/err"; rc=$?
[ $rc -eq 1 ]; ok $? "a path that is no repository exits 1"

# A pack the store refuses fails the backup: packs are stored by writer
# threads while the next ones are sealed, and their failure must still end
# the backup with the object's name, exit 1 and no snapshot.  Every
# data/XX here is a file, so no pack can be written; 50 MB make several.
random_files "$T/many" 5 10000000
nsnap=$(ls "$T/repo/snapshots" | wc -l)
mv "$T/repo/data" "$T/data.keep"
mkdir "$T/repo/data"
for x in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
	for y in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do : >"$T/repo/data/$x$y"; done
done
tf backup "$T/many" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "for object data/../[0-9a-f]\{64\} .*Not a directory" "$T/err"
ok $? "a pack the store cannot write fails the backup clearly (exit $rc)"
# each writer reports at most the pack it was storing; the packs after a
# failure are dropped unreported
[ "$(grep -c "cannot create" "$T/err")" -le "$(getconf _NPROCESSORS_ONLN)" ]
ok $? "the failure is reported once per pack writer at most"
[ "$(ls "$T/repo/snapshots" | wc -l)" -eq "$nsnap" ]; ok $? "it writes no snapshot"
rm -rf "$T/repo/data"
mv "$T/data.keep" "$T/repo/data"
tf check --read-data; ok $? "check --read-data passes after the failed backup"
tf backup "$T/many" >/dev/null; ok $? "the next backup completes"
tf restore latest --target "$T/out3" && diff -r "$T/many" "$T/out3$T/many"
ok $? "and restores identical"

done_testing
