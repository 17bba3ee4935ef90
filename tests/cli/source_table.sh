#!/bin/sh
# source_table: an Azure table as a backup source (Azurite's table
# service): 5000 entities (five 1000-entity pages) with properties of
# every EDM type (Binary, Boolean, DateTime, Double, Guid, Int32, Int64,
# String) exported as canonical JSON lines, backed up into a repository
# of two copies (local and Azurite's blob service); an unchanged table
# backs up to the identical tree; restored from the cloud copy alone into
# a fresh table, which an independent client (az storage entity query)
# reads back with the same typed values as the original, and whose
# OData type annotations (curl, fullmetadata) are the original's; after
# changing 1% of the entities the next backup (through a proxy that
# counts requests) lists keys and Timestamps only and reads just the new
# and updated entities, and the old and new snapshots restore the old and
# new tables; an entity updated or deleted while the proxy holds its
# read is reported as changed while read; past 30% changed entities the
# table is read whole; restore into a directory writes the JSON lines; a
# missing table is a clear error.
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/azurite.sh"
. "$TWOFOLD_TOP/tests/servers/clients.sh"
. "$TWOFOLD_TOP/tests/servers/faultproxy.sh"
trap 'fp_stop_all; azurite_table_stop; azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

if ! azurite_table_start 2>"$T/azurite.err" || ! azurite_start 2>>"$T/azurite.err"; then
	cat "$T/azurite.err" >&2
	ok 1 "Azurite's table and blob services start"
	done_testing
fi
ok 0 "Azurite's table and blob services start on ports $AZURITE_TABLE_PORT and $AZURITE_PORT"
clients_install az; ok $? "the az CLI is installed"
az_setup
A=$AZURITE_ACCOUNT
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$A;AccountKey=$AZURITE_KEY;TableEndpoint=$AZURITE_TABLE_URL;BlobEndpoint=$AZURITE_URL;"
export TWOFOLD_REPOSITORY="$T/repo"
CLOUD="azure://$A/trepo/t"
# tf2: twofold on the repository of two copies, local and in Azurite
tf2() { tf -r "$T/repo" -r "$CLOUD" "$@"; }
hexkey() { printf %s "$AZURITE_KEY" | base64 -d | od -An -tx1 -v | tr -d ' \n'; }
D=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
# auth PATH: a Shared Key Lite header for a request on PATH (without its
# query) at date $D
auth() {
	printf 'Authorization: SharedKeyLite %s:%s' "$A" "$(printf '%s\n/%s/%s%s' "$D" "$A" "$A" "$1" |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(hexkey)" -binary | base64 -w0)"
}
tcurl() { # tcurl METHOD PATH [curl args]
	_m=$1 _p=$2
	shift 2
	curl -s -X "$_m" -H "x-ms-date: $D" -H "x-ms-version: 2019-02-02" -H "$(auth "${_p%%\?*}")" \
	    -H 'Accept: application/json;odata=fullmetadata' -H 'Content-Type: application/json' "$@" \
	    "$AZURITE_TABLE_URL$_p"
}
code=$(tcurl POST /Tables -d '{"TableName":"srct"}' -o /dev/null -w '%{http_code}')
[ "$code" -eq 201 ]; ok $? "created table srct (HTTP $code)"

