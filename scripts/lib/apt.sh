# Installs Debian packages, running `apt-get update` at most once per script. Sourced by
# scripts/test (and by the ensure_* helpers it sources).

APT_UPDATED=${APT_UPDATED:-}

apt_install() {
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  if [[ -z "$APT_UPDATED" ]]; then
    $sudo apt-get update -qq
    APT_UPDATED=1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
