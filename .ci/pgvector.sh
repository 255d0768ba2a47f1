#!/usr/bin/env bash
# Builds and installs pgvector into the newest local PostgreSQL (Debian bookworm ships none).
# Debian trixie's own source package (0.8.x) builds against bookworm's postgresql-server-dev. Idempotent:
# does nothing when the extension is already installed. Needs root and the Debian mirrors.
set -euo pipefail
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ]; then echo "pgvector: no PostgreSQL installed" >&2; exit 1; fi
pg_config="$pg_bin/pg_config"
major=$("$pg_config" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')
if [ -f "$("$pg_config" --sharedir)/extension/vector.control" ]; then exit 0; fi

export DEBIAN_FRONTEND=noninteractive
src_list=/etc/apt/sources.list.d/dejavu-trixie-src.sources
if [ ! -f "$src_list" ]; then
  cat > "$src_list" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "postgresql-server-dev-$major" build-essential dpkg-dev >/dev/null
work=$(mktemp -d)
(cd "$work" && apt-get source -qq pgvector >/dev/null 2>&1 && cd pgvector-*/ && make -s PG_CONFIG="$pg_config" >/dev/null && make -s install PG_CONFIG="$pg_config" >/dev/null)
rm -rf "$work"
echo "pgvector: installed into PostgreSQL $major"
