#!/bin/sh
# options: backup's --exclude, --exclude-file, --exclude-caches,
# --one-file-system, --tag, --host, --stdin; exit status 3 with an
# unreadable file (as an unprivileged user); key add/list/passwd/remove;
# cat config; ls --json; restore --include; --password-command; no
# password source.
. "$(dirname "$0")/lib.sh"

MNT="$T/src/mnt"
trap 'umount "$MNT" 2>/dev/null; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

has_python=0
command -v python3 >/dev/null 2>&1 && python3 -c 'import json' 2>/dev/null && has_python=1
# json_ok FILE: FILE is one valid JSON document (python3 if present, else
# a rough shape check)
json_ok() {
	if [ $has_python -eq 1 ]; then
		python3 -m json.tool "$1" >/dev/null 2>&1
	else
		head -c 1 "$1" | grep -q '[{[]' && [ "$(wc -l <"$1")" -le 1 ]
	fi
}
# in_ls FILE PATH: the listing FILE (plain `ls`: one full path a line)
# has the entry PATH
in_ls() { grep -q -x -F -e "$2" "$1"; }

# ---- the source tree ----
S="$T/src"
mkdir -p "$S/sub" "$S/proj/cache" "$S/other/cache" "$S/exdir" "$S/cachedir/sub" "$S/badcache" "$MNT"
echo keep >"$S/keep.c"
echo obj >"$S/drop.o"
echo obj >"$S/sub/deep.o"
echo keep >"$S/sub/keep2.c"
echo pc >"$S/proj/cache/pc.txt"
echo oc >"$S/other/cache/oc.txt"
echo c >"$S/# comment"
echo t >"$S/x.tmp"
echo e >"$S/exdir/in-exdir.txt"
printf 'Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag.\n' >"$S/cachedir/CACHEDIR.TAG"
echo junk >"$S/cachedir/junk.bin"
echo junk >"$S/cachedir/sub/junk2.bin"
printf 'Signature: 0000000000000000000000000000000\n' >"$S/badcache/CACHEDIR.TAG"
echo kept >"$S/badcache/kept.bin"
printf '# comment\n*.tmp\n\n%s/exdir\n' "$S" >"$T/excludes"
mounted=0
if mount -t tmpfs -o size=1m tmpfs "$MNT" 2>/dev/null; then
	mounted=1
	echo other-fs >"$MNT/onfs.txt"
fi

tf init; ok $? "init"
ctl=$(tf backup "$S" 2>"$T/err"); ok $? "control backup without options"
opt=$(tf backup --exclude '*.o' --exclude "$S/p*/cache" --exclude-file "$T/excludes" \
	--exclude-caches --one-file-system --tag daily --tag db --host testhost-1 "$S" 2>"$T/err")
ok $? "backup with every option"
tf ls "$ctl" >"$T/ls.ctl" 2>/dev/null
tf ls "$opt" >"$T/ls.opt" 2>/dev/null

# control: everything the options leave out is in the plain backup
all=1
for p in drop.o sub/deep.o proj/cache/pc.txt x.tmp exdir/in-exdir.txt cachedir/junk.bin \
	cachedir/sub/junk2.bin badcache/kept.bin keep.c "# comment"; do
	in_ls "$T/ls.ctl" "$S/$p" || all=0
done
[ $mounted -eq 0 ] || in_ls "$T/ls.ctl" "$MNT/onfs.txt" || all=0
[ $all -eq 1 ]; ok $? "control: the plain backup has every file"

! in_ls "$T/ls.opt" "$S/drop.o" && ! in_ls "$T/ls.opt" "$S/sub/deep.o" &&
	in_ls "$T/ls.opt" "$S/keep.c" && in_ls "$T/ls.opt" "$S/sub/keep2.c"
ok $? "--exclude '*.o' leaves out *.o at every depth, nothing else"
! in_ls "$T/ls.opt" "$S/proj/cache" && ! in_ls "$T/ls.opt" "$S/proj/cache/pc.txt" &&
	in_ls "$T/ls.opt" "$S/proj" && in_ls "$T/ls.opt" "$S/other/cache/oc.txt"
