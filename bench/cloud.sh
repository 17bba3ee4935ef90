# cloud.sh: the --cloud part of bench/run.sh (sourced by it, bash; uses its
# helpers timed, warm, mbps, secs, now, say, log, retire and its variables
# WORK, PW, TWOFOLD, CDIR, SRC, CLOUD_RGW_SRC, OUT, LOG, ROOT).
#
#   cloud_run      start Azurite and a one-node Ceph RGW on 127.0.0.1
#                  (tests/servers/*.sh; both stopped by run.sh's cleanup on
#                  exit, failure or interrupt), then for each store
#                    local    $WORK/cloud/local/repo
#                    azurite  azure://devstoreaccount1/bench/repo
#                    rgw      s3://bench/repo
#                  time twofold's first backup, unchanged re-backup, full
#                  restore into an empty directory and check --read-data;
#                  beside it the store's own client on the same corpus as
#                  plain files: upload (az storage blob upload-batch /
#                  aws s3 sync), then download into an empty directory
#                  (az storage blob download-batch / aws s3 sync).
#                  One run each, default client settings.
#   cloud_report   the Markdown table, and rows appended to $CSV.

CLOUD_STORES="local azurite rgw"
declare -A CR         # CR[store|measure] = seconds or FAIL
declare -A CCORPUS    # corpus measured per store

_cloud_env() {
    export AZURE_CONFIG_DIR=$WORK/azure-config
    mkdir -p "$AZURE_CONFIG_DIR"
    # no "new version available" check, no telemetry
    printf '{"update_time": "2999-01-01 00:00:00.000000", "check_time": "2999-01-01 00:00:00.000000"}\n' \
        > "$AZURE_CONFIG_DIR/versionCheck.json"
    printf '[core]\ncollect_telemetry = false\noutput = none\n' > "$AZURE_CONFIG_DIR/config"
    export AZURE_CORE_COLLECT_TELEMETRY=false
    export AZURE_CORE_ONLY_SHOW_ERRORS=true
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
    : > "$AWS_CONFIG_FILE"; : > "$AWS_SHARED_CREDENTIALS_FILE"
}

# the stores' own clients, as a user would run them (default settings)
_az() { az storage "$@" --only-show-errors; }
_aws() { aws --endpoint-url "$AWS_ENDPOINT_URL" --region "$AWS_REGION" "$@"; }

# _cloud_twofold STORE REPO CORPUS_DIR: prints "measure seconds" lines
_cloud_twofold() {
    local store=$1 repo=$2 corpus=$3 rd=$WORK/cloud/$1
    mkdir -p "$rd/state"
    export XDG_CACHE_HOME=$rd/state
    tf() { "$TWOFOLD" -q -r "$repo" --password-file "$PW" "$@"; }
    if ! tf init >> "$LOG" 2>&1; then
        say "  twofold init on $store failed, see $LOG"
        for m in first unchanged restore check; do echo "$m FAIL"; done
        return 0
    fi
    warm "$corpus"
    if timed twofold "$TWOFOLD" -q -r "$repo" --password-file "$PW" backup "$corpus"; then
        echo "first $T"; else echo "first FAIL"; fi
    if timed twofold "$TWOFOLD" -q -r "$repo" --password-file "$PW" backup "$corpus"; then
        echo "unchanged $T"; else echo "unchanged FAIL"; fi
    mkdir -p "$rd/restore"
    if timed twofold "$TWOFOLD" -q -r "$repo" --password-file "$PW" restore latest --target "$rd/restore"; then
        echo "restore $T"
        # sanity: as many regular files came back as there are
        local a b
        a=$(find "$corpus" -type f | wc -l); b=$(find "$rd/restore" -type f | wc -l)
        log "  $store restore: $b of $a regular files"
        [ "$a" = "$b" ] || say "  twofold restore from $store: $b files, expected $a"
    else echo "restore FAIL"; fi
    if timed twofold "$TWOFOLD" -q -r "$repo" --password-file "$PW" check --read-data; then
        echo "check $T"; else echo "check FAIL"; fi
    case "$store" in
        local) echo "stored $(du -sb "$repo" | cut -f1)" ;;
    esac
}

