# clients.sh: the independent cloud clients that tests compare twofold's
# work with (sourced): Debian's `az` (azure-cli) and `aws` (awscli).
#
#   clients_install az|aws...   install the Debian packages of the missing
#                   ones (root; CI is root), else print the apt-get line;
#                   0 once every one named is on PATH.
#   az_setup        give az its own config directory in $T (with a version
#                   check far in the future) and no telemetry, so it never
#                   reaches the internet.
#   aws_setup       no EC2 metadata lookups.

clients_install() {
	_cl_need=""
	for _cl in "$@"; do
		case $_cl in
		az) command -v az >/dev/null 2>&1 || _cl_need="$_cl_need azure-cli" ;;
		aws) command -v aws >/dev/null 2>&1 || _cl_need="$_cl_need awscli" ;;
		esac
	done
	if [ -n "$_cl_need" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "needs:$_cl_need; as root run: apt-get install -y --no-install-recommends$_cl_need" >&2
			return 1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $_cl_need >/dev/null 2>&1 ||
		    { apt-get update -q >/dev/null 2>&1 &&
		      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $_cl_need >/dev/null 2>&1; }
	fi
	for _cl in "$@"; do
		command -v "$_cl" >/dev/null 2>&1 || return 1
	done
}

az_setup() {
	export AZURE_CONFIG_DIR="$T/az"
	mkdir -p "$AZURE_CONFIG_DIR"
	printf '{"versions": {"update_time": "2099-01-01 00:00:00.000000"}}\n' >"$AZURE_CONFIG_DIR/versionCheck.json"
	export AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_ONLY_SHOW_ERRORS=true
}

aws_setup() {
	export AWS_EC2_METADATA_DISABLED=true
}
