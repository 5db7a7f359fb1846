#!/usr/bin/env bash
# Builds a minimal Node 24 base image from files on this machine, for hosts that cannot pull
# node:24-slim (CI here has no registry): the node binary from node_modules/node and the shared
# libraries `ldd` lists, FROM scratch (distroless-style: no shell, no package manager).
#   docker/gateway/make-local-base.sh [tag]   (default fleetgate-local/node:24)
set -euo pipefail
cd "$(dirname "$0")/../.."
tag="${1:-fleetgate-local/node:24}"
node_bin="$(readlink -f node_modules/node/bin/node)"
[[ "$("$node_bin" --version)" == v24.* ]] || { echo "node_modules/node is not Node 24" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/usr/local/bin" "$work/rootfs/tmp"
chmod 1777 "$work/rootfs/tmp"
cp "$node_bin" "$work/rootfs/usr/local/bin/node"
# Every library the binary links, at the path the loader looks for it (the loader itself included).
ldd "$node_bin" | grep -o '/[^ ]*' | while read -r lib; do
  mkdir -p "$work/rootfs$(dirname "$lib")"
  cp -L "$lib" "$work/rootfs$lib"
done
cat >"$work/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
CMD ["node"]
DOCKERFILE
docker build -q -t "$tag" "$work" >/dev/null
echo "$tag"
