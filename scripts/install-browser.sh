#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of the Swagger UI
# (test/e2e/swagger-ui.e2e.test.ts), which drives it with playwright-core. Never a downloaded
# browser: only the distribution's package. Idempotent: does nothing when /usr/bin/chromium
# exists. Needs root (or sudo without a password) to install; without it, says so and fails.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install-browser: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "install-browser: $CHROMIUM is missing and installing it needs root: run 'apt-get install -y chromium' as root" >&2
  exit 1
fi

started=$(date +%s)
echo "install-browser: $CHROMIUM missing; installing Debian's chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
# apt's chatter goes to a log, shown only if a step fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run_apt_get() {
  if ! "${as_root[@]}" apt-get "$@" >"$log" 2>&1; then
    echo "install-browser: apt-get $* failed:" >&2
    cat "$log" >&2
    exit 1
  fi
}
run_apt_get update -qq
# Recommended packages (extra fonts, drivers, sandbox helpers) are not needed to render a page headless.
run_apt_get install -y -qq --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium) in $(( $(date +%s) - started )) s"
