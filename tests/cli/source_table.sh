#!/bin/sh
# source_table: an Azure table as a backup source (Azurite's table
# service): 1205 entities (more than one 1000-entity page) with properties
# of every EDM type (Binary, Boolean, DateTime, Double, Guid, Int32,
# Int64, String) exported as canonical JSON lines; an unchanged table
# backs up to the identical tree; restore into another table re-creates
# every entity with its types (compared by backing that table up too);
# restore into a directory writes the JSON lines; a missing table is a
# clear error.
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/azurite.sh"
trap 'azurite_table_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

if ! azurite_table_start 2>"$T/azurite.err"; then
	cat "$T/azurite.err" >&2
	ok 1 "Azurite's table service starts"
	done_testing
fi
ok 0 "Azurite's table service starts on port $AZURITE_TABLE_PORT"
A=$AZURITE_ACCOUNT
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$A;AccountKey=$AZURITE_KEY;TableEndpoint=$AZURITE_TABLE_URL;"
export TWOFOLD_REPOSITORY="$T/repo"
hexkey() { printf %s "$AZURITE_KEY" | base64 -d | od -An -tx1 -v | tr -d ' \n'; }
D=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
# auth PATH: a Shared Key Lite header for a request on PATH at date $D
auth() {
	printf 'Authorization: SharedKeyLite %s:%s' "$A" "$(printf '%s\n/%s/%s%s' "$D" "$A" "$A" "$1" |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(hexkey)" -binary | base64 -w0)"
}
tcurl() { # tcurl METHOD PATH [curl args]
	_m=$1 _p=$2
	shift 2
	curl -s -X "$_m" -H "x-ms-date: $D" -H "x-ms-version: 2019-02-02" -H "$(auth "$_p")" \
	    -H 'Accept: application/json;odata=fullmetadata' -H 'Content-Type: application/json' "$@" \
	    "$AZURITE_TABLE_URL$_p"
}
code=$(tcurl POST /Tables -d '{"TableName":"srct"}' -o /dev/null -w '%{http_code}')
[ "$code" -eq 201 ]; ok $? "created table srct (HTTP $code)"

# 1205 entities, every EDM type, in 8 parallel curls
rm -f "$T"/cfg.*
AUTH=$(auth /srct)
i=0
while [ $i -lt 1205 ]; do
	case $((i % 3)) in
	0) s="plain $i" ;;
	1) s="quote \\\" backslash \\\\ unicode \\u00e9\\u20ac $i" ;;
	2) s="" ;;
	esac
	body="{\"PartitionKey\":\"p$((i % 7))\",\"RowKey\":\"r$(printf %05d $i)\",\"S\":\"$s\",\"I32\":$((i - 600)),\"I64@odata.type\":\"Edm.Int64\",\"I64\":\"$((i * 1000000007))\",\"D\":$i.25,\"B\":$([ $((i % 2)) -eq 0 ] && echo true || echo false),\"Bin@odata.type\":\"Edm.Binary\",\"Bin\":\"$(printf 'bin%d' $i | base64 -w0)\",\"G@odata.type\":\"Edm.Guid\",\"G\":\"c9da6455-213d-42c9-9a79-$(printf %012d $i)\",\"T@odata.type\":\"Edm.DateTime\",\"T\":\"2024-01-02T03:04:$(printf %02d $((i % 60))).123Z\"}"
	{
		printf 'url = "%s/srct"\nrequest = "POST"\n' "$AZURITE_TABLE_URL"
		printf 'header = "x-ms-date: %s"\nheader = "x-ms-version: 2019-02-02"\nheader = "%s"\n' "$D" "$AUTH"
		printf 'header = "Content-Type: application/json"\nheader = "Accept: application/json;odata=nometadata"\nheader = "Prefer: return-no-content"\n'
		printf 'data = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' "$(printf %s "$body" | sed 's/\\/\\\\/g; s/"/\\"/g')"
	} >>"$T/cfg.$((i % 8))"
	i=$((i + 1))
done
pids=""
for f in "$T"/cfg.*; do
	curl -sS -K "$f" >"$f.out" 2>/dev/null &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
n=$(cat "$T"/cfg.*.out | grep -c '^20[14]$')
[ "$n" -eq 1205 ]; ok $? "inserted $n entities of every EDM type"

tf init; ok $? "init a local repository"
tf backup "azure-table://$A/srct" >"$T/id1" 2>"$T/err"; rc=$?
ok $rc "backup of azure-table://$A/srct (exit $rc)"
tf dump latest "/azure-table/$A/srct" >"$T/lines1"
[ "$(wc -l <"$T/lines1")" -eq 1205 ]; ok $? "the snapshot holds /azure-table/$A/srct: 1205 JSON lines (two pages)"
line=$(grep '"RowKey":"r00001"' "$T/lines1")
for t in Binary Boolean DateTime Double Guid Int32 Int64 String; do
	echo "$line" | grep -q "\"Edm.$t\"" || { echo "# Edm.$t missing in: $line"; false; }
done
ok $? "each entity carries PartitionKey, RowKey, Timestamp and every property with its EDM type"
echo "$line" | grep -q '^{"PartitionKey":"p1","RowKey":"r00001","Timestamp":"[0-9T:.Z-]*","B@odata.type":"Edm.Boolean","B":false,"Bin@odata.type":"Edm.Binary","Bin":"YmluMQ==","D@odata.type":"Edm.Double","D":1.25,'
ok $? "in canonical order (keys, Timestamp, properties by name)"

tf backup "azure-table://$A/srct" >"$T/id2"
tree() { tf --json cat snapshot "$1" | sed -n 's/.*"tree": *"\([0-9a-f]*\)".*/\1/p'; }
[ -n "$(tree "$(cat "$T/id1")")" ] && [ "$(tree "$(cat "$T/id1")")" = "$(tree "$(cat "$T/id2")")" ]
ok $? "an unchanged table gives an identical snapshot tree (dedup)"

tf restore latest --include "/azure-table/$A/srct" --target "azure-table://$A/dstt" 2>"$T/err"; rc=$?
ok $rc "restore into azure-table://$A/dstt (exit $rc)"
tf backup "azure-table://$A/dstt" >/dev/null && tf dump latest "/azure-table/$A/dstt" >"$T/lines2"
sed 's/"Timestamp":"[^"]*",//' "$T/lines1" >"$T/n1"
sed 's/"Timestamp":"[^"]*",//' "$T/lines2" >"$T/n2"
cmp -s "$T/n1" "$T/n2" || diff "$T/n1" "$T/n2" | head -4 | sed 's/^/# /'
cmp -s "$T/n1" "$T/n2"; ok $? "the restored table holds the same entities with the same types and values"

tf restore "$(cat "$T/id1")" --include "/azure-table/$A/srct" --target "$T/dir"; rc=$?
[ $rc -eq 0 ] && cmp -s "$T/dir/azure-table/$A/srct" "$T/lines1"
ok $? "restore into a directory writes the JSON lines"

tf backup "azure-table://$A/nosuch" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "source azure-table://$A/nosuch" "$T/err"
ok $? "a missing table is a clear error naming the source (exit $rc)"
done_testing
