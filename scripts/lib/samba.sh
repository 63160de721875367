# Makes sure what the Samba reporter tests need is installed: smbd, smbstatus, smbpasswd and
# smbclient. Debian's own Samba services are kept from starting: each test runs a private
# smbd on a loopback port. Sourced by scripts/test.

samba_ready() {
  [[ -x /usr/sbin/smbd ]] && command -v smbstatus >/dev/null 2>&1 &&
    command -v smbpasswd >/dev/null 2>&1 && command -v smbclient >/dev/null 2>&1
}

ensure_samba() {
  samba_ready && return 0
  echo "installing Samba (smbd) and smbclient (apt-get), without starting its services" >&2
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  local rc=/usr/sbin/policy-rc.d had_rc=""
  [[ -e $rc ]] && had_rc=1
  [[ -n $had_rc ]] || printf '#!/bin/sh\nexit 101\n' | $sudo tee $rc >/dev/null
  $sudo chmod +x $rc
  apt_install samba smbclient
  [[ -n $had_rc ]] || $sudo rm -f $rc
  samba_ready
}
