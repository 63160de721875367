# Makes sure what the Kerberos (MIM PAM) tests need is installed: MIT Kerberos' KDC and
# admin tools, kinit, curl with GSS-API, and the GSS-API library sessiond loads at run time
# (nothing at build time). Sourced by scripts/test.

kerberos_ready() {
  command -v krb5kdc >/dev/null 2>&1 && command -v kadmin.local >/dev/null 2>&1 &&
    command -v kinit >/dev/null 2>&1 && command -v curl >/dev/null 2>&1 &&
    compgen -G "/usr/lib/*/libgssapi_krb5.so.2" >/dev/null
}

ensure_kerberos() {
  kerberos_ready && return 0
  echo "installing MIT Kerberos' KDC and tools and curl (apt-get)" >&2
  apt_install krb5-kdc krb5-admin-server krb5-user libgssapi-krb5-2 curl
  kerberos_ready
}
