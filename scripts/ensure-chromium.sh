#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the operator-console browser tests.
# Playwright cannot download its own browsers here, so the tests drive the distribution's one.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "Chromium is not installed: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  # Another process may hold the dpkg lock for a while: wait for it rather than fail.
  if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then exit 0; fi
  echo "apt-get failed (attempt $attempt); retrying in 15 s" >&2
  sleep 15
done
exit 1