ok $? "--exclude with '/' matches the full path only"
! in_ls "$T/ls.opt" "$S/x.tmp" && ! in_ls "$T/ls.opt" "$S/exdir" && ! in_ls "$T/ls.opt" "$S/exdir/in-exdir.txt"
ok $? "--exclude-file: its name and path patterns apply"
in_ls "$T/ls.opt" "$S/# comment"
ok $? "--exclude-file: a '#' line is a comment, not a pattern"
in_ls "$T/ls.opt" "$S/cachedir" && ! in_ls "$T/ls.opt" "$S/cachedir/junk.bin" &&
	! in_ls "$T/ls.opt" "$S/cachedir/sub/junk2.bin" && ! in_ls "$T/ls.opt" "$S/cachedir/sub"
ok $? "--exclude-caches skips the contents of a directory with a valid CACHEDIR.TAG"
in_ls "$T/ls.opt" "$S/badcache/kept.bin"
ok $? "--exclude-caches keeps a directory whose CACHEDIR.TAG is not valid"
if [ $mounted -eq 1 ]; then
	in_ls "$T/ls.opt" "$MNT" && ! in_ls "$T/ls.opt" "$MNT/onfs.txt"
	ok $? "--one-file-system keeps the mount point, empty"
	umount "$MNT" && mounted=0
else
	ok 0 "--one-file-system: skipped (cannot mount a tmpfs here)"
fi

tf --json snapshots >"$T/snaps.json" 2>/dev/null
tr '{' '\n' <"$T/snaps.json" | grep -F "\"id\":\"$opt\"" >"$T/snap.opt"
grep -q -F '"tags":["daily","db"]' "$T/snap.opt" && grep -q -F '"hostname":"testhost-1"' "$T/snap.opt"
ok $? "--tag and --host are in snapshots --json"
json_ok "$T/snaps.json"; ok $? "snapshots --json is valid JSON"

# ---- --stdin ----
head -c 777777 /dev/urandom >"$T/stdin.data"
sid=$(tf backup --stdin --stdin-filename db-dump.sql <"$T/stdin.data" 2>"$T/err")
ok $? "backup --stdin --stdin-filename"
tf restore "$sid" --target "$T/out-stdin" 2>"$T/err"
cmp -s "$T/stdin.data" "$T/out-stdin/db-dump.sql"
ok $? "the --stdin snapshot restores the piped data as db-dump.sql"
# a name that leads out of the target: refused, or restored inside it
mkdir "$T/jail"
esc=$(echo escaped | tf backup --stdin --stdin-filename '../escaped' 2>/dev/null); rc=$?
if [ $rc -eq 0 ]; then
	tf restore "$esc" --target "$T/jail/target" >/dev/null 2>&1
	[ ! -e "$T/jail/escaped" ] && [ ! -e "$T/escaped" ]
else
	[ $rc -eq 1 ] && [ -z "$esc" ]
fi
ok $? "--stdin-filename '../escaped' is refused or stays inside the restore target (exit $rc)"

# ---- ls --json ----
tf --json ls "$ctl" "$S/sub" >"$T/ls.json" 2>/dev/null
rc=$?
bad=0
n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s\n' "$line" >"$T/line.json"
	json_ok "$T/line.json" && case $line in "{"*"}") ;; *) false ;; esac || bad=1
done <"$T/ls.json"
[ $rc -eq 0 ] && [ $bad -eq 0 ] && [ $n -ge 2 ]
ok $? "ls --json prints one JSON object per line (exit $rc, $n lines)"
grep -q -F "\"$S/sub/keep2.c\"" "$T/ls.json" && grep -q -F "\"$S/sub/deep.o\"" "$T/ls.json" &&
	! grep -v -q -F "\"$S/sub" "$T/ls.json"
ok $? "ls --json lists the entries below the path (by full path), nothing else"

