#!/bin/sh
# stages: bench/stages (the stage limits bench/run.sh prints) counts the
# tree it is given, finds its duplicate chunks, writes packs that hold
# the unique data, and refuses an existing output directory.
. "$(dirname "$0")/lib.sh"

ST=$TWOFOLD_TOP/${BUILD:-build}/bench/stages
MiB=1048576

random_files "$T/tree" 3 $((3 * MiB))
cp "$T/tree/f0" "$T/tree/copy"			# all its chunks are duplicates
mkdir "$T/tree/sub"
printf 'small\n' >"$T/tree/sub/s"
ln -s f0 "$T/tree/link"				# not a regular file: not counted

"$ST" -j 2 "$T/tree" "$T/out" >"$T/o" 2>"$T/e"
ok $? "stages runs on a small tree"
grep -q "^5 files, 12.6 MB, 2 threads, zstd level 1, median of 3 runs$" "$T/o"
ok $? "it counts the regular files and their bytes"
for s in walk read chunk hash compress seal write; do
	grep -q "^$s  *[0-9][0-9]*\.[0-9]* s" "$T/o" || break
done
ok $? "it prints a time for every stage"
# copy's chunks are f0's: fewer unique chunks, 9.4 MB of them
nch=$(sed -n 's/^\([0-9]*\) chunks, \([0-9]*\) unique (\([0-9.]*\) MB)$/\1 \2 \3/p' "$T/o")
set -- $nch
[ $# -eq 3 ] && [ "$2" -lt "$1" ] && [ "$3" = 9.4 ]
ok $? "the copy's chunks are duplicates, the rest unique ($nch)"
# random data stays raw: packs hold 9 MiB + 6 bytes + a 16-byte tag per blob
npk=$(find "$T/out/data" -type f | wc -l)
bytes=$(find "$T/out/data" -type f -exec cat {} + | wc -c)
[ "$npk" -ge 1 ] && [ "$bytes" -eq $((9 * MiB + 6 + 16 * ${2:-0})) ]
ok $? "the packs in OUTDIR hold the unique data once ($npk packs, $bytes bytes)"
grep -q "^slowest stage: [a-z]*, [0-9.]* s; all stages one after another: [0-9.]* s\$" "$T/o"
ok $? "it names the slowest stage and the sum"

"$ST" "$T/tree" "$T/out" >/dev/null 2>"$T/e2"
[ $? -ne 0 ] && grep -q "must not exist" "$T/e2"
ok $? "an existing output directory is refused"
"$ST" "$T/tree" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "a missing argument is a usage error (exit 2)"

done_testing
