#!/usr/bin/env bash
# CI: builds docker/gateway/Dockerfile on a Node 24 base made from files here (no registry), starts
# the image once against the CI Postgres with a read-only root filesystem, waits for /readyz, then
# stops it with SIGTERM and expects a clean exit (graceful shutdown, exit 0).
#   ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres): a role that can create databases and roles.
set -euo pipefail
cd "$(dirname "$0")/../.."
admin_url="${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
base="$(docker/gateway/make-local-base.sh)"
image=fleetgate/gateway:ci
docker build -q --build-arg NODE_IMAGE="$base" -f docker/gateway/Dockerfile -t "$image" . >/dev/null
db="fleetgate_image_check_$$"
name="fleetgate-image-check-$$"
port=$((20000 + RANDOM % 10000))
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql "$admin_url" -qc "CREATE DATABASE $db"
# Host network: the CI Postgres listens on the host's loopback. No Docker socket inside: AGENT_RUNTIME=none.
docker run -d --name "$name" --network host --read-only --tmpfs /tmp \
  --tmpfs /var/lib/fleetgate:uid=65532,gid=65532,mode=0700 \
  -e DATABASE_URL="${admin_url%/*}/$db" -e HOST=127.0.0.1 -e PORT="$port" \
  -e METRICS_HOST=127.0.0.1 -e METRICS_PORT=$((port + 1)) -e FLEETGATE_INSTANCE="$name" \
  -e AGENT_RUNTIME=none -e SHUTDOWN_DELAY_MS=0 -e LOG_LEVEL=warn \
  "$image" >/dev/null
for _ in $(seq 1 60); do
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
  if [[ "$(docker inspect -f '{{.State.Running}}' "$name")" != true ]]; then break; fi
  sleep 1
done
if ! body="$(curl -sf "http://127.0.0.1:$port/readyz")"; then
  echo "the gateway image never turned ready:" >&2
  docker logs "$name" 2>&1 | tail -n 30 >&2
  exit 1
fi
echo "/readyz: $body"
[[ "$(docker inspect -f '{{.Config.User}}' "$image")" == 65532:65532 ]] || { echo "the image does not run as 65532" >&2; exit 1; }
metrics="$(curl -sf "http://127.0.0.1:$((port + 1))/metrics")" # not piped into grep -q: pipefail and SIGPIPE
grep -q '^fleetgate_freeze_feed_up 1' <<<"$metrics" || { echo "no metrics" >&2; exit 1; }
docker stop -t 30 "$name" >/dev/null
code="$(docker inspect -f '{{.State.ExitCode}}' "$name")"
[[ "$code" == 0 ]] || { echo "SIGTERM: exited $code, not 0" >&2; docker logs "$name" 2>&1 | tail -n 20 >&2; exit 1; }
echo "gateway image: ready on a read-only root as 65532, stopped cleanly"
