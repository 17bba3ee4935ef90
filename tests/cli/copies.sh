#!/bin/sh
# copies: one repository on a local directory and in the cloud (Azurite),
# later a third copy in Ceph RGW.  A pack deleted from the cloud copy and a
# byte flipped in the local copy: restore stays bit-exact from the other
# copy, check names object and copy, repair heals, check --copies is clean.
# The newest snapshot or config deleted from the cloud copy: the witness
# reports a rollback (exit 11) on snapshots, backup and check.  The cloud
# store stopped during a backup: the backup completes on the local copy
# (exit 12, with a warning); sync makes the cloud copy whole.  The whole
# local copy deleted: every snapshot restores from the cloud alone, and
# 'copy add' recreates the local copy.  A third copy is filled and verified.
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/azurite.sh"
. "$TWOFOLD_TOP/tests/servers/rgw.sh"
RGW_ON_EXIT='azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"'
OBJ=$TWOFOLD_TOP/${BUILD:-build}/tools/objtool

azurite_start; ok $? "Azurite starts on 127.0.0.1:$AZURITE_PORT"
rgw_start; ok $? "Ceph RGW starts"
[ -n "$RGW_PIDS" ] || done_testing
export TWOFOLD_HTTP_RETRIES=2		# fail fast while a store is down
unset TWOFOLD_REPOSITORY
L=$T/local
A="azure://$AZURITE_ACCOUNT/copies/repo"
S="s3://copies-$$/repo"
two() { tf -r "$L" -r "$A" "$@"; }

random_files "$T/src" 3 12582912
echo small >"$T/src/small"
two init; ok $? "init creates the local and the cloud copy at once"
two backup "$T/src" >/dev/null; ok $? "backup writes both copies"
[ "$("$OBJ" "$A" list data/ | wc -l)" -ge 2 ] && [ "$("$OBJ" "$A" list | wc -l)" = "$("$OBJ" "$L" list | wc -l)" ]
ok $? "both copies hold the same objects (several packs)"
two --json stats >"$T/stats.json" 2>/dev/null &&
    [ "$(grep -o '"url":"[^"]*"' "$T/stats.json" | sort -u | wc -l)" -eq 2 ] &&
    grep -q "\"copies\":\[{\"url\":\"$L\"" "$T/stats.json"
ok $? "stats reports every copy"

same() { # same OUTDIR: the restore of src in OUTDIR is identical
	diff -r "$T/src" "$1$T/src" >/dev/null
}

# -- a pack deleted from the cloud copy
pack=$("$OBJ" "$A" list data/ | head -1 | cut -d' ' -f1)
"$OBJ" "$A" delete "$pack"; ok $? "a pack is deleted from the cloud copy"
"$TWOFOLD_BIN" -r "$A" check --read-data >/dev/null 2>&1
[ $? -eq 10 ]; ok $? "the cloud copy alone fails check (exit 10)"
two restore latest --target "$T/r1" >/dev/null 2>&1 && same "$T/r1"
ok $? "restore is bit-exact (the local copy serves)"
two check --copies >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 10 ] && grep -q "copy $A lacks $pack" "$T/err"
ok $? "check --copies exits 10 and names the object and the copy ($rc)"
two repair >/dev/null 2>&1; ok $? "repair heals the cloud copy"
two check --copies >/dev/null 2>&1; ok $? "check --copies is clean"
"$OBJ" "$A" get "$pack" | cmp -s - "$L/$pack"; ok $? "the pack is back, byte for byte"

# -- a byte flipped in an object of the local copy (the largest pack: the
# last by name can be the small one that ends a backup, shorter than the
# byte's offset, and which pack that is depends on thread scheduling)
lpack=$("$OBJ" "$L" list data/ | sort -k2,2n | tail -1 | cut -d' ' -f1)
printf 'X' | dd of="$L/$lpack" bs=1 seek=4096 conv=notrunc 2>/dev/null
two restore latest --target "$T/r2" >/dev/null 2>&1 && same "$T/r2"
ok $? "restore is bit-exact (the cloud copy serves the damaged pack)"
two restore latest --target "$T/r3" --json 2>/dev/null >"$T/r3.json"
grep -q "\"copy\":\"$A\"" "$T/r3.json" && grep -q '"damaged":1' "$T/r3.json"
ok $? "restore --json says which copy served what"
two check --read-data >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 10 ] && grep -q "$lpack in copy $L is damaged" "$T/err"
ok $? "check --read-data exits 10 and names the damaged object and copy ($rc)"
two repair >/dev/null 2>&1; ok $? "repair rewrites it"
two check --copies >/dev/null 2>&1 && two check --read-data >/dev/null 2>&1
ok $? "check --copies and check --read-data are clean"