# 5000 entities of every EDM type (five 1000-entity pages), written by
# awk as curl configs and inserted by 8 curls in parallel (~4 s; az
# storage entity insert takes ~1 s an entity)
rm -f "$T"/cfg.*
N=5000
awk -v N=$N -v PFX="$T/cfg" -v URL="$AZURITE_TABLE_URL/srct" -v DATE="$D" -v AUTH="$(auth /srct)" '
function b64(s,   i, n, c1, c2, c3, out) {
	out = ""
	n = length(s)
	for (i = 1; i <= n; i += 3) {
		c1 = ord[substr(s, i, 1)]
		c2 = i + 1 <= n ? ord[substr(s, i + 1, 1)] : 0
		c3 = i + 2 <= n ? ord[substr(s, i + 2, 1)] : 0
		out = out substr(B64, int(c1 / 4) + 1, 1) substr(B64, (c1 % 4) * 16 + int(c2 / 16) + 1, 1)
		out = out (i + 1 <= n ? substr(B64, (c2 % 16) * 4 + int(c3 / 64) + 1, 1) : "=")
		out = out (i + 2 <= n ? substr(B64, c3 % 64 + 1, 1) : "=")
	}
	return out
}
BEGIN {
	B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for (i = 32; i < 127; i++)
		ord[sprintf("%c", i)] = i
	for (i = 0; i < N; i++) {
		if (i % 3 == 0)
			s = "plain " i
		else if (i % 3 == 1)
			s = "quote \\\" backslash \\\\ unicode \\u00e9\\u20ac " i
		else
			s = ""
		# the ends of the Int32 and Int64 ranges; whole Doubles, annotated
		i32 = i == 2 ? "2147483647" : i == 3 ? "-2147483648" : (i - 2500) ""
		i64 = i == 2 ? "9223372036854775807" : i == 3 ? "-9223372036854775808" : \
		    sprintf("%.0f", (i - 2500) * 1000000007)
		d = i % 5 == 4 ? sprintf("\"D@odata.type\":\"Edm.Double\",\"D\":%d", i) : sprintf("\"D\":%d.25", i)
		body = sprintf("{\"PartitionKey\":\"p%d\",\"RowKey\":\"r%05d\",\"S\":\"%s\",\"I32\":%s," \
		    "\"I64@odata.type\":\"Edm.Int64\",\"I64\":\"%s\",%s,\"B\":%s," \
		    "\"Bin@odata.type\":\"Edm.Binary\",\"Bin\":\"%s\",\"G@odata.type\":\"Edm.Guid\"," \
		    "\"G\":\"c9da6455-213d-42c9-9a79-%012d\",\"T@odata.type\":\"Edm.DateTime\"," \
		    "\"T\":\"2024-01-02T03:%02d:%02d.123Z\"}",
		    i % 7, i, s, i32, i64, d, i % 2 ? "false" : "true",
		    b64("bin" i), i, int(i / 60) % 60, i % 60)
		gsub(/\\/, "&&", body)
		gsub(/"/, "\\\"", body)
		f = PFX "." (i % 8)
		printf "url = \"%s\"\nrequest = \"POST\"\n", URL >f
		printf "header = \"x-ms-date: %s\"\nheader = \"x-ms-version: 2019-02-02\"\nheader = \"%s\"\n", DATE, AUTH >f
		printf "header = \"Content-Type: application/json\"\nheader = \"Accept: application/json;odata=nometadata\"\n" >f
		printf "header = \"Prefer: return-no-content\"\n" >f
		printf "data = \"%s\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code}\\n\"\nnext\n", body >f
	}
}'
t0=$(date +%s)
pids=""
for f in "$T"/cfg.?; do
	curl -sS -K "$f" >"$f.out" 2>/dev/null &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
n=$(cat "$T"/cfg.*.out | grep -c '^20[14]$')
[ "$n" -eq $N ]; ok $? "inserted $n entities of every EDM type ($(($(date +%s) - t0)) s)"

tf2 init; ok $? "init a repository of two copies: $T/repo and $CLOUD"
tf2 backup "azure-table://$A/srct" >"$T/id1" 2>"$T/err"; rc=$?
ok $rc "backup of azure-table://$A/srct (exit $rc)"
tf dump latest "/azure-table/$A/srct" >"$T/lines1"
[ "$(wc -l <"$T/lines1")" -eq $N ]; ok $? "the snapshot holds /azure-table/$A/srct: $N JSON lines (five pages)"
line=$(grep '"RowKey":"r00001"' "$T/lines1")
for t in Binary Boolean DateTime Double Guid Int32 Int64 String; do
	echo "$line" | grep -q "\"Edm.$t\"" || { echo "# Edm.$t missing in: $line"; false; }
done
ok $? "each entity carries PartitionKey, RowKey, Timestamp and every property with its EDM type"
echo "$line" | grep -q '^{"PartitionKey":"p1","RowKey":"r00001","Timestamp":"[0-9T:.Z-]*","B@odata.type":"Edm.Boolean","B":false,"Bin@odata.type":"Edm.Binary","Bin":"YmluMQ==","D@odata.type":"Edm.Double","D":1.25,'
ok $? "in canonical order (keys, Timestamp, properties by name)"

