# azurite.sh: start and stop Azurite (Microsoft's Azure Storage emulator,
# blob service only) on 127.0.0.1 for the tests (sourced).
#
#   azurite_start   install azurite@3.35.0 into $TWOFOLD_NPM_CACHE (default
#                   /var/tmp/twofold-npm) if missing, start it on a free port
#                   with its data in a new temporary directory, wait until
#                   it answers, and export AZURITE_PORT, AZURITE_URL
#                   (http://127.0.0.1:PORT/devstoreaccount1), AZURITE_ACCOUNT,
#                   AZURITE_KEY and AZURE_STORAGE_CONNECTION_STRING.
#                   Returns non-zero after a message on stderr on failure.
#   azurite_stop    stop it by PID and remove its data.  Safe to call twice;
#                   the caller should call it from its EXIT trap.
#   azurite_restart start it again on the same port and data (after a test
#                   stopped it by killing $AZURITE_PID); 0 once it answers.
#   azurite_sas CONTAINER PERMS EXPIRY   print a service SAS token for the
#                   container (version 2020-12-06, signed with the key).
#
# Azurite 3.36+ needs Node >= 21; Debian 12 has Node 20, hence the pin.

AZURITE_VERSION=3.35.0
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
AZURITE_PID=
AZURITE_DIR=

azurite_install() {
	_az_cache=${TWOFOLD_NPM_CACHE:-/var/tmp/twofold-npm}
	AZURITE_BIN="$_az_cache/node_modules/.bin/azurite-blob"
	if [ -x "$AZURITE_BIN" ] &&
	    grep -q "\"version\": \"$AZURITE_VERSION\"" "$_az_cache/node_modules/azurite/package.json" 2>/dev/null; then
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1 ||
	    ! command -v curl >/dev/null 2>&1; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "azurite: node, npm and curl are needed; install them with:" >&2
			echo "  sudo apt-get install -y nodejs npm curl" >&2
			return 1
		fi
		echo "azurite: installing nodejs npm curl" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		    nodejs npm curl >/dev/null 2>&1 ||
		    { apt-get update -q >/dev/null 2>&1 &&
		      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		        nodejs npm curl >/dev/null; } || {
			echo "azurite: cannot install nodejs npm curl" >&2
			return 1
		}
	fi
	mkdir -p "$_az_cache" || return 1
	echo "azurite: installing azurite@$AZURITE_VERSION into $_az_cache" >&2
	(cd "$_az_cache" && npm install --no-audit --no-fund --loglevel=error \
	    "azurite@$AZURITE_VERSION" >/dev/null) || {
		echo "azurite: npm install azurite@$AZURITE_VERSION failed (in $_az_cache)" >&2
		return 1
	}
	[ -x "$AZURITE_BIN" ] || {
		echo "azurite: $AZURITE_BIN missing after npm install" >&2
		return 1
	}
}

# azurite_answers PORT: the blob service answers HTTP on PORT
azurite_answers() {
	curl -s -o /dev/null -m 2 "http://127.0.0.1:$1/$AZURITE_ACCOUNT?comp=list" 2>/dev/null
}