# _cloud_peer STORE CORPUS_DIR: upload as plain files, time a download into
# an empty directory; prints "upload s", "download s"
_cloud_peer() {
    local store=$1 corpus=$2 dl=$WORK/cloud/$1/peer-download a b
    mkdir -p "$dl"
    # the clients follow symlinks and stop (az) or exit 2 (aws) at dangling
    # ones (src-quick has some into the omitted arch/), so they get a copy
    # holding only the regular files (same bytes)
    if [ ! -d "$WORK/cloud/plain" ]; then
        cp -a "$corpus" "$WORK/cloud/plain.tmp" && find "$WORK/cloud/plain.tmp" -type l -delete &&
            mv "$WORK/cloud/plain.tmp" "$WORK/cloud/plain"
    fi
    corpus=$WORK/cloud/plain
    case "$store" in
    azurite)
        _az container create -n plain >> "$LOG" 2>&1 || { echo "upload FAIL"; echo "download FAIL"; return 0; }
        if timed az az storage blob upload-batch -d plain -s "$corpus" --only-show-errors; then
            echo "upload $T"; else echo "upload FAIL"; fi
        if timed az az storage blob download-batch -s plain -d "$dl" --only-show-errors; then
            echo "download $T"; else echo "download FAIL"; fi
        ;;
    rgw)
        _aws s3 mb s3://plain >> "$LOG" 2>&1 || { echo "upload FAIL"; echo "download FAIL"; return 0; }
        if timed aws aws --endpoint-url "$AWS_ENDPOINT_URL" --region "$AWS_REGION" \
                s3 sync --only-show-errors "$corpus" s3://plain/; then
            echo "upload $T"; else echo "upload FAIL"; fi
        if timed aws aws --endpoint-url "$AWS_ENDPOINT_URL" --region "$AWS_REGION" \
                s3 sync --only-show-errors s3://plain/ "$dl"; then
            echo "download $T"; else echo "download FAIL"; fi
        ;;
    esac
    a=$(find "$corpus" -type f | wc -l); b=$(find "$dl" -type f | wc -l)
    log "  $store peer download: $b files (corpus: $a regular files)"
}

cloud_run() {
    local store corpus repo ok m v
    _cloud_env
    . "$ROOT/tests/servers/azurite.sh"
    . "$ROOT/tests/servers/rgw.sh"
    mkdir -p "$WORK/cloud"
    # rgw_start replaces the EXIT trap with rgw_stop + $RGW_ON_EXIT
    RGW_ON_EXIT=cleanup
    for store in $CLOUD_STORES; do
        corpus=$CDIR/$SRC
        [ "$store" = rgw ] && corpus=$CDIR/$CLOUD_RGW_SRC
        CCORPUS[$store]=$(basename "$corpus")
        ok=1
        case "$store" in
        local) repo=$WORK/cloud/local/repo ;;
        azurite)
            say "cloud: starting Azurite"
            s=$(now)
            if TMPDIR=$WORK azurite_start 2>>"$LOG"; then
                say "  Azurite on 127.0.0.1:$AZURITE_PORT ($(secs "$s" "$(now)") s)"
            else say "  Azurite did not start, see $LOG"; ok=0; fi
            repo=azure://$AZURITE_ACCOUNT/bench/repo ;;
        rgw)
            say "cloud: starting Ceph RGW"
            s=$(now)
            if TMPDIR=$WORK rgw_start 2>>"$LOG"; then
                say "  RGW at $AWS_ENDPOINT_URL ($(secs "$s" "$(now)") s)"
                _aws s3 mb s3://bench >> "$LOG" 2>&1 || { say "  cannot create bucket bench"; ok=0; }
            else say "  RGW did not start, see $LOG"; ok=0; fi
            repo=s3://bench/repo ;;
        esac
        if [ "$ok" = 0 ]; then
            for m in first unchanged restore check upload download; do CR["$store|$m"]=FAIL; done
            continue
        fi
        say "twofold ${CCORPUS[$store]} -> $store ($repo)"
        mkdir -p "$WORK/cloud/$store"
        ( _cloud_twofold "$store" "$repo" "$corpus" ) > "$WORK/cloud/$store.results"
        if [ "$store" != local ]; then
            say "peer client ${CCORPUS[$store]} <-> $store"
            ( _cloud_peer "$store" "$corpus" ) >> "$WORK/cloud/$store.results"
        fi
        while read -r m v; do CR["$store|$m"]=$v; done < "$WORK/cloud/$store.results"
        retire "$WORK/cloud/$store"
        [ "$store" = azurite ] && [ "${CCORPUS[rgw]:-$CLOUD_RGW_SRC}" != "${CCORPUS[azurite]}" ] &&
            rm -rf "$WORK/cloud/plain"
        # free the emulator's memory/disk before the next store
        case "$store" in
            azurite) azurite_stop ;;
            rgw) rgw_stop ;;
        esac
    done
}

