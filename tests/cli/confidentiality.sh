#!/bin/sh
# confidentiality: nothing the repository stores reveals file names,
# contents, their hashes, tags, host names or key names.  A unique marker
# goes into names, contents, tags, the host and a key name; afterwards no
# object of any kind (key slots, configs, packs, indexes, snapshots)
# contains the marker, its hex or base64 encoding, nor the SHA-256 (hex
# or raw bytes) of a file that holds exactly the marker.  Against a cloud
# store (tests/cli/core-*.sh) every object is downloaded and searched.
. "$(dirname "$0")/lib.sh"

hexof() { od -An -tx1 -v | tr -d ' \n'; }	# stdin -> lowercase hex

M="TWOFOLDMARKER$(head -c 12 /dev/urandom | hexof)"
NAME="secret-name-$M.txt"
src="$T/src-$M"
mkdir -p "$src/dir-$M"
printf %s "$M" >"$src/exact"		# exactly the marker, no newline
i=0
while [ $i -lt 2000 ]; do echo "$M line $i"; i=$((i + 1)); done >"$src/$NAME"
cat "$src/$NAME" "$src/$NAME" "$src/$NAME" >"$src/dir-$M/repeated"
{ head -c 300000 /dev/urandom; printf %s "$M"; head -c 300000 /dev/urandom; } >"$src/dir-$M/embedded"
ln -s "$M-target" "$src/link-$M"
setfattr -n "user.$M" -v "$M" "$src/exact" 2>/dev/null

# Everything the tests below search for.
mhex=$(printf %s "$M" | hexof)
sha_hex=$(sha256sum <"$src/exact" | cut -c1-64)
# base64 of the marker at each of the 3 alignments it can have inside a
# larger encoded text: the characters that depend only on the marker.
b64_0=$(printf %s "$M" | base64 -w0 | tr -d '=' | sed 's/.$//')
b64_1=$(printf 'x%s' "$M" | base64 -w0 | tr -d '=' | sed 's/^..//; s/.$//')
b64_2=$(printf 'xx%s' "$M" | base64 -w0 | tr -d '=' | sed 's/^...//; s/.$//')

# found STRING: does any repository object contain STRING (bytewise)?
found() { grep -r -a -q -F -e "$1" "$R"; }
# found_i STRING: the same, ignoring case (hex can be either case).
found_i() { grep -r -a -q -i -F -e "$1" "$R"; }
# found_rawhex HEX: is the byte string with this hex encoding in an object?
found_rawhex() {
	for f in $(find "$R" -type f); do
		if hexof <"$f" | grep -q -F -e "$1"; then return 0; fi
	done
	return 1
}

tf init --key-name "owner-$M"; ok $? "init"
tf backup --tag "tag-$M" --host "host-$M" "$src" >/dev/null 2>"$T/err"; ok $? "backup"
printf 'second passphrase\n' >"$T/pass2"
tf key add --name "key-$M" --new-password-file "$T/pass2" >/dev/null; ok $? "key add (a second key slot and config)"

# R: the objects as files (the repository itself when it is local)
R=$(repo_files "$TWOFOLD_REPOSITORY"); ok $? "every object can be read as a file ($R)"
kinds=0
for d in keys config data index snapshots; do
	[ -n "$(find "$R/$d" -type f ! -name '.*' | head -n 1)" ] && kinds=$((kinds + 1))
done
[ $kinds -eq 5 ] && [ "$(find "$R/keys" -type f | wc -l)" -eq 2 ] &&
	[ "$(find "$R/config" -type f | wc -l)" -eq 2 ]
ok $? "objects of every kind exist (keys, config, data, index, snapshots)"

# The searches work: a control copy holding each needle is detected.
mkdir "$T/control"
{ printf 'aa%sbb\n' "$M"; printf '%s\n%s\n%s\n%s\n' "$mhex" "$b64_0" "$b64_1" "$b64_2"
  printf '%s\n' "$sha_hex"; sha256sum <"$src/exact" | cut -c1-64 | sed 's/../\\x&/g' | xargs -0 printf '%b'
} >"$T/control/obj"
( found() { grep -r -a -q -F -e "$1" "$T/control"; }
  fr() { hexof <"$T/control/obj" | grep -q -F -e "$1"; }
  found "$M" && found "$mhex" && found "$b64_0" && found "$b64_1" && found "$b64_2" &&
  found "$sha_hex" && fr "$sha_hex" && fr "$mhex" )
ok $? "control: the searches find each needle when it is present"
grep -r -a -q -F -e "$M" "$src"; ok $? "control: the marker is in the source tree"

! found "$M"; ok $? "no object contains the marker (names, contents, tags, host, key name)"
! found "$NAME"; ok $? "no object contains the file name"
! found_i "$mhex"; ok $? "no object contains the marker's hex encoding"
! found "$b64_0" && ! found "$b64_1" && ! found "$b64_2"
ok $? "no object contains the marker's base64 encoding (any alignment)"
! found_i "$sha_hex"; ok $? "no object contains the hex SHA-256 of the marker file"
! found_rawhex "$sha_hex"; ok $? "no object contains the raw SHA-256 bytes of the marker file"
! found_rawhex "$(printf %s "$NAME" | hexof)"; ok $? "no object contains the file name (binary search)"
! found "host-$M" && ! found "tag-$M" && ! found "key-$M"
ok $? "no object contains the tag, host or key name"

# The repository does hold it all: decrypting with the key gives it back.
tf cat snapshot latest >"$T/snap.json"
grep -q -F "tag-$M" "$T/snap.json" && grep -q -F "host-$M" "$T/snap.json"
ok $? "with the key, the snapshot shows the tag and host"

done_testing
