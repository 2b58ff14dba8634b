# Sourced by the scripts that install Debian packages.
#   apt_install PACKAGE...   installs those not installed yet: quiet, idempotent; as root with
#                            apt-get, otherwise through sudo. The package lists are refreshed
#                            first, once per process (always when CI=true, where they may be stale).
apt_install() {
    local package missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && [ "${CI:-}" != "true" -o -n "${APT_LISTS_REFRESHED:-}" ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if [ -z "${APT_LISTS_REFRESHED:-}" ]; then
        $sudo apt-get update -qq
        export APT_LISTS_REFRESHED=1
    fi
    [ "${#missing[@]}" -eq 0 ] && return 0
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
