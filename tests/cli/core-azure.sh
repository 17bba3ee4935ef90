#!/bin/sh
# core-azure: the core tests -- roundtrip, dedup, confidentiality,
# integrity, crash -- with their repository in Azure Blob Storage
# (Azurite, started once for all of them; tests/servers/teststore.sh).
. "$(dirname "$0")/lib.sh"
. "$TWOFOLD_TOP/tests/servers/azurite.sh"
trap 'azurite_stop; chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT

azurite_start; ok $? "Azurite starts"
[ -n "$AZURITE_PID" ] || done_testing
core_tests azure
done_testing
