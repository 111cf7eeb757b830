#!/usr/bin/env bash
# Set up and run every test: engine, CLI, AppTest and real-browser tests.
# Installs the Python packages into .venv, axe-core into tests/node_modules and, where they are missing,
# Debian's Chromium, nginx and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt -r tests/requirements.txt
missing=()  # only what is absent: npm is a package of its own on Debian but comes with NodeSource's nodejs
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}"
fi
npm ci --prefix tests --no-audit --no-fund --loglevel=error  # axe-core (tests/package-lock.json), for the accessibility test
.venv/bin/python -m pytest tests "$@"
