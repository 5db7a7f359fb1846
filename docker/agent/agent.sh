#!/bin/sh
# Fleetgate reference agent: answers tasks from its config over its private channel.
#
# The channel is two FIFOs the gateway created for this agent alone (mounted at /run/fleetgate):
# one line out (a request), one line back (the answer). Questions and answers travel base64-encoded.
#   HELLO               -> OK
#   ANSWERS             -> "<b64 question> <b64 answer>" lines, "* <b64 fallback>", then END
#   NEXT                -> "TASK <id> <b64 input>", or NONE after a while
#   RESULT <id> <b64>   -> OK
# Memory, as the agent itself: its token arrives in $FLEETGATE_AGENT_TOKEN at each start (with its
# credentials, through bootstrap) and the channel checks it is this agent's:
#   MEMPUT <jwt> <b64 key> <b64 JSON> -> OK | ERR <code>
#   MEMGET <jwt> <b64 key>        -> VALUE <b64 JSON> | NONE | ERR <code>
#   RENEW <jwt>                   -> TOKEN <jwt>   (same start, fresh expiry; done every 5 minutes)
# Tasks "remember <key>=<value>" and "recall <key>" use it; anything else is answered from the config.
trap 'echo "agent stopping"; exit 0' TERM INT

CHANNEL=/run/fleetgate
exec 3<"$CHANNEL/to-agent" 4>"$CHANNEL/from-agent"

ask() {
  printf '%s\n' "$1" >&4
  IFS= read -r REPLY <&3
}

echo "agent up as uid $(id -u)"
ask HELLO

: >/tmp/answers
printf 'ANSWERS\n' >&4
while IFS= read -r line <&3; do
  [ "$line" = END ] && break
  printf '%s\n' "$line" >>/tmp/answers
done
echo "loaded $(wc -l </tmp/answers) answers"

b64() { printf '%s' "$1" | base64 | awk '{ printf "%s", $0 }'; }
unb64() { printf '%s' "$1" | base64 -d; }
# A JSON string holding plain text, and back. This agent remembers text without quotes or backslashes.
plain() { case "$1" in *[\"\\]*) return 1 ;; esac; }
to_json() { printf '"%s"' "$1"; }
from_json() { v=${1#\"}; printf '%s' "${v%\"}"; }
TOKEN=$FLEETGATE_AGENT_TOKEN
unset FLEETGATE_AGENT_TOKEN
RENEWED=$(date +%s)
# The token lives 15 minutes: renew it when it is more than 5 minutes old.
token() {
  [ $(($(date +%s) - RENEWED)) -lt 300 ] && return
  ask "RENEW $TOKEN"
  case "$REPLY" in "TOKEN "*) TOKEN=${REPLY#TOKEN }; RENEWED=$(date +%s) ;; esac
}

# Sets $answer for a memory task, or returns 1 when the task is not one.
memory_task() {
  case "$1" in
  "remember "*=*)
    kv=${1#remember }
    key=${kv%%=*}
    value=${kv#*=}
    if ! plain "$value"; then
      answer="could not remember $key (quotes and backslashes are not supported)"
      return 0
    fi
    token
    ask "MEMPUT $TOKEN $(b64 "$key") $(b64 "$(to_json "$value")")"
    [ "$REPLY" = OK ] && answer="remembered $key" || answer="could not remember $key (${REPLY#ERR })"
    ;;
  "recall "*)
    key=${1#recall }
    token
    ask "MEMGET $TOKEN $(b64 "$key")"
    case "$REPLY" in
    "VALUE "*) answer=$(from_json "$(unb64 "${REPLY#VALUE }")") ;;
    NONE) answer="I don't remember $key" ;;
    *) answer="could not recall $key (${REPLY#ERR })" ;;
    esac
    ;;
  *) return 1 ;;
  esac
}

while :; do
  ask NEXT
  case "$REPLY" in
  "TASK "*)
    set -- $REPLY
    id=$2
    question=$3
    if memory_task "$(unb64 "$question")"; then
      answer=$(b64 "$answer")
    else
      answer=$(awk -v q="$question" '$1 == q { print $2; exit }' /tmp/answers)
      [ -n "$answer" ] || answer=$(awk '$1 == "*" { print $2; exit }' /tmp/answers)
    fi
    ask "RESULT $id $answer"
    echo "answered task $id"
    ;;
  esac
done
