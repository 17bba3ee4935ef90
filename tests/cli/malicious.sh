#!/bin/sh
# malicious: restore from a repository whose trees were crafted byte by
# byte (tests/tools/forge trees, bypassing the encoder) and written with
# the owner key, so they authenticate: names with '/', "..", ".", "",
# NUL, an absolute path into a sentinel directory outside the target,
# duplicate names (a symlink out, then a directory or file of the same
# name), hard links claiming the device and inode of a file outside, and
# a hard link group across a directory next to a symlink out.  Then a
# second snapshot restored over the first puts a directory and a file
# where the first put symlinks leading out, and a third has a malformed
# root tree.  Afterwards the sentinel directory outside the target is
# byte for byte and inode for inode what it was; restore exits 1 and
# names every refused entry on stderr; the valid entries are restored.
. "$(dirname "$0")/lib.sh"

TOOLS=$(dirname "$TWOFOLD_BIN")/tools
O="$T/outside"
mkdir -p "$O/sub"
echo "victim content" >"$O/victim"
echo "other" >"$O/sub/other"
chmod 0640 "$O/victim"
# state: every path below $O with type, size, mode, inode, link count,
# mtime and content hash; and every pwned* file anywhere outside the target.
state() {
	(cd "$O" && find . -printf '%p %y %s %m %i %n %T@ %l\n' | sort
	 find . -type f -exec sha256sum {} + | sort)
}
pwned_outside() { find "$T" -name 'pwned*' ! -path "$T/target/*" ! -path "$T/repo/*" | head -n 5; }

tf init || exit 1
state >"$T/before"
"$TOOLS/forge" trees "$T/repo" "$T/pass" "$O" >"$T/ids" 2>"$T/err"; ok $? "forge: crafted trees written as three owner-signed snapshots"
E1=$(sed -n 1p "$T/ids"); E2=$(sed -n 2p "$T/ids"); E3=$(sed -n 3p "$T/ids")
[ ${#E1} -eq 64 ] && [ ${#E2} -eq 64 ] && [ ${#E3} -eq 64 ]; ok $? "three snapshot IDs"
tf snapshots >/dev/null 2>&1; ok $? "the snapshots themselves authenticate (they are the owner's)"

# ---- snapshot 1 ----
tf restore "$E1" --target "$T/target" >/dev/null 2>"$T/err1"; rc=$?
[ $rc -eq 1 ]; ok $? "restore of the crafted snapshot exits 1 (exit $rc)"
state >"$T/after"
cmp -s "$T/before" "$T/after"; ok $? "the sentinel directory outside the target is unchanged (content, inodes, links, times)"
[ -z "$(pwned_outside)" ]; ok $? "no file the crafted trees name was created outside the target: $(pwned_outside | tr '\n' ' ')"
# refused DIR ENTRY: stderr names the directory and, on the line before,
# the tree object, the entry and why.
refused() {
	grep -B1 "^twofold: cannot restore /$1: its directory listing is damaged" "$T/err1" |
		grep -q -F "is malformed: $2"
	ok $? "stderr names the refused entry in /$1: $2"
}
invalid=": not a valid name (empty, '.', '..', or with '/' or NUL)"
refused bad-abs "entry 1 \"$O/pwned-abs\"$invalid"
refused bad-dot "entry 1 \".\"$invalid"
refused bad-dotdot "entry 1 \"..\"$invalid"
refused bad-empty "entry 1 \"\"$invalid"
refused bad-nul "entry 1 \"a\\x00b\"$invalid"
refused bad-slash "entry 1 \"../../outside/pwned-slash\"$invalid"
refused bad-dup "entry 2 \"x\": repeats a name or is out of order"
refused bad-linkdir "entry 2 \"a\": repeats a name or is out of order"
refused bad-linkfile "entry 2 \"a\": repeats a name or is out of order"
[ "$(grep -c 'tree [0-9a-f]* is malformed' "$T/err1")" -eq 9 ] && grep -q "9 error(s)" "$T/err1"
ok $? "exactly those 9 directories are refused"
[ "$(cat "$T/target/good/ok.txt")" = "good content" ]; ok $? "valid entries of the same snapshot are restored (good/ok.txt)"
[ -L "$T/target/good/up" ] && [ "$(readlink "$T/target/good/up")" = "$O" ]
ok $? "a symlink pointing outside is restored as a symlink, not followed"
[ "$(stat -c %i "$T/target/hl/h1")" = "$(stat -c %i "$T/target/hl/h2")" ] &&
	[ "$(stat -c %h "$T/target/hl/h1")" -eq 2 ] && [ "$(stat -c %h "$O/victim")" -eq 1 ] &&
	[ "$(cat "$T/target/hl/h1")" = "hardlink content" ]
ok $? "hard links claiming the victim's device and inode link to each other only"
[ "$(stat -c %i "$T/target/hl2/b")" = "$(stat -c %i "$T/target/hl3/c")" ] && [ -L "$T/target/hl2/a" ]
ok $? "a hard link group across directories, next to a symlink out, stays inside"
[ -z "$(find "$T/target" -name 'pwned*')" ]; ok $? "nothing the refused entries name exists in the target either"

# ---- snapshot 2, over the first: a directory and a file where symlinks out were ----
tf restore "$E2" --target "$T/target" >/dev/null 2>"$T/err2"; rc=$?
[ $rc -eq 0 ]; ok $? "restore of the second snapshot over the first exits 0 (exit $rc): $(head -c 200 "$T/err2")"
state >"$T/after"
cmp -s "$T/before" "$T/after" && [ -z "$(pwned_outside)" ]
ok $? "the sentinel directory is still unchanged"
[ -d "$T/target/good/up" ] && [ ! -L "$T/target/good/up" ] && [ -f "$T/target/good/up/pwned-dir" ]
ok $? "the symlink good/up was replaced by a real directory, not written through"
[ -f "$T/target/hl2/a" ] && [ ! -L "$T/target/hl2/a" ] && [ "$(cat "$T/target/hl2/a")" = "pwned" ]
ok $? "the symlink hl2/a was replaced by a regular file, not written through"

# ---- snapshot 3: the root tree itself names ".." ----
tf restore "$E3" --target "$T/target3" >/dev/null 2>"$T/err3"; rc=$?
[ $rc -eq 1 ] && grep -q "root tree is damaged" "$T/err3" && [ ! -e "$T/target3" ]
ok $? "a malformed root tree: exit $rc, named, nothing created"
state >"$T/after"
cmp -s "$T/before" "$T/after" && [ -z "$(pwned_outside)" ]; ok $? "the sentinel directory is unchanged at the end"

# check names the malformed trees too.
tf check >/dev/null 2>"$T/errc"; rc=$?
[ $rc -eq 10 ] && grep -q "malformed" "$T/errc"; ok $? "check exits 10 and reports the malformed trees (exit $rc)"

done_testing
