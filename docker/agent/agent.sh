#!/bin/sh
# Fleetgate reference agent: answers tasks from its config over its private channel.
#
# The channel is two FIFOs the gateway created for this agent alone (mounted at /run/fleetgate):
# one line out (a request), one line back (the answer). Questions and answers travel base64-encoded.
#   HELLO               -> OK
#   ANSWERS             -> "<b64 question> <b64 answer>" lines, "* <b64 fallback>", then END
#   NEXT                -> "TASK <id> <b64 input>", or NONE after a while
#   RESULT <id> <b64>   -> OK
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

while :; do
  ask NEXT
  case "$REPLY" in
  "TASK "*)
    set -- $REPLY
    id=$2
    question=$3
    answer=$(awk -v q="$question" '$1 == q { print $2; exit }' /tmp/answers)
    [ -n "$answer" ] || answer=$(awk '$1 == "*" { print $2; exit }' /tmp/answers)
    ask "RESULT $id $answer"
    echo "answered task $id"
    ;;
  esac
done
