#!/bin/sh
# integrity: every kind of damage to every kind of object is found and
# named.  For a pack, an index, a snapshot, the config and a key slot, in
# a fresh copy of a good repository: flip one byte in the middle, cut a
# few bytes off the end, or delete the object; `check --read-data` must
# fail (10; 1 when the repository cannot be opened at all: config, key
# slot) and name the object.  Pack damage: `restore` fails, names the
# affected file and still restores, bit-exact, the files whose data lives
# in the other pack.
. "$(dirname "$0")/lib.sh"

objs() { (cd "$T/repo" && find keys config data index snapshots -type f ! -name '.*' | sort); }
newer() { comm -13 "$1" "$2"; }		# lines only in the second list
# flip FILE OFFSET: change the byte at OFFSET to another value.
flip() {
	fl_old=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	fl_new=$(((fl_old + 1) % 256))
	printf "$(printf '\\%03o' "$fl_new")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
fsize() { stat -c %s "$1"; }

# A good repository: backup 1 holds batch A (its data in pack P1), backup
# 2 adds batch B (data in a new pack P2).  The A file lies directly in
# src, whose tree changes in backup 2, so every tree of snapshot 2 is in
# P2 and damage to P1 affects only A's data.
mkdir -p "$T/src"
head -c 3000000 /dev/urandom >"$T/src/a.bin"
tf init || exit 1
objs >"$T/o0"
tf backup "$T/src" >/dev/null || exit 1
objs >"$T/o1"
mkdir "$T/src/bdir"
head -c 1500000 /dev/urandom >"$T/src/b1.bin"
echo "batch b" >"$T/src/b2.txt"
head -c 700000 /dev/urandom >"$T/src/bdir/b3.bin"
: >"$T/src/bdir/b4-empty"
tf backup "$T/src" >/dev/null || exit 1
objs >"$T/o2"

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

cp -a "$T/repo" "$T/good"
tf -r "$T/good" check --read-data 2>"$T/err"; ok $? "control: the undamaged copy passes check --read-data"

# The middle of the largest data blob of P1, from `cat index` of I1 (its
# only pack); the middle of the pack if that cannot be read.
tf cat index "$(basename "$I1")" 2>/dev/null | tr '{' '\n' | grep '"type":"data"' |
	sed -n 's/.*"offset":\([0-9]*\),"length":\([0-9]*\).*/\2 \1/p' | sort -n | tail -n 1 >"$T/blob"
read -r blen boff <"$T/blob" 2>/dev/null
mid=$(($(fsize "$T/repo/$P1") / 2))
[ -n "${boff:-}" ] && mid=$((boff + blen / 2))

# damage COPY OBJECT HOW: a fresh copy of the good repository, damaged.
damage() {
	rm -rf "$1"
	cp -a "$T/good" "$1"
	case $3 in
	flip) if [ "$2" = "$P1" ]; then flip "$1/$2" "$mid"; else flip "$1/$2" $(($(fsize "$1/$2") / 2)); fi ;;
	truncate) truncate -s -5 "$1/$2" ;;
	delete) rm -f "$1/$2" ;;
	esac
}

for how in flip truncate delete; do
	for kind in pack index snapshot config keyslot; do
		case $kind in
		pack) obj=$P1 ;; index) obj=$I1 ;; snapshot) obj=$S1 ;; config) obj=$C ;; keyslot) obj=$K ;;
		esac
		name=$(basename "$obj")
		r="$T/r-$kind-$how"
		damage "$r" "$obj" $how
		tf -r "$r" check --read-data >/dev/null 2>"$r.err"
		rc=$?
		case $kind-$how in
		snapshot-delete)
			# A deleted snapshot leaves no trace by design (nothing
			# refers to a snapshot; prune deletes them the same way;
			# the "Two copies" issue adds a witness).  What must hold:
			# the rest of the repository is still whole.
			[ $rc -eq 0 ] && [ "$(tf -r "$r" --json snapshots 2>/dev/null | grep -o '"id"' | wc -l)" -eq 1 ]
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
	r="$T/r-pack-$how"
	out="$T/out-$how"
	tf -r "$r" restore latest --target "$out" >/dev/null 2>"$out.err"
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
rm -rf "$r"
cp -a "$T/good" "$r"
printf 'second passphrase\n' >"$T/pass2"
tf -r "$r" key add --name second --new-password-file "$T/pass2" >/dev/null 2>&1
K2=$(cd "$r" && find keys -type f ! -name '.*' | grep -v -F "$K")
if [ "$(echo "$K2" | wc -w)" -eq 1 ]; then
	flip "$r/$K2" $(($(fsize "$r/$K2") / 2))
	tf -r "$r" check --read-data >/dev/null 2>"$r.err"
	rc=$?
	[ $rc -eq 10 ] && grep -q -F "$(basename "$K2")" "$r.err"
	ok $? "another key slot damaged: check exits 10 and names it (exit $rc)"
else
	ok 1 "another key slot damaged: key add did not make a second slot"
fi

done_testing
