#!/usr/bin/env bash
# Validates docker-compose.yml with `docker compose config -q` (no Docker engine needed).
# Where the Compose plugin is missing, builds Compose v2 once from the Go module proxy into .tools/
# (as a main module: `go install` refuses it because its go.mod has exclude directives).
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE_VERSION=v2.40.3

if docker compose version >/dev/null 2>&1; then
  docker compose config -q
  echo "docker compose config -q: ok ($(docker compose version --short))"
  exit 0
fi

dir=.tools/docker-compose
bin=$dir/docker-compose
if [ ! -x "$bin" ] || [ "$(cat "$dir/.version" 2>/dev/null)" != "$COMPOSE_VERSION" ]; then
  echo "building docker compose $COMPOSE_VERSION into $dir (once)…"
  src=$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] || { echo "could not download github.com/docker/compose/v2@$COMPOSE_VERSION" >&2; exit 1; }
  tmp=$(mktemp -d)
  cp -r "$src/." "$tmp/"
  chmod -R u+w "$tmp"
  mkdir -p "$dir"
  (cd "$tmp" && CGO_ENABLED=0 go build -trimpath -o "$OLDPWD/$bin.tmp" ./cmd)
  mv "$bin.tmp" "$bin"
  echo "$COMPOSE_VERSION" > "$dir/.version"
  rm -rf "$tmp"
fi
"$bin" config -q
echo "docker compose config -q: ok (compose $COMPOSE_VERSION)"
