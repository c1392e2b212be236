#!/usr/bin/env bash
# Puts the real pre-commit, check-jsonschema and maturin (PyPI) on PATH for the tests,
# in a virtualenv under target/ so nothing is installed system-wide.
venv="${MIGRADE_VENV:-$PWD/target/py-tools}"
if [ ! -x "$venv/bin/pre-commit" ] || [ ! -x "$venv/bin/check-jsonschema" ] || [ ! -x "$venv/bin/maturin" ]; then
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q pre-commit check-jsonschema maturin
fi
export PATH="$venv/bin:$PATH"
