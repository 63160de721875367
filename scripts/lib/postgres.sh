# Makes sure the PostgreSQL the tests use is running and reachable, installing and starting
# it when it is not. Exports SESSIOND_TEST_POSTGRES (the URL of the `test` database).
# Sourced by scripts/test.

pg_url_default="postgres://postgres@127.0.0.1:5432/test"

pg_try() { # URL -> 0 when a query succeeds
  psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

ensure_postgres() {
  if [[ -n "${SESSIOND_TEST_POSTGRES:-}" ]]; then
    pg_try "$SESSIOND_TEST_POSTGRES" && return 0
    echo "SESSIOND_TEST_POSTGRES=${SESSIOND_TEST_POSTGRES%%@*}@… does not answer" >&2
    return 1
  fi
  export SESSIOND_TEST_POSTGRES="$pg_url_default"
  pg_try "$SESSIOND_TEST_POSTGRES" && return 0

  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not installed: installing it (apt-get)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL $version" >&2
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start" >&2; return 1; }

  # A fresh install asks TCP clients for a password: give the postgres role one the tests
  # know, through the local socket (peer authentication as the postgres OS user).
  if ! pg_try "postgres://postgres@127.0.0.1:5432/postgres"; then
    as_root su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\"" >/dev/null
    SESSIOND_TEST_POSTGRES="postgres://postgres:postgres@127.0.0.1:5432/test"
  fi
  local admin="${SESSIOND_TEST_POSTGRES%/test}/postgres"
  if ! psql "$admin" -Atqc "select 1 from pg_database where datname = 'test'" | grep -q 1; then
    psql "$admin" -qc 'CREATE DATABASE test' >/dev/null
  fi
  pg_try "$SESSIOND_TEST_POSTGRES"
}