# -- rollback: the newest snapshot deleted from the cloud copy
echo second >"$T/src/second"
two backup "$T/src" >/dev/null; ok $? "a second backup"
newest=$(ls -t "$L/snapshots" | head -1)
"$OBJ" "$A" get "snapshots/$newest" >"$T/snap.bytes"
"$OBJ" "$A" delete "snapshots/$newest"
for cmd in snapshots "backup $T/src" check; do
	# shellcheck disable=SC2086
	two $cmd >/dev/null 2>"$T/err"
	rc=$?
	[ $rc -eq 11 ] && grep -q "ROLLBACK: snapshot ${newest%"${newest#????????????????}"} was on copy $A" "$T/err"
	ok $? "'$cmd' reports the deleted snapshot on the cloud copy (exit $rc)"
done
"$TWOFOLD_BIN" -r "$A" snapshots >/dev/null 2>&1
[ $? -eq 11 ]; ok $? "so does the cloud copy opened alone"
two repair >/dev/null 2>&1 && two snapshots >/dev/null 2>&1
ok $? "repair puts it back; snapshots is clean again"

# -- rollback: the newest config deleted from the cloud copy
printf 'other pass\n' >"$T/pass2"
two key add --new-password-file "$T/pass2" --name second >/dev/null 2>&1
ok $? "key add writes config 2 to both copies"
cfg=$("$OBJ" "$A" list config/ | tail -1 | cut -d' ' -f1)
"$OBJ" "$A" delete "$cfg"
two snapshots >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 11 ] && grep -q "copy $A serves config 1" "$T/err"
ok $? "a cloud copy serving an older config is reported (exit $rc)"
two repair >/dev/null 2>&1 && two snapshots >/dev/null 2>&1
ok $? "repair restores the config; clean again"

