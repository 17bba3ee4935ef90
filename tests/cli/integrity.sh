#!/bin/sh
# integrity: every kind of damage to every kind of object is found and
# named.  For a pack, an index, a snapshot, the config and a key slot, in
# a fresh copy of a good repository: flip one byte in the middle, cut a
# few bytes off the end, or delete the object; `check --read-data` must
# fail (10; 1 when the repository cannot be opened at all: config, key
# slot) and name the object.  Pack damage: `restore` fails, names the
# affected file and still restores, bit-exact, the files whose data lives
# in the other pack.  Also run against Azurite and Ceph RGW
# (tests/cli/core-*.sh): the objects are then damaged through the store
# (tests/tools/objtool: fetched, changed, deleted and stored again).
. "$(dirname "$0")/lib.sh"

REPO=$TWOFOLD_REPOSITORY
newer() { comm -13 "$1" "$2"; }		# lines only in the second list
# flip FILE OFFSET: change the byte at OFFSET to another value.
flip() {
	fl_old=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	fl_new=$(((fl_old + 1) % 256))
	printf "$(printf '\\%03o' "$fl_new")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
fsize() { stat -c %s "$1"; }
# damage_obj REPO OBJECT HOW: flip a byte (in the middle, or at $mid of
# P1), cut 5 bytes off the end, or delete the object
damage_obj() {
	if [ "$3" = delete ]; then
		obj_delete "$1" "$2"
		return
	fi
	obj_get "$1" "$2" "$T/obj" || return 1
	case $3 in
	flip) if [ "$2" = "$P1" ]; then flip "$T/obj" "$mid"; else flip "$T/obj" $(($(fsize "$T/obj") / 2)); fi ;;
	truncate) truncate -s -5 "$T/obj" ;;
	esac
	obj_put "$1" "$2" "$T/obj"
}

# A good repository: backup 1 holds batch A (its data in pack P1), backup
# 2 adds batch B (data in a new pack P2).  The A file lies directly in
# src, whose tree changes in backup 2, so every tree of snapshot 2 is in
# P2 and damage to P1 affects only A's data.
mkdir -p "$T/src"
head -c 3000000 /dev/urandom >"$T/src/a.bin"
tf init || exit 1
objs "$REPO" >"$T/o0"
tf backup "$T/src" >/dev/null || exit 1
objs "$REPO" >"$T/o1"
mkdir "$T/src/bdir"
head -c 1500000 /dev/urandom >"$T/src/b1.bin"
echo "batch b" >"$T/src/b2.txt"
head -c 700000 /dev/urandom >"$T/src/bdir/b3.bin"
: >"$T/src/bdir/b4-empty"
tf backup "$T/src" >/dev/null || exit 1
objs "$REPO" >"$T/o2"

K=$(grep '^keys/' "$T/o0")
C=$(grep '^config/' "$T/o0")
P1=$(newer "$T/o0" "$T/o1" | grep '^data/')
I1=$(newer "$T/o0" "$T/o1" | grep '^index/')
S1=$(newer "$T/o0" "$T/o1" | grep '^snapshots/')
P2=$(newer "$T/o1" "$T/o2" | grep '^data/')
[ "$(echo "$K" | wc -w)" -eq 1 ] && [ "$(echo "$C" | wc -w)" -eq 1 ] &&
	[ "$(echo "$P1" | wc -w)" -eq 1 ] && [ "$(echo "$I1" | wc -w)" -eq 1 ] &&
	[ "$(echo "$S1" | wc -w)" -eq 1 ] && [ "$(echo "$P2" | wc -w)" -eq 1 ]
ok $? "the repository holds one key slot, one config, and a pack, index and snapshot per backup"

GOOD=$(repo_at good)
repo_copy "$REPO" "$GOOD"
tf -r "$GOOD" check --read-data 2>"$T/err"; ok $? "control: the undamaged copy passes check --read-data"

# The middle of the largest data blob of P1, from `cat index` of I1 (its
# only pack); the middle of the pack if that cannot be read.
tf cat index "$(basename "$I1")" 2>/dev/null | tr '{' '\n' | grep '"type":"data"' |
	sed -n 's/.*"offset":\([0-9]*\),"length":\([0-9]*\).*/\2 \1/p' | sort -n | tail -n 1 >"$T/blob"
read -r blen boff <"$T/blob" 2>/dev/null
mid=$(($(obj_size "$REPO" "$P1") / 2))
[ -n "${boff:-}" ] && mid=$((boff + blen / 2))

