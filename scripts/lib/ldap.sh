# Makes sure what the directory tests need is installed: OpenLDAP's slapd and its command
# line tools. Debian's own slapd configuration and service are kept out of the way: each
# test runs a private slapd on a loopback port with its own configuration. Sourced by
# scripts/test.

ldap_ready() {
  command -v ldapadd >/dev/null 2>&1 && command -v ldapmodify >/dev/null 2>&1 &&
    [[ -x /usr/sbin/slapd ]] && [[ -f /etc/ldap/schema/inetorgperson.schema ]]
}

ensure_ldap() {
  ldap_ready && return 0
  echo "installing OpenLDAP's slapd and ldap-utils (apt-get), without a system directory" >&2
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  echo 'slapd slapd/no_configuration boolean true' | $sudo debconf-set-selections
  # No service may start during the install: the tests start their own slapd.
  local rc=/usr/sbin/policy-rc.d had_rc=""
  [[ -e $rc ]] && had_rc=1
  [[ -n $had_rc ]] || printf '#!/bin/sh\nexit 101\n' | $sudo tee $rc >/dev/null
  $sudo chmod +x $rc
  apt_install slapd ldap-utils
  [[ -n $had_rc ]] || $sudo rm -f $rc
  ldap_ready
}
