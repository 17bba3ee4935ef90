#!/bin/sh
# roundtrip: a tree with every kind of entry -- files of edge sizes, a
# sparse file, empty/0700/0555/setgid/sticky directories, symlinks of every
# kind, a hardlink group across directories, a fifo, devices, setuid and
# setgid bits, foreign owners, nanosecond mtimes and atimes, xattrs (text,
# binary, empty), hostile names and a path deeper than PATH_MAX -- backed
# up and restored, then compared with tools other than twofold, one
# aspect per check.  Also run against Azurite and Ceph RGW
# (tests/cli/core-*.sh).
. "$(dirname "$0")/lib.sh"

root=0
[ "$(id -u)" -eq 0 ] && root=1
S="$T/src"
DEPTH=72					# 72 levels of 61 bytes: > PATH_MAX
level() { printf 'd%059d' "$1"; }		# the name of level $1

# ---- build the tree ----
mkdir -p "$S/files" "$S/other" "$S/dirs/empty" "$S/links" "$S/specials" "$S/modes" \
	"$S/owners" "$S/xattr/dir" "$S/names" "$S/deeptop"
for n in 0 1 4095 4096 $((1048576 + 7)) $((12 * 1048576 + 12345)); do
	head -c $n /dev/urandom >"$S/files/f$n"
done
# sparse: holes at the start [0, 1M), in the middle and at the end
truncate -s 8M "$S/files/sparse"
dd if=/dev/urandom of="$S/files/sparse" bs=64K count=1 seek=16 conv=notrunc 2>/dev/null
dd if=/dev/urandom of="$S/files/sparse" bs=64K count=1 seek=80 conv=notrunc 2>/dev/null
# hardlinks: three names, one in another directory
head -c 5000 /dev/urandom >"$S/files/hl1"
ln "$S/files/hl1" "$S/files/hl2"
ln "$S/files/hl1" "$S/other/hl3"
# directories
mkdir "$S/dirs/private" "$S/dirs/readonly" "$S/dirs/sticky" "$S/dirs/setgid"
echo inside >"$S/dirs/readonly/inside"
echo inside >"$S/dirs/private/inside"
# symlinks
ln -s ../files/f4096 "$S/links/relative"
ln -s /etc/hostname "$S/links/absolute"
ln -s no/such/target "$S/links/dangling"
ln -s ../dirs/readonly "$S/links/to-dir"
# specials
mkfifo "$S/specials/fifo"
if [ $root -eq 1 ]; then
	mknod "$S/specials/chardev" c 1 3
	mknod "$S/specials/blockdev" b 7 0
fi
# modes
echo suid >"$S/modes/suid"
echo sgid >"$S/modes/sgid"
echo private >"$S/modes/f600"
echo readonly >"$S/modes/f444"
echo exec >"$S/modes/f711"
# owners
echo owned >"$S/owners/file"
mkdir "$S/owners/dir"
ln -s ../files/f1 "$S/owners/link"
mkfifo "$S/owners/fifo"
# xattrs: text, binary (with NUL, newline and high bytes), empty
echo x >"$S/xattr/file"
echo x >"$S/xattr/bin"
xattrs=1
setfattr -n user.test -v value "$S/xattr/file" 2>/dev/null || xattrs=0
setfattr -n user.other -v "second value" "$S/xattr/file" 2>/dev/null || xattrs=0
setfattr -n user.bin -v 0x00ff0a0d7f80fe "$S/xattr/bin" 2>/dev/null || xattrs=0
setfattr -n user.empty "$S/xattr/bin" 2>/dev/null || xattrs=0
setfattr -n user.test -v dirvalue "$S/xattr/dir" 2>/dev/null || xattrs=0
# names
nonutf=$(printf '\377\376')
nl='new
line'
n255=$(printf '%0255d' 0 | tr 0 L)
for n in "$nonutf" "$nl" "$n255" "spaces and 'single' \"double\" quotes" "-leading-dash" 'back\slash*?[x]'; do
	printf '%s\n' "$n" >"$S/names/$n"
done
mkdir "$S/names/$nonutf-dir"
echo in >"$S/names/$nonutf-dir/$nl"
# deep: DEPTH levels below deeptop, made one level at a time (a path that
# long fails in a single system call); cd -P so the shell does not build
# the whole path itself
( cd -P "$S/deeptop" || exit 1
  i=0
  while [ $i -lt $DEPTH ]; do mkdir "$(level $i)" && cd -P "$(level $i)" || exit 1; i=$((i + 1)); done
  head -c 10000 /dev/urandom >bottom.bin ) || echo "# could not build the deep tree"

# owners and modes (chown first: it clears setuid/setgid)
if [ $root -eq 1 ]; then
	chown 1234:5678 "$S/owners/file" "$S/owners/dir" "$S/owners/fifo" "$S/modes/suid"
	chown -h 1234:5678 "$S/owners/link"
