#!/bin/sh
# Fleetgate bootstrap (the image's entrypoint): the gateway writes the agent's secrets to this
# process's stdin at start, one "NAME=<base64 value>" line each, then closes it. They become
# environment variables of the agent's process and exist nowhere else in the container: not in its
# configuration (docker inspect), not on disk, not in its logs. Then the agent runs, as PID 1,
# with stdin closed.
while IFS= read -r line || [ -n "$line" ]; do
  name=${line%%=*}
  case "$name" in '' | [!A-Z]* | *[!A-Z0-9_]*) continue ;; esac
  value=$(printf '%s' "${line#*=}" | base64 -d) || exit 70
  export "$name=$value"
done
unset line name value
exec "$@" </dev/null