# damage COPY OBJECT HOW: a fresh copy of the good repository, damaged.
damage() {
	repo_copy "$GOOD" "$1"
	damage_obj "$1" "$2" "$3"
}

for how in flip truncate delete; do
	for kind in pack index snapshot config keyslot; do
		case $kind in
		pack) obj=$P1 ;; index) obj=$I1 ;; snapshot) obj=$S1 ;; config) obj=$C ;; keyslot) obj=$K ;;
		esac
		name=$(basename "$obj")
		r="$T/r-$kind-$how"
		rr=$(repo_at "r-$kind-$how")
		damage "$rr" "$obj" $how
		tf -r "$rr" check --read-data >/dev/null 2>"$r.err"
		rc=$?
		case $kind-$how in
		snapshot-delete)
			# A deleted snapshot leaves no trace by design (nothing
			# refers to a snapshot; prune deletes them the same way;
			# the "Two copies" issue adds a witness).  What must hold:
			# the rest of the repository is still whole.
			[ $rc -eq 0 ] && [ "$(tf -r "$rr" --json snapshots 2>/dev/null | grep -o '"id"' | wc -l)" -eq 1 ]
			ok $? "snapshot deleted: the other snapshot remains and check passes (exit $rc)" ;;
		config-delete | keyslot-delete)
			[ $rc -eq 1 ] && grep -q -i -e "no config" -e "no key slot" "$r.err"
			ok $? "$kind deleted: check cannot open the repository, exit 1 with a clear message (exit $rc)" ;;
		config-* | keyslot-*)
			[ $rc -eq 1 ] && grep -q -F "$name" "$r.err"
			ok $? "$kind $how: check exits 1 and names $obj (exit $rc)" ;;
		index-delete)
			# the index's name cannot be known once it is gone; what it
			# indexed is reported missing
			[ $rc -eq 10 ] && grep -q -i "missing" "$r.err"
			ok $? "index deleted: check exits 10 and reports what is missing (exit $rc)" ;;
		*)
			[ $rc -eq 10 ] && grep -q -F "$name" "$r.err"
			ok $? "$kind $how: check --read-data exits 10 and names $obj (exit $rc)" ;;
		esac
	done

	# Restore of snapshot 2 from a repository whose pack P1 is damaged.
	rr=$(repo_at "r-pack-$how")
	out="$T/out-$how"
	tf -r "$rr" restore latest --target "$out" >/dev/null 2>"$out.err"
	rc=$?
	s="$out$T/src"
	cmp -s "$T/src/b1.bin" "$s/b1.bin" && cmp -s "$T/src/b2.txt" "$s/b2.txt" &&
		cmp -s "$T/src/bdir/b3.bin" "$s/bdir/b3.bin" && [ -f "$s/bdir/b4-empty" ] &&
		[ ! -s "$s/bdir/b4-empty" ]
	ok $? "pack $how: restore still restores the files of the other pack bit-exact"
	! [ -e "$s/a.bin" ] || cmp -s "$T/src/a.bin" "$s/a.bin"
	ok $? "pack $how: the damaged file is not restored with wrong content"
	if [ $how = truncate ]; then
		# Cutting the end damages only the footer and padding: restore
		# may read every blob; it must then be complete and exact.
		{ [ $rc -ne 0 ] && grep -q "a.bin" "$out.err"; } ||
			{ [ $rc -eq 0 ] && cmp -s "$T/src/a.bin" "$s/a.bin"; }
		ok $? "pack truncate: restore either names a.bin and fails, or restores it exactly (exit $rc)"
	else
		[ $rc -ne 0 ] && grep -q "a.bin" "$out.err"
		ok $? "pack $how: restore exits non-zero and names the affected file (exit $rc)"
	fi
done

# A damaged second key slot: the repository opens with the first one,
# and check must still report the damaged slot.
r="$T/r-slot2"
rr=$(repo_at r-slot2)
repo_copy "$GOOD" "$rr"
printf 'second passphrase\n' >"$T/pass2"
tf -r "$rr" key add --name second --new-password-file "$T/pass2" >/dev/null 2>&1
K2=$(objs "$rr" | grep '^keys/' | grep -v -F "$K")
if [ "$(echo "$K2" | wc -w)" -eq 1 ]; then
	damage_obj "$rr" "$K2" flip
	tf -r "$rr" check --read-data >/dev/null 2>"$r.err"
	rc=$?
	[ $rc -eq 10 ] && grep -q -F "$(basename "$K2")" "$r.err"
	ok $? "another key slot damaged: check exits 10 and names it (exit $rc)"
else
	ok 1 "another key slot damaged: key add did not make a second slot"
fi

done_testing