_cloud_cell() {     # seconds bytes -> "S (N MB/s)" or FAIL / –
    case "$1" in
        FAIL) echo FAIL ;;
        ""|-) echo "–" ;;
        *) echo "$1 ($(mbps "$2" "$1") MB/s)" ;;
    esac
}

cloud_report() {
    local store c bytes row m v peer
    echo "## Cloud stores on loopback (1 run; twofold with default settings; peer clients with defaults)"
    echo
    echo "MB/s = corpus size (du -sb) / time, for every column."
    echo
    echo "| store | corpus | first backup s | unchanged s | restore s | check s | peer download s |"
    echo "|---|---|---|---|---|---|---|"
    for store in $CLOUD_STORES; do
        c=${CCORPUS[$store]:-$SRC}
        bytes=$(du -sb "$CDIR/$c" | cut -f1)
        case "$store" in
            local) row="| local (directory) | $c"; peer="–" ;;
            azurite) row="| Azurite (azure://devstoreaccount1/bench/repo) | $c"
                     peer="az storage blob download-batch: $(_cloud_cell "${CR["$store|download"]:-FAIL}" "$bytes")" ;;
            rgw) row="| Ceph RGW (s3://bench/repo) | $c"
                 peer="aws s3 sync: $(_cloud_cell "${CR["$store|download"]:-FAIL}" "$bytes")" ;;
        esac
        for m in first unchanged restore check; do
            row="$row | $(_cloud_cell "${CR["$store|$m"]:-FAIL}" "$bytes")"
        done
        echo "$row | $peer |"
    done
    echo
    echo "Peer uploads of the same files (not compared): az storage blob upload-batch" \
         "$(_cloud_cell "${CR["azurite|upload"]:-FAIL}" "$(du -sb "$CDIR/${CCORPUS[azurite]:-$SRC}" | cut -f1)") s;" \
         "aws s3 sync $(_cloud_cell "${CR["rgw|upload"]:-FAIL}" "$(du -sb "$CDIR/${CCORPUS[rgw]:-$SRC}" | cut -f1)") s." \
         "Local repository: ${CR["local|stored"]:+$(awk -v b="${CR["local|stored"]}" 'BEGIN{printf "%.0f", b/1e6}') MB stored.}"
    [ "${CCORPUS[rgw]:-}" != "$SRC" ] &&
        echo "RGW measured on ${CCORPUS[rgw]}: its in-RAM OSD (tests/servers/rgw.sh) holds 1 GiB, too little for $SRC as plain files."
    echo
    for store in $CLOUD_STORES; do
        c=${CCORPUS[$store]:-$SRC}
        for m in first unchanged restore check; do
            echo "twofold-$store,$c,cloud_${m}_s,${CR["$store|$m"]:-FAIL}" >> "$CSV"
        done
    done
    echo "az-cli-azurite,${CCORPUS[azurite]:-$SRC},cloud_upload_s,${CR["azurite|upload"]:-FAIL}" >> "$CSV"
    echo "az-cli-azurite,${CCORPUS[azurite]:-$SRC},cloud_download_s,${CR["azurite|download"]:-FAIL}" >> "$CSV"
    echo "aws-cli-rgw,${CCORPUS[rgw]:-$SRC},cloud_upload_s,${CR["rgw|upload"]:-FAIL}" >> "$CSV"
    echo "aws-cli-rgw,${CCORPUS[rgw]:-$SRC},cloud_download_s,${CR["rgw|download"]:-FAIL}" >> "$CSV"
}