# -- forget: signed forget records tell a forget from a rollback
first=$(two --json snapshots | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
"$OBJ" "$A" get "snapshots/$first" >"$T/first.bytes"
H2=$T/host2-cache
XDG_CACHE_HOME=$H2 two snapshots >/dev/null 2>&1; ok $? "a second host witnesses the copies"
two forget "$first" >/dev/null 2>&1; ok $? "forget removes the oldest snapshot"
rec=$("$OBJ" "$A" list forgotten/ | cut -d' ' -f1)
[ -n "$rec" ] && "$OBJ" "$L" get "$rec" >"$T/rec.bytes"; ok $? "it wrote a forget record to both copies"
# without the record, the other host must see a deletion
"$OBJ" "$L" delete "$rec" && "$OBJ" "$A" delete "$rec"
XDG_CACHE_HOME=$H2 two snapshots >/dev/null 2>"$T/err"
[ $? -eq 11 ] && grep -q "ROLLBACK: snapshot ${first%"${first#????????????????}"} was on copy" "$T/err"
ok $? "without a forget record, the other host reports the vanished snapshot"
# a record with a broken signature is no excuse
cp "$T/rec.bytes" "$T/forged.bytes"
size=$(wc -c <"$T/forged.bytes")
last=$(tail -c 1 "$T/forged.bytes" | od -An -to1 | tr -d ' ')
[ "$last" = 001 ] && b='\002' || b='\001'
printf "$b" | dd of="$T/forged.bytes" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
forged="forgotten/$(sha256sum "$T/forged.bytes" | cut -c1-64)"
"$OBJ" "$A" put "$forged" <"$T/forged.bytes"
XDG_CACHE_HOME=$H2 two snapshots >/dev/null 2>"$T/err"
[ $? -eq 11 ] && grep -q "is not signed by an owner key" "$T/err"
ok $? "a forget record with a broken signature is rejected and the deletion still reported"
"$OBJ" "$A" delete "$forged"
"$OBJ" "$L" put "$rec" <"$T/rec.bytes" && "$OBJ" "$A" put "$rec" <"$T/rec.bytes"
XDG_CACHE_HOME=$H2 two snapshots >/dev/null 2>&1; ok $? "with the genuine record, the other host accepts the forget"
# a forgotten snapshot put back on the cloud copy is a rollback, for both hosts
"$OBJ" "$A" put "snapshots/$first" <"$T/first.bytes"
two snapshots >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 11 ] && grep -q "forgotten before, is back on copy $A" "$T/err"
ok $? "the forgotten snapshot put back on the cloud copy is reported (exit $rc)"
XDG_CACHE_HOME=$H2 two snapshots >/dev/null 2>&1
[ $? -eq 11 ]; ok $? "by the other host too"
two forget "$first" >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "forget refuses to act while a copy is rolled back"
"$OBJ" "$A" delete "snapshots/$first"
two snapshots >/dev/null 2>&1; ok $? "once it is gone again, snapshots is clean"

# -- the cloud store stops during a backup
# (96 MiB, six packs or so: the server is stopped once the first new pack
# is on the local copy, not after a fixed time that a fast machine beats)
random_files "$T/src/more" 8 12582912
npacks=$(find "$L/data" -type f | wc -l)
TWOFOLD_THREADS=1 "$TWOFOLD_BIN" -r "$L" -r "$A" -q backup "$T/src" >/dev/null 2>"$T/err" &
pid=$!
i=0
while [ "$(find "$L/data" -type f | wc -l)" -le "$npacks" ] && [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill "$AZURITE_PID"
wait "$AZURITE_PID" 2>/dev/null
wait $pid
rc=$?
[ $rc -eq 12 ] && grep -q "copy $A was unreachable" "$T/err"
ok $? "the backup completes on the local copy with a warning (exit $rc)"
sed 's/^/# /' "$T/err" | tail -2
"$TWOFOLD_BIN" -r "$L" -q restore latest --target "$T/r4" >/dev/null 2>&1 && same "$T/r4"
ok $? "its snapshot restores from the local copy"
two forget --keep-last 1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -Eq "unreachable or behind|run 'twofold sync' first" "$T/err"
ok $? "forget refuses while a copy is unreachable"
azurite_restart
two copies >/dev/null 2>&1
[ $? -eq 12 ]; ok $? "copies reports the cloud copy behind (exit 12)"
two forget --keep-last 1 >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q "run 'twofold sync' first" "$T/err"
ok $? "forget refuses while a copy lacks objects"
two sync >/dev/null 2>&1; ok $? "sync catches the cloud copy up"
two check --copies >/dev/null 2>&1; ok $? "check --copies is clean"
two copies >/dev/null 2>&1; ok $? "copies is clean"

# -- the whole local copy lost
n_snaps=$(ls "$L/snapshots" | wc -l)
rm -rf "$L"
[ "$("$TWOFOLD_BIN" -r "$A" --json snapshots | grep -o '"id"' | wc -l)" -eq "$n_snaps" ]
ok $? "the cloud copy alone lists the $n_snaps snapshots"
good=0
for id in $("$TWOFOLD_BIN" -r "$A" --json snapshots | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4); do
	tf -r "$A" restore "$id" --target "$T/all/$id" >/dev/null 2>&1 && good=$((good + 1))
done
[ $good -eq "$n_snaps" ] && same "$T/all/$id"; ok $? "every snapshot restores from the cloud copy alone"
tf -r "$A" copy add "$L" >/dev/null 2>&1; ok $? "copy add recreates the local copy"
[ "$("$OBJ" "$A" list | grep -vc '^locks/')" = "$("$OBJ" "$L" list | grep -vc '^locks/')" ]
ok $? "it holds every object (locks/ aside)"
two check --copies >/dev/null 2>&1; ok $? "check --copies is clean"

# -- what each copy's credential may do
printf 'backup host\n' >"$T/wopass"
two key add --write-only --new-password-file "$T/wopass" --name host >/dev/null 2>&1
TWOFOLD_PASSWORD_FILE=$T/wopass "$TWOFOLD_BIN" -r "$L" -r "$A" copies --check-access >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 13 ] && grep -q "WARNING: this is a backup host" "$T/err" &&
    grep -q "^$A: list yes, read yes, create yes, overwrite yes, delete yes" "$T/out"
ok $? "with the account key, a backup host is warned that its credential can delete (exit $rc)"
grep -q "for copy $L" "$T/err"; [ $? -ne 0 ]; ok $? "its own local disk is not warned about"
ACC=$AZURE_STORAGE_CONNECTION_STRING
unset AZURE_STORAGE_CONNECTION_STRING
export AZURE_STORAGE_ACCOUNT=$AZURITE_ACCOUNT AZURE_STORAGE_BLOB_ENDPOINT=$AZURITE_URL
export AZURE_STORAGE_SAS_TOKEN="$(azurite_sas copies rcl "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)")"
TWOFOLD_PASSWORD_FILE=$T/wopass "$TWOFOLD_BIN" -r "$L" -r "$A" copies --check-access >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && grep -q "^$A: list yes, read yes, create yes, overwrite no, delete no" "$T/out"
ok $? "a SAS with rcl can list, read and create, not overwrite or delete: no warning ($rc)"
TWOFOLD_PASSWORD_FILE=$T/wopass "$TWOFOLD_BIN" -q -r "$L" -r "$A" backup "$T/src" >/dev/null 2>&1
ok $? "and it is enough for a backup host to back up to both copies"
unset AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_ACCOUNT AZURE_STORAGE_BLOB_ENDPOINT
export AZURE_STORAGE_CONNECTION_STRING=$ACC