fi
chmod 4755 "$S/modes/suid"
chmod 2755 "$S/modes/sgid" "$S/dirs/setgid"
chmod 1777 "$S/dirs/sticky"
chmod 0700 "$S/dirs/private"
chmod 0600 "$S/modes/f600"
chmod 0444 "$S/modes/f444"
chmod 0711 "$S/modes/f711"
chmod 0555 "$S/dirs/readonly"

# times: everything (but the deep levels) gets one mtime and atime, some
# entries their own mtime; the deep levels are set walking down; atimes
# last, as nothing may read the files after that.
( cd -P "$S/deeptop" || exit 1
  i=0
  while [ $i -lt $DEPTH ]; do
	touch -d "@$((1000000000 + i)).$(printf '%09d' $((i * 1000 + 7)))" "$(level $i)"
	cd -P "$(level $i)" || exit 1
	i=$((i + 1))
  done
  touch -m -d '2003-04-05 06:07:08.000000001' bottom.bin
  touch -a -d '2004-05-06 07:08:09.999999999' bottom.bin )
( cd "$S" && find -P . -path './deeptop/*' -prune -o -exec touch -h -d '2001-02-03 04:05:06.123456789' {} + )
touch -h -m -d '2010-01-01 00:00:00.000000001' "$S/links/relative"
touch -m -d '2011-02-03 04:05:06.987654321' "$S/files/f4096" "$S/dirs/empty" "$S/specials/fifo"
touch -m -d '1999-12-31 23:59:59.5' "$S/files/hl1"
touch -m -d '2020-02-29 12:00:00.000000999' "$S/dirs/readonly" "$S/names/$nl"
touch -m -d '1970-01-01 00:00:01.000000002' "$S/owners/file"
( cd "$S" && find -P . -path './deeptop/*' -prune -o ! -type d ! -type l \
	-exec touch -a -d '2002-03-04 05:06:07.987654321' {} + )
touch -a -d '2012-12-12 12:12:12.121212121' "$S/files/f1" "$S/specials/fifo"
touch -a -d '2013-01-01 01:01:01.000000003' "$S/names/$nonutf"

# ---- listings: nothing below reads a file before its listing is made ----
# listing DIR: one line per entry (deep levels aside), relative paths,
# newlines in names shown as '?':
#   name|type|mode|uid|gid|size|links|mtime|atime|major|minor
FMT='%n|%F|%a|%u|%g|%s|%h|%y|%x|%t|%T\0'
listing() {
	( cd "$1" && find -P . -path './deeptop/*' -prune -o -print0 | LC_ALL=C sort -z |
		xargs -0 stat --printf "$FMT" ) | tr '\n\0' '?\n'
}
# deep DIR: every level's metadata, then the bottom file's (deep_sum:
# its checksum, later, as reading it changes its atime)
deep() {
	( cd -P "$1/deeptop" || exit 1
	  i=0
	  while [ $i -lt $DEPTH ]; do
		stat -c "$i|%F|%a|%u|%g|%h|%y" "$(level $i)" || exit 1
		cd -P "$(level $i)" || exit 1
		i=$((i + 1))
	  done
	  stat -c 'bottom|%F|%a|%s|%h|%y|%x' bottom.bin )
}
deep_sum() {
	( cd -P "$1/deeptop" || exit 1
	  i=0
	  while [ $i -lt $DEPTH ]; do cd -P "$(level $i)" || exit 1; i=$((i + 1)); done
	  cksum <bottom.bin )
}
xattrs_of() {
	( cd "$1" && find -P . -path './deeptop/*' -prune -o -print0 | LC_ALL=C sort -z |
		xargs -0 getfattr -h -d -m - -e hex -- 2>&1 )
}
listing "$S" >"$T/src.list"
deep "$S" >"$T/src.deep" 2>&1
xattrs_of "$S" >"$T/src.xattr"
grep -q 'user.bin=0x00ff0a0d7f80fe' "$T/src.xattr" || xattrs=0

tf init; ok $? "init"
tf backup "$S" >/dev/null 2>"$T/backup.err"; rc=$?
ok $rc "backup of the tree (exit $rc)"
[ $rc -ne 0 ] && sed 's/^/# /' "$T/backup.err"
tf restore latest --target "$T/out" 2>"$T/restore.err"; rc=$?
ok $rc "restore into a fresh target (exit $rc)"
[ $rc -ne 0 ] && head -n 20 "$T/restore.err" | sed 's/^/# /'
R="$T/out$S"
listing "$R" >"$T/out.list" 2>/dev/null
deep "$R" >"$T/out.deep" 2>&1
xattrs_of "$R" >"$T/out.xattr" 2>/dev/null

