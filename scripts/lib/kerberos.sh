# Makes sure what the Kerberos (MIM PAM) build and tests need is installed: MIT Kerberos'
# KDC and admin tools, kinit, curl with GSS-API, and the headers and libclang that the
# libgssapi crate builds against. Sourced by scripts/test.

kerberos_ready() {
  command -v krb5kdc >/dev/null 2>&1 && command -v kadmin.local >/dev/null 2>&1 &&
    command -v kinit >/dev/null 2>&1 && command -v curl >/dev/null 2>&1 &&
    [[ -e /usr/include/gssapi/gssapi.h ]] && compgen -G "/usr/lib/llvm-*/lib/libclang*.so*" >/dev/null
}

ensure_kerberos() {
  kerberos_ready && return 0
  echo "installing MIT Kerberos, curl, libkrb5-dev and libclang-dev (apt-get)" >&2
  apt_install krb5-kdc krb5-admin-server krb5-user libkrb5-dev libclang-dev curl
  kerberos_ready
}
