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
