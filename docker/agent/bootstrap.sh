#!/bin/sh
# Fleetgate bootstrap (the image's entrypoint): asks the gateway for this start's secrets on the
# agent's private channel (START), one "NAME=<base64 value>" line each, then END; the gateway answers
# once per start. They become environment variables of the agent's process and exist nowhere else in
# the container: not in its configuration (docker inspect), not on disk, not in its logs. Then the
# agent runs, as PID 1, with stdin closed.
CHANNEL=/run/fleetgate
if [ -p "$CHANNEL/to-agent" ] && [ -p "$CHANNEL/from-agent" ]; then
  exec 3<"$CHANNEL/to-agent" 4>"$CHANNEL/from-agent"
  printf 'START\n' >&4
  while IFS= read -r line <&3; do
    [ "$line" = END ] && break
    name=${line%%=*}
    case "$name" in '' | [!A-Z]* | *[!A-Z0-9_]*) continue ;; esac
    value=$(printf '%s' "${line#*=}" | base64 -d) || exit 70
    export "$name=$value"
  done
  exec 3<&- 4>&-
fi
unset CHANNEL line name value
exec "$@" </dev/null