azurite_start() {
	azurite_install || return 1
	AZURITE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/twofold-azurite.XXXXXX") || return 1
	_az_try=0
	while [ $_az_try -lt 8 ]; do
		_az_try=$((_az_try + 1))
		AZURITE_PORT=$((20000 + ($$ * 7 + _az_try * 997 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 10000))
		# busy port: someone answers already
		if azurite_answers "$AZURITE_PORT"; then
			continue
		fi
		"$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
		    --location "$AZURITE_DIR/data" --silent --disableTelemetry \
		    >"$AZURITE_DIR/log" 2>&1 &
		AZURITE_PID=$!
		_az_w=0
		while [ $_az_w -lt 100 ]; do
			if ! kill -0 "$AZURITE_PID" 2>/dev/null; then
				break	# died: port taken meanwhile?
			fi
			if azurite_answers "$AZURITE_PORT"; then
				AZURITE_URL="http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT"
				AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=$AZURITE_URL;"
				export AZURITE_PORT AZURITE_URL AZURITE_ACCOUNT AZURITE_KEY \
				    AZURE_STORAGE_CONNECTION_STRING
				return 0
			fi
			sleep 0.2
			_az_w=$((_az_w + 1))
		done
		if kill -0 "$AZURITE_PID" 2>/dev/null; then
			kill "$AZURITE_PID" 2>/dev/null
			wait "$AZURITE_PID" 2>/dev/null
			AZURITE_PID=
			echo "azurite: did not answer on port $AZURITE_PORT within 20 s" >&2
			cat "$AZURITE_DIR/log" >&2
			return 1
		fi
		wait "$AZURITE_PID" 2>/dev/null
		AZURITE_PID=
	done
	echo "azurite: could not start (last port $AZURITE_PORT):" >&2
	cat "$AZURITE_DIR/log" >&2
	return 1
}

azurite_stop() {
	if [ -n "$AZURITE_PID" ]; then
		kill "$AZURITE_PID" 2>/dev/null
		wait "$AZURITE_PID" 2>/dev/null
		AZURITE_PID=
	fi
	if [ -n "$AZURITE_DIR" ]; then
		rm -rf "$AZURITE_DIR"
		AZURITE_DIR=
	fi
}

azurite_restart() {
	"$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$AZURITE_DIR/data" \
	    --silent --disableTelemetry >>"$AZURITE_DIR/log" 2>&1 &
	AZURITE_PID=$!
	_az_n=0
	until azurite_answers "$AZURITE_PORT"; do
		[ $_az_n -ge 100 ] && return 1
		sleep 0.2
		_az_n=$((_az_n + 1))
	done
}

# _az_urlenc STRING: percent-encode what a SAS value may hold
_az_urlenc() {
	printf %s "$1" | sed 's/%/%25/g; s/+/%2B/g; s/\//%2F/g; s/=/%3D/g; s/:/%3A/g; s/ /%20/g; s/&/%26/g'
}

azurite_sas() {
	_az_hk=$(printf %s "$AZURITE_KEY" | base64 -d | od -An -tx1 -v | tr -d ' \n')
	_az_sig=$(printf '%s\n\n%s\n/blob/%s/%s\n\n\n%s\n%s\n%s\n\n\n\n\n\n\n' \
	    "$2" "$3" "$AZURITE_ACCOUNT" "$1" "https,http" "2020-12-06" "c" |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$_az_hk" -binary | base64 -w0)
	printf 'sv=2020-12-06&spr=https,http&se=%s&sr=c&sp=%s&sig=%s' \
	    "$(_az_urlenc "$3")" "$2" "$(_az_urlenc "$_az_sig")"
}

# azurite_table_start   the Table service of the same Azurite install
#                       (azurite-table) on a free port, its data in a new
#                       temporary directory; exports AZURITE_TABLE_PORT,
#                       AZURITE_TABLE_URL (http://127.0.0.1:PORT/devstoreaccount1)
#                       and AZURITE_ACCOUNT, AZURITE_KEY.
# azurite_table_stop    stop it by PID and remove its data (safe twice).
AZURITE_TABLE_PID=
AZURITE_TABLE_DIR=
azurite_table_start() {
	azurite_install || return 1
	_azt_bin="$(dirname "$AZURITE_BIN")/azurite-table"
	[ -x "$_azt_bin" ] || { echo "azurite: $_azt_bin missing" >&2; return 1; }
	AZURITE_TABLE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/twofold-azurite-table.XXXXXX") || return 1
	_azt_try=0
	while [ $_azt_try -lt 8 ]; do
		_azt_try=$((_azt_try + 1))
		AZURITE_TABLE_PORT=$((30000 + ($$ * 11 + _azt_try * 991 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 10000))
		if curl -s -o /dev/null -m 2 "http://127.0.0.1:$AZURITE_TABLE_PORT/" 2>/dev/null; then
			continue
		fi
		"$_azt_bin" --tableHost 127.0.0.1 --tablePort "$AZURITE_TABLE_PORT" \
		    --location "$AZURITE_TABLE_DIR/data" --silent --disableTelemetry \
		    >"$AZURITE_TABLE_DIR/log" 2>&1 &
		AZURITE_TABLE_PID=$!
		_azt_w=0
		while [ $_azt_w -lt 100 ]; do
			kill -0 "$AZURITE_TABLE_PID" 2>/dev/null || break
			if curl -s -o /dev/null -m 2 "http://127.0.0.1:$AZURITE_TABLE_PORT/$AZURITE_ACCOUNT/Tables" 2>/dev/null; then
				AZURITE_TABLE_URL="http://127.0.0.1:$AZURITE_TABLE_PORT/$AZURITE_ACCOUNT"
				export AZURITE_TABLE_PORT AZURITE_TABLE_URL AZURITE_ACCOUNT AZURITE_KEY
				return 0
			fi
			sleep 0.2
			_azt_w=$((_azt_w + 1))
		done
		kill "$AZURITE_TABLE_PID" 2>/dev/null
		wait "$AZURITE_TABLE_PID" 2>/dev/null
		AZURITE_TABLE_PID=
	done
	echo "azurite: the table service could not start:" >&2
	cat "$AZURITE_TABLE_DIR/log" >&2
	return 1
}

azurite_table_stop() {
	if [ -n "$AZURITE_TABLE_PID" ]; then
		kill "$AZURITE_TABLE_PID" 2>/dev/null
		wait "$AZURITE_TABLE_PID" 2>/dev/null
		AZURITE_TABLE_PID=
	fi
	if [ -n "$AZURITE_TABLE_DIR" ]; then
		rm -rf "$AZURITE_TABLE_DIR"
		AZURITE_TABLE_DIR=
	fi
}
