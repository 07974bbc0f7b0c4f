#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries when none are present. The
# tests and the local stack start their own throwaway clusters from these
# binaries, so no cluster is created or started here.
set -euo pipefail

if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then
  exit 0
fi
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

echo "PostgreSQL server binaries not found; installing Debian's postgresql package"
# Keep the package from creating and starting a default cluster.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  $sudo mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