tf2 backup "azure-table://$A/srct" >"$T/id2"
tree() { tf --json cat snapshot "$1" | sed -n 's/.*"tree": *"\([0-9a-f]*\)".*/\1/p'; }
[ -n "$(tree "$(cat "$T/id1")")" ] && [ "$(tree "$(cat "$T/id1")")" = "$(tree "$(cat "$T/id2")")" ]
ok $? "an unchanged table gives an identical snapshot tree (dedup)"

t0=$(date +%s)
tf -r "$CLOUD" restore latest --include "/azure-table/$A/srct" --target "azure-table://$A/dstt" 2>"$T/err"; rc=$?
ok $rc "restore from the cloud copy alone into azure-table://$A/dstt ($(($(date +%s) - t0)) s, exit $rc)"

# azq TABLE: every entity as az reads it (az follows the continuation
# itself: all pages in one call), Timestamp and ETag left out.  az shows
# each EDM type its own way: Int64 as {"edm_type": "Edm.Int64", ...},
# Double as a float, Int32 as an integer, Boolean as true/false, DateTime
# as an ISO time with +00:00; Binary (base64 of the bytes) and Guid look
# like strings, so their types are compared by annots below.
azq() {
	az storage entity query -t "$1" --connection-string "$AZURE_STORAGE_CONNECTION_STRING" -o json \
	    --query items 2>"$T/az.err" | grep -v '^ *"\(Timestamp\|etag\)": '
}
t0=$(date +%s)
azq srct >"$T/az.srct"
azq dstt >"$T/az.dstt"
n=$(grep -c '"RowKey": ' "$T/az.dstt")
cmp -s "$T/az.srct" "$T/az.dstt" || diff "$T/az.srct" "$T/az.dstt" | head -6 | sed 's/^/# /'
cmp -s "$T/az.srct" "$T/az.dstt" && [ "$n" -eq $N ]
ok $? "az storage entity query reads the same $n entities, values and types from both tables ($(($(date +%s) - t0)) s)"
# azone ROWKEY: that entity as az showed it in az.dstt, on one line, no blanks
azone() { awk -v k="\"RowKey\": \"$1\"" '/^  \{/ { e = "" } { e = e $0 } /^  \}/ && index(e, k) { print e }' "$T/az.dstt" | tr -d ' '; }
{ azone r00001; azone r00002; azone r00003; azone r00004; } >"$T/az.some"
for p in '"PartitionKey":"p1","RowKey":"r00001"' '"B":false' '"Bin":"YmluMQ=="' '"D":1.25' \
    '"G":"c9da6455-213d-42c9-9a79-000000000001"' '"I32":-2499' '"I64":{"edm_type":"Edm.Int64","value":-2499000017493}' \
    '"S":"quote\"backslash\\unicodeé€1"' '"T":"2024-01-02T03:00:01.123000+00:00"' \
    '"I32":2147483647,"I64":{"edm_type":"Edm.Int64","value":9223372036854775807},"PartitionKey":"p2"' \
    '"I32":-2147483648,"I64":{"edm_type":"Edm.Int64","value":-9223372036854775808},"PartitionKey":"p3"' \
    '"D":4.0,"G":"c9da6455-213d-42c9-9a79-000000000004"'; do
	grep -qF "$p" "$T/az.some" || { echo "# az shows no $p in:"; sed 's/^/# /' "$T/az.some"; false; }
done
ok $? "az reads the restored entities r00001..r00004 with the typed values inserted (the ends of Int32 and Int64, a whole Double)"