# ---- restore --include ----
tf restore "$ctl" --target "$T/out-inc" --include "$S/proj" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && cmp -s "$S/proj/cache/pc.txt" "$T/out-inc$S/proj/cache/pc.txt" &&
	[ ! -e "$T/out-inc$S/keep.c" ] && [ ! -e "$T/out-inc$S/other" ] && [ ! -e "$T/out-inc$S/sub" ]
ok $? "restore --include restores only that subtree (exit $rc)"
tf restore "$ctl" --target "$T/out-inc2" --include "$S/sub/keep2.c" --include "$S/other" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && cmp -s "$S/sub/keep2.c" "$T/out-inc2$S/sub/keep2.c" && [ ! -e "$T/out-inc2$S/sub/deep.o" ] &&
	cmp -s "$S/other/cache/oc.txt" "$T/out-inc2$S/other/cache/oc.txt" && [ ! -e "$T/out-inc2$S/proj" ]
ok $? "restore with two --include (a file and a directory) restores just those (exit $rc)"
tf restore "$ctl" --target "$T/out-inc3" --include "$S/no-such-path" 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q -F "$S/no-such-path" "$T/err"
ok $? "restore --include of a path not in the snapshot fails and names it (exit $rc)"

# ---- exit status 3: an unreadable file, as an unprivileged user ----
N="$T/nb"
chmod 755 "$T"
mkdir -p "$N/src/d" "$N/src/locked"
chmod 777 "$N"
cp "$T/pass" "$N/pass"
chmod 644 "$N/pass"
echo readable >"$N/src/ok.txt"
echo readable2 >"$N/src/d/ok2.txt"
echo secret >"$N/src/unreadable.txt"
echo secret >"$N/src/locked/inside.txt"
chmod 000 "$N/src/unreadable.txt" "$N/src/locked"
asnobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env XDG_CACHE_HOME="$N/cache" TWOFOLD_PASSWORD_FILE="$N/pass" TWOFOLD_REPOSITORY="$N/repo" \
		"$TWOFOLD_BIN" -q "$@"
}
if asnobody init 2>"$T/err"; then
	asnobody backup "$N/src" >"$T/nb.out" 2>"$T/nb.err"
	rc=$?
	[ $rc -eq 3 ]; ok $? "backup with an unreadable file exits 3 (got $rc)"
	grep -q -F "$N/src/unreadable.txt" "$T/nb.err"; ok $? "stderr names the unreadable file"
	grep -q -F "$N/src/locked" "$T/nb.err"; ok $? "stderr names the unreadable directory"
	grep -Eq '^[0-9a-f]{64}$' "$T/nb.out"; ok $? "the snapshot is written (its ID printed)"
	asnobody ls latest >"$T/nb.ls" 2>/dev/null
	in_ls "$T/nb.ls" "$N/src/ok.txt" && in_ls "$T/nb.ls" "$N/src/d/ok2.txt" && ! in_ls "$T/nb.ls" "$N/src/unreadable.txt"
	ok $? "the snapshot holds the readable files, not the unreadable one"
	asnobody cat snapshot latest >"$T/nb.json" 2>/dev/null
	tr -d '\n' <"$T/nb.json" | grep -o '"unreadable":\[[^]]*\]' >"$T/nb.unr"
	grep -q -F "\"$N/src/unreadable.txt\"" "$T/nb.unr" && grep -q -F "\"$N/src/locked\"" "$T/nb.unr" &&
		! grep -q -F "ok.txt" "$T/nb.unr"
	ok $? "cat snapshot lists exactly the unreadable paths in \"unreadable\""
	# A source below a directory one may traverse but not list (mode
	# 0711, like many home directories) can be backed up too.
	chmod 711 "$T"
	asnobody backup "$N/src" >"$T/nb.out" 2>"$T/nb.err"
	rc=$?
	asnobody ls latest >"$T/nb.ls" 2>/dev/null
	chmod 755 "$T"
	[ $rc -eq 3 ] && in_ls "$T/nb.ls" "$N/src/ok.txt" && ! grep -q -F "directory $T:" "$T/nb.err"
	ok $? "a source below an execute-only (0711) directory is backed up (exit $rc)"