# -- several copies from TWOFOLD_REPOSITORY, or named in the config file
TWOFOLD_REPOSITORY="$L $A" tf copies >/dev/null 2>&1; ok $? "TWOFOLD_REPOSITORY names both copies"
env | grep '^AZURE_STORAGE_CONNECTION_STRING=' >"$T/az.env"
chmod 600 "$T/az.env"
cat >"$T/config" <<EOF
# test config
[other]
copy = /nonexistent
[home]
copy = $L
copy = $A
credentials = $T/az.env
password-file = $T/pass
EOF
TWOFOLD_CONFIG=$T/config env -u AZURE_STORAGE_CONNECTION_STRING -u TWOFOLD_PASSWORD_FILE \
    "$TWOFOLD_BIN" -q -r home check --copies >/dev/null 2>"$T/err"
ok $? "a repository named in the config file, cloud credentials from its file"
TWOFOLD_CONFIG=$T/config env -u AZURE_STORAGE_CONNECTION_STRING "$TWOFOLD_BIN" -q -r "$A" snapshots >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "without the credentials file the cloud copy cannot be opened (they were not left in the environment)"

# -- a third copy
two copy add "$S" >/dev/null 2>&1; ok $? "copy add fills and verifies a third copy in S3"
tf -r "$L" -r "$A" -r "$S" check --copies >/dev/null 2>&1; ok $? "check --copies over three copies is clean"
tf -r "$S" restore latest --target "$T/r5" >/dev/null 2>&1 && same "$T/r5"
ok $? "the third copy alone restores bit-exact"
three() { tf -r "$L" -r "$A" -r "$S" "$@"; }
spack=$("$OBJ" "$S" list data/ | head -1 | cut -d' ' -f1)
"$OBJ" "$S" delete "$spack"
three check --copies >/dev/null 2>"$T/err"
[ $? -eq 10 ] && grep -q "copy $S lacks $spack" "$T/err"
ok $? "a pack deleted from the S3 copy is named by check --copies"
newest=$(ls -t "$L/snapshots" | head -1)
"$OBJ" "$S" delete "snapshots/$newest"
three snapshots >/dev/null 2>"$T/err"
[ $? -eq 11 ] && grep -q "was on copy $S" "$T/err"
ok $? "the newest snapshot deleted from the S3 copy is a rollback (exit 11)"
three repair >/dev/null 2>&1 && three check --copies >/dev/null 2>&1 && three snapshots >/dev/null 2>&1
ok $? "repair heals the S3 copy; check --copies and snapshots are clean"

# -- forget and prune act on every copy
before=$("$OBJ" "$S" list data/ | wc -l)
three forget --keep-last 1 >/dev/null 2>&1 && three prune --grace 0 >/dev/null 2>&1
ok $? "forget --keep-last 1 and prune over three copies"
nl=$("$OBJ" "$L" list data/ | wc -l); na=$("$OBJ" "$A" list data/ | wc -l); ns=$("$OBJ" "$S" list data/ | wc -l)
[ "$nl" -eq "$na" ] && [ "$na" -eq "$ns" ] && [ "$ns" -lt "$before" ]
ok $? "every copy lost the same unreferenced packs ($before -> $nl, $na, $ns)"
three check --copies >/dev/null 2>&1 && three check --read-data >/dev/null 2>&1
ok $? "check --copies and check --read-data are clean after prune"
three restore latest --target "$T/r6" >/dev/null 2>&1 && same "$T/r6"
ok $? "the kept snapshot restores bit-exact"

# -- cloud credential rotation touches configuration only (S3 access keys)
NEWKEY=TWOFOLDTESTKEY0002
NEWSECRET=rotated-secret-$$
rgw_admin key create --uid=twofold --key-type=s3 --access-key=$NEWKEY --secret=$NEWSECRET >/dev/null 2>&1
ok $? "a second access key for the S3 user"
printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$NEWKEY" "$NEWSECRET" >"$T/s3new.env"
chmod 600 "$T/s3new.env"
cat >"$T/config" <<EOF
[rot]
copy = $L
copy = $A
credentials = $T/az.env
copy = $S
credentials = $T/s3new.env
EOF
echo rotated >"$T/src/rotated"
TWOFOLD_CONFIG=$T/config tf -r rot backup "$T/src" >/dev/null 2>&1
ok $? "while both keys are valid, the new one (from the credentials file) backs up"
three snapshots >/dev/null 2>&1; ok $? "and the old one (environment) still works"
rgw_admin key rm --uid=twofold --key-type=s3 --access-key="$AWS_ACCESS_KEY_ID" >/dev/null 2>&1
ok $? "the old access key is removed"
tf -r "$S" snapshots >/dev/null 2>"$T/err"
rc=$?
sed 's/^/# /' "$T/err" | head -2
[ $rc -ne 0 ] && grep -q "$S" "$T/err"; ok $? "the old key is refused with a message naming the copy ($rc)"
TWOFOLD_CONFIG=$T/config tf -r rot check --copies >/dev/null 2>&1
ok $? "the repository, through the rotated key, checks clean on all three copies"

done_testing
