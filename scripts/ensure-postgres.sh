#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster if it is not answering (tests and benchmarks need it).
set -euo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
  sleep 0.2
done
echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