else
	sed 's/^/# /' "$T/err"
	ok 1 "init as nobody (setpriv) failed"
fi

# ---- keys ----
printf 'second passphrase\n' >"$T/pass2"
printf 'third passphrase\n' >"$T/pass3"
id2=$(tf key add --name second-owner --new-password-file "$T/pass2" 2>"$T/err")
rc=$?
[ $rc -eq 0 ] && echo "$id2" | grep -Eq '^[0-9a-f]{32}$'
ok $? "key add prints the new key's ID (exit $rc)"
tf --password-file "$T/pass2" snapshots >/dev/null 2>"$T/err"; ok $? "the new key opens the repository"
tf --json key list >"$T/keys.json" 2>/dev/null
json_ok "$T/keys.json" && [ "$(grep -o '"id"' "$T/keys.json" | wc -l)" -eq 2 ] &&
	tr '{' '\n' <"$T/keys.json" | grep -F "\"$id2\"" | grep -q '"current":false' &&
	tr '{' '\n' <"$T/keys.json" | grep -F "\"$id2\"" | grep -q '"name":"second-owner"'
ok $? "key list --json shows both keys, the new one by name and not current"
tf --password-file "$T/pass2" key list >"$T/keys.txt" 2>/dev/null
grep -q "^\*$id2" "$T/keys.txt"; ok $? "key list marks the key in use with *"
tf cat config >"$T/config.json" 2>/dev/null
json_ok "$T/config.json" && grep -q -F "\"$id2\"" "$T/config.json" && grep -q -F '"second-owner"' "$T/config.json"
ok $? "cat config is valid JSON and lists the keys"

# a snapshot signed by the second key, to check it survives the key's removal
s2=$(tf --password-file "$T/pass2" backup "$S/sub" 2>/dev/null)
tf --password-file "$T/pass2" key passwd --new-password-file "$T/pass3" 2>"$T/err"
ok $? "key passwd"
tf --password-file "$T/pass2" snapshots >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "wrong password" "$T/err"
ok $? "the old passphrase no longer opens (exit $rc, wrong password)"
tf --password-file "$T/pass3" snapshots >/dev/null 2>"$T/err"; ok $? "the new passphrase opens"
tf --password-file "$T/pass" snapshots >/dev/null 2>"$T/err"; ok $? "the first key is unaffected"
tf --password-file "$T/pass3" key remove "$id2" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q -i "refus" "$T/err" && tf --password-file "$T/pass3" snapshots >/dev/null 2>&1
ok $? "key remove of the key in use is refused (exit $rc) and the key still works"
tf key remove "$(echo "$id2" | cut -c1-8)" 2>"$T/err"; ok $? "key remove of another key (by ID prefix)"
tf --password-file "$T/pass3" snapshots >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "wrong password" "$T/err"
ok $? "the removed key's passphrase no longer opens (exit $rc)"
tf --json snapshots >"$T/snaps2.json" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && [ -n "$s2" ] && tr '{' '\n' <"$T/snaps2.json" | grep -F "\"$s2\"" | grep -q '"status":"ok'
ok $? "the removed key's earlier snapshot stays valid (exit $rc)"
[ "$(tf --json key list 2>/dev/null | grep -o '"id"' | wc -l)" -eq 1 ]; ok $? "key list shows one key"

# ---- password sources ----
TWOFOLD_PASSWORD_FILE= tf --password-command "cat '$T/pass'" snapshots >/dev/null 2>"$T/err"
ok $? "--password-command 'cat FILE' works"
TWOFOLD_PASSWORD_FILE= tf --password-command "false" snapshots >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "password-command" "$T/err"; ok $? "a failing --password-command is a clear error (exit $rc)"
TWOFOLD_PASSWORD_FILE= tf snapshots </dev/null >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no password given" "$T/err"
ok $? "no password source and stdin not a terminal: clear error, exit 1 (got $rc)"

done_testing