# compare NAME AWK-PROGRAM: one view of both listings must be equal
compare() {
	awk -F'|' "$2" "$T/src.list" >"$T/src.$1"
	awk -F'|' "$2" "$T/out.list" >"$T/out.$1"
	if [ -s "$T/src.$1" ] && diff "$T/src.$1" "$T/out.$1" >"$T/diff.$1"; then return 0; fi
	head -n 10 "$T/diff.$1" | sed 's/^/# /'
	return 1
}
compare types '{ print $1 "|" $2 "|" ($2 == "directory" ? "-" : $6) }'
ok $? "every entry has its type and size (directory sizes are the file system's business)"
compare modes '{ print $1 "|" $3 }'
ok $? "modes, with setuid, setgid and sticky bits"
compare owners '{ print $1 "|" $4 "|" $5 }'
ok $? "owners and groups (numeric; 1234:5678 on some entries)"
compare links '{ print $1 "|" $7 }'
ok $? "link counts"
compare mtimes '{ print $1 "|" $8 }'
ok $? "mtimes to the nanosecond (files, directories, symlinks, fifos, devices)"
# atimes: not of directories (listing a directory changes it) nor of
# symlinks (reading a link may change it)
compare atimes '$2 != "directory" && $2 != "symbolic link" { print $1 "|" $9 }'
ok $? "atimes to the nanosecond (all but directories and symlinks)"
compare devices '$2 ~ /special/ { print $1 "|" $2 "|" $10 "|" $11 }'
ok $? "device numbers"

# contents: diff (fifos and devices are compared above; diff calls two
# fifos a difference); the deep part is compared below (diff cannot)
diff -r --no-dereference -x deeptop -x fifo -x chardev -x blockdev "$S" "$R" >"$T/diff.r" 2>&1
rc=$?
ok $rc "contents and symlink targets are identical (diff -r --no-dereference)"
[ $rc -eq 0 ] || head -n 10 "$T/diff.r" | sed 's/^/# /'
( cd "$S" && find -P . -path './deeptop/*' -prune -o -type l -print0 | LC_ALL=C sort -z | xargs -0 -n1 readlink ) >"$T/src.rl"
( cd "$R" && find -P . -path './deeptop/*' -prune -o -type l -print0 | LC_ALL=C sort -z | xargs -0 -n1 readlink ) >"$T/out.rl" 2>/dev/null
[ -s "$T/src.rl" ] && cmp -s "$T/src.rl" "$T/out.rl"
ok $? "symlinks: relative, absolute, dangling and to a directory, same targets"

[ -f "$R/names/$nonutf" ] && [ -f "$R/names/$nl" ] && [ -f "$R/names/$n255" ] &&
	[ -f "$R/names/-leading-dash" ] && [ -f "$R/names/spaces and 'single' \"double\" quotes" ] &&
	[ -f "$R/names/back\\slash*?[x]" ] && [ -f "$R/names/$nonutf-dir/$nl" ] &&
	[ "$(cat "$R/names/$n255")" = "$n255" ]
ok $? "hostile names: non-UTF-8, newline, 255 bytes, quotes, leading dash, glob characters"

inodes=$(stat -c %i "$R/files/hl1" "$R/files/hl2" "$R/other/hl3" 2>/dev/null | sort -u | wc -l)
others=$(stat -c %i "$R/files/hl1" "$R/files/f4095" 2>/dev/null | sort -u | wc -l)
[ "$inodes" -eq 1 ] && [ "$others" -eq 2 ] && [ "$(stat -c %h "$R/other/hl3")" -eq 3 ]
ok $? "the hardlink group (3 names, 2 directories) is one inode again"

src_alloc=$(du -k "$S/files/sparse" | cut -f1)
src_app=$(du -k --apparent-size "$S/files/sparse" | cut -f1)
out_alloc=$(du -k "$R/files/sparse" 2>/dev/null | cut -f1)
out_app=$(du -k --apparent-size "$R/files/sparse" 2>/dev/null | cut -f1)
[ "$src_alloc" -lt $((src_app / 4)) ] && [ "${out_app:-0}" -eq "$src_app" ] &&
	[ "${out_alloc:-99999999}" -le $((src_alloc + 8)) ]
ok $? "the sparse file keeps its holes (source ${src_alloc}K, restored ${out_alloc:-?}K of ${src_app}K)"

if [ $xattrs -eq 1 ]; then
	diff "$T/src.xattr" "$T/out.xattr" >"$T/diff.xattr" 2>&1
	rc=$?
	ok $rc "xattrs (text, binary, empty; files and directories) are identical (getfattr)"
	[ $rc -eq 0 ] || head -n 10 "$T/diff.xattr" | sed 's/^/# /'
else
	ok 0 "xattrs: skipped (the file system does not take user xattrs)"
fi

deep_sum "$S" >>"$T/src.deep" 2>&1
deep_sum "$R" >>"$T/out.deep" 2>&1
[ "$(wc -l <"$T/src.deep")" -eq $((DEPTH + 2)) ] && cmp -s "$T/src.deep" "$T/out.deep"
ok $? "the path deeper than PATH_MAX: every level's metadata and the bottom file"

tf check --read-data 2>"$T/check.err"; ok $? "check --read-data passes"

done_testing