# annots TABLE: "ROWKEY NAME@odata.type":"Edm.TYPE" for every annotated
# property of every entity (curl, Query Entities with fullmetadata, paged
# by x-ms-continuation-NextPartitionKey/NextRowKey), sorted
annots() {
	_q=""
	: >"$T/ann"
	while :; do
		tcurl GET "/$1()$_q" -D "$T/hdr" >"$T/page"
		sed 's/},{/}\n{/g' "$T/page" | awk '{
			rk = $0
			sub(/.*"RowKey":"/, "", rk)
			sub(/".*/, "", rk)
			s = $0
			while (match(s, /"[A-Za-z0-9]+@odata\.type":"Edm\.[A-Za-z0-9]+"/)) {
				a = substr(s, RSTART, RLENGTH)
				s = substr(s, RSTART + RLENGTH)
				if (a !~ /^"Timestamp@/)
					print rk, a
			}
		}' >>"$T/ann"
		_pk=$(tr -d '\r' <"$T/hdr" | sed -n 's/^x-ms-continuation-nextpartitionkey: //ip')
		_rk=$(tr -d '\r' <"$T/hdr" | sed -n 's/^x-ms-continuation-nextrowkey: //ip')
		[ -n "$_pk" ] || break
		_q="?NextPartitionKey=$(urlenc "$_pk")&NextRowKey=$(urlenc "$_rk")"
	done
	sort "$T/ann"
}
urlenc() { printf %s "$1" | sed 's/%/%25/g; s/+/%2B/g; s/\//%2F/g; s/=/%3D/g'; }
annots srct >"$T/ann.srct"
annots dstt >"$T/ann.dstt"
n=$(grep -c . "$T/ann.dstt")
for t in Binary Guid; do
	[ "$(grep -c "\"Edm.$t\"$" "$T/ann.dstt")" -eq $N ] || { echo "# not $N properties of type Edm.$t"; false; }
done &&
    cmp -s "$T/ann.srct" "$T/ann.dstt"
ok $? "every property of both tables carries the same OData type annotation ($n annotations, curl)"

tf2 backup "azure-table://$A/dstt" >/dev/null && tf dump latest "/azure-table/$A/dstt" >"$T/lines2"
sed 's/"Timestamp":"[^"]*",//' "$T/lines1" >"$T/n1"
sed 's/"Timestamp":"[^"]*",//' "$T/lines2" >"$T/n2"
cmp -s "$T/n1" "$T/n2" || diff "$T/n1" "$T/n2" | head -4 | sed 's/^/# /'
cmp -s "$T/n1" "$T/n2"; ok $? "backed up again, the restored table gives the same canonical lines"

# ---- change 1% of the entities (50 of 5000): update 40, delete 5,
# insert 5 (keys with a quote, a space and non-ASCII); the next backup,
# through a proxy that logs every request, lists with a projection
# ($select) and reads only the 45 new or updated entities one by one
# ekey PK RK: the OData key of an entity for a URL path
ekey() { printf "(PartitionKey=%%27%s%%27,RowKey=%%27%s%%27)" "$1" "$2"; }
codes=""
for k in $(seq 0 39); do
	i=$((k * 100 + 7))
	codes="$codes $(tcurl PUT "/srct$(ekey "p$((i % 7))" "$(printf r%05d $i)")" -o /dev/null -w '%{http_code}' \
	    -d "{\"S\":\"updated $i\",\"U@odata.type\":\"Edm.Int64\",\"U\":\"$i\"}")"
done
for k in 0 1 2 3 4; do
	i=$((k * 100 + 4003))
	codes="$codes $(tcurl DELETE "/srct$(ekey "p$((i % 7))" "$(printf r%05d $i)")" -H 'If-Match: *' \
	    -o /dev/null -w '%{http_code}')"
	codes="$codes $(tcurl POST /srct -H 'Prefer: return-no-content' -o /dev/null -w '%{http_code}' \
	    -d "{\"PartitionKey\":\"p new\",\"RowKey\":\"it's \u00e9 $k\",\"S\":\"inserted $k\",\"D\":$k.5}")"
done
[ "$(echo $codes | tr ' ' '\n' | grep -c '^204$')" -eq 50 ]; ok $? "changed 50 of $N entities: 40 updated, 5 deleted, 5 inserted"
azq srct >"$T/az.srct2"
fp_start tproxy "$AZURITE_TABLE_PORT" || ok 1 "proxy starts"
# tcs PORT: the connection string with the table endpoint on PORT
tcs() { echo "DefaultEndpointsProtocol=http;AccountName=$A;AccountKey=$AZURITE_KEY;TableEndpoint=http://127.0.0.1:$1/$A;BlobEndpoint=$AZURITE_URL;"; }
t0=$(date +%s)
AZURE_STORAGE_CONNECTION_STRING=$(tcs "$FP_PORT") tf2 backup "azure-table://$A/srct" >"$T/id3" 2>"$T/err"; rc=$?
# reads PROXY TABLE: from the proxy's log, gets (single-entity GETs),
# lists (Query Entities requests) and sel (those with the projection)
reads() {
	gets=$(grep -c "^request [0-9]* GET /$A/$2(PartitionKey=" "$T/$1.log")
	lists=$(grep -c "^request [0-9]* GET /$A/$2()" "$T/$1.log")
	sel=$(grep "^request [0-9]* GET /$A/$2()" "$T/$1.log" | grep -c '?$select=PartitionKey,RowKey,Timestamp')
}
reads tproxy srct
[ $rc -eq 0 ] || sed 's/^/# /' "$T/err"
[ $rc -eq 0 ] && [ "$gets" -eq 45 ] && [ "$lists" -ge 5 ] && [ "$sel" -eq "$lists" ] && [ "$(fp_requests tproxy)" -eq $((lists + gets)) ]
ok $? "the next backup reads only the 45 new or updated entities ($gets single-entity GETs; $sel of $lists listing requests are projections; $(($(date +%s) - t0)) s, exit $rc)"
tf dump "$(cat "$T/id3")" "/azure-table/$A/srct" >"$T/lines3"
grep -q "\"RowKey\":\"r00107\",.*\"S\":\"updated 107\",\"U@odata.type\":\"Edm.Int64\",\"U\":\"107\"}" "$T/lines3" &&
    grep -q "\"PartitionKey\":\"p new\",\"RowKey\":\"it's é 4\"," "$T/lines3" && ! grep -q '"RowKey":"r04003"' "$T/lines3" &&
    [ "$(wc -l <"$T/lines3")" -eq $N ]
ok $? "its export holds the updated and inserted entities and not the deleted ones ($(wc -l <"$T/lines3") lines)"
tf2 --no-cache backup "azure-table://$A/srct" >"$T/id4"
[ -n "$(tree "$(cat "$T/id3")")" ] && [ "$(tree "$(cat "$T/id3")")" = "$(tree "$(cat "$T/id4")")" ]
ok $? "and the same tree as reading the whole table again (--no-cache)"
tf -r "$CLOUD" restore "$(cat "$T/id3")" --include "/azure-table/$A/srct" --target "azure-table://$A/newt" 2>"$T/err" &&
    tf -r "$CLOUD" restore "$(cat "$T/id1")" --include "/azure-table/$A/srct" --target "azure-table://$A/oldt" 2>>"$T/err"
rc=$?
azq newt >"$T/az.newt"
azq oldt >"$T/az.oldt"
[ $rc -eq 0 ] && cmp -s "$T/az.newt" "$T/az.srct2" && [ "$(grep -c '"RowKey": ' "$T/az.newt")" -eq $N ]
ok $? "the new snapshot restores the changed table (az storage entity query, exit $rc)"
cmp -s "$T/az.oldt" "$T/az.srct" && ! cmp -s "$T/az.srct" "$T/az.srct2"
ok $? "the first snapshot still restores the table as it was"

# ---- an entity written during the backup: r00010 is updated (so the next
# backup reads it), a proxy holds that read until the test has updated it
# again (straight at Azurite) and opened the gate; the backup sees a
# Timestamp other than the listed one, stores what it read and reports it
# held RK PK CHANGE: update entity (PK, RK) so that the next backup reads
# it, back up through a proxy that holds that read until the shell
# command CHANGE has run (straight at Azurite); sets code (the update's
# HTTP status), rc, FP_HELD, FP_CHANGED; the snapshot as JSON in
# $T/snap.json, its export in $T/lines.held
held() {
	code=$(tcurl PUT "/srct$(ekey "$2" "$1")" -d '{"S":"first"}' -o /dev/null -w '%{http_code}')
	fp_start "h$1" "$AZURITE_TABLE_PORT" -g "$T/h$1.gate" -t 60 -f "hold:1:GET:RowKey=%27$1" || ok 1 "proxy starts"
	HCS=$(tcs "$FP_PORT")
	fp_held_change "h$1" "RowKey=%27$1" \
	    'AZURE_STORAGE_CONNECTION_STRING=$HCS tf2 backup "azure-table://$A/srct" >"$T/idh" 2>"$T/err"' "$3"
	rc=$?
	tf --json cat snapshot "$(cat "$T/idh")" >"$T/snap.json"
	tf dump "$(cat "$T/idh")" "/azure-table/$A/srct" >"$T/lines.held"
}
held r00010 p3 'tcurl PUT "/srct$(ekey p3 r00010)" -d "{\"S\":\"second\"}" -o /dev/null -w "%{http_code}"'
[ "$code" = 204 ] && [ $FP_HELD -eq 0 ] && [ "$FP_CHANGED" = 204 ] && [ $rc -eq 0 ] &&
    grep -q "/srct(PartitionKey='p3',RowKey='r00010') changed while it was read" "$T/err" &&
    grep -q "changed_while_read.*/azure-table/$A/srct(PartitionKey='p3',RowKey='r00010')" "$T/snap.json"
ok $? "an entity updated while the backup reads it is reported and listed in the snapshot (HTTP $code, $FP_CHANGED, exit $rc)"
grep '"RowKey":"r00010"' "$T/lines.held" | grep -q '"S":"second"'
ok $? "and stored as it was read"
# the same for an entity deleted while the proxy holds its read: reported,
# listed, left out
held r00020 p6 'tcurl DELETE "/srct$(ekey p6 r00020)" -H "If-Match: *" -o /dev/null -w "%{http_code}"'
[ "$code" = 204 ] && [ $FP_HELD -eq 0 ] && [ "$FP_CHANGED" = 204 ] && [ $rc -eq 0 ] &&
    grep -q "/srct(PartitionKey='p6',RowKey='r00020') was deleted during the backup" "$T/err" &&
    grep -q "changed_while_read.*/azure-table/$A/srct(PartitionKey='p6',RowKey='r00020')" "$T/snap.json" &&
    ! grep -q '"RowKey":"r00020"' "$T/lines.held" && [ "$(wc -l <"$T/lines.held")" -eq $((N - 1)) ]
ok $? "an entity deleted while the backup reads it is reported, listed and left out (HTTP $code, $FP_CHANGED, exit $rc)"

# ---- a table of 10 entities: 2 updated (20%) are read one by one, 4
# (40%, past 30%) make the next backup read the table whole
tcurl POST /Tables -d '{"TableName":"small"}' -o /dev/null
for i in 0 1 2 3 4 5 6 7 8 9; do
	tcurl POST /small -H 'Prefer: return-no-content' -d "{\"PartitionKey\":\"p\",\"RowKey\":\"r$i\",\"V\":$i}" -o /dev/null
done
tf2 backup "azure-table://$A/small" >/dev/null
# small N...: update entities rN..., back up small through a new proxy,
# count its reads; upd: the entities stored as updated
small() {
	for _i; do tcurl PUT "/small$(ekey p "r$_i")" -d '{"V":-1}' -o /dev/null; done
	fp_start "small$1" "$AZURITE_TABLE_PORT" || ok 1 "proxy starts"
	AZURE_STORAGE_CONNECTION_STRING=$(tcs "$FP_PORT") tf2 backup "azure-table://$A/small" >/dev/null 2>"$T/err"
	rc=$?
	reads "small$1" small
	upd=$(tf dump latest "/azure-table/$A/small" | grep -c '"V":-1}$')
}
small 0 1
[ $rc -eq 0 ] && [ "$upd" -eq 2 ] && [ "$gets" -eq 2 ] && [ "$sel" -eq "$lists" ]
ok $? "2 of 10 entities updated: read one by one ($gets single-entity GETs, $sel of $lists listings projected)"
small 2 3 4 5
[ $rc -eq 0 ] && [ "$upd" -eq 6 ] && [ "$gets" -eq 0 ] && [ "$sel" -eq 1 ] && [ "$lists" -eq 2 ]
ok $? "4 of 10 updated: the table is read whole ($gets single-entity GETs, $sel of $lists listings projected)"

tf restore "$(cat "$T/id1")" --include "/azure-table/$A/srct" --target "$T/dir"; rc=$?
[ $rc -eq 0 ] && cmp -s "$T/dir/azure-table/$A/srct" "$T/lines1"
ok $? "restore into a directory writes the JSON lines"

tf backup "azure-table://$A/nosuch" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "source azure-table://$A/nosuch" "$T/err"
ok $? "a missing table is a clear error naming the source (exit $rc)"
done_testing
