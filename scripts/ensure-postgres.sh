#!/usr/bin/env bash
# Make sure the machine's PostgreSQL answers on 127.0.0.1:5432 for user postgres
# without a password (tests and benchmarks need it). Nothing is started for us on a
# fresh machine, so this installs Debian's packages when they are missing, creates a
# cluster when there is none, sets trust auth for postgres on loopback, and starts it.
set -euo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "PostgreSQL is not installed: installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if [ ! -d "/etc/postgresql/$version/main" ]; then
  pg_createcluster "$version" main >/dev/null
fi

hba="/etc/postgresql/$version/main/pg_hba.conf"
rule="host    all             postgres        127.0.0.1/32            trust"
if ! grep -qxF "$rule" "$hba"; then
  # First matching line wins in pg_hba.conf, so the trust rule goes on top.
  { echo "# added by the BPU hub's scripts/ensure-postgres.sh: tests connect as postgres over loopback"
    echo "$rule"
    cat "$hba"; } >"$hba.new"
  chown --reference="$hba" "$hba.new"
  chmod --reference="$hba" "$hba.new"
  mv "$hba.new" "$hba"
fi

if pg_lsclusters -h "$version" main 2>/dev/null | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
else
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 100); do
  pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
  sleep 0.2
done
echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
