#!/bin/bash
# Polls every Nomad server's view of the leader about ten times a second
# until /tmp/leader-probe.stop exists. One line per round: <unix ms> and, per
# server, its leader ("ip:port"), NONE (it answers, but knows no leader),
# DOWN (connection refused: not running) or SLOW (no answer within 2 s).
out=/tmp/leader-probe.log
: > "$out"
while [ ! -e /tmp/leader-probe.stop ]; do
  line="$(date +%s%3N)"
  for server in "$@"; do
    body=$(curl -s --max-time 2 -w ' %{http_code}' --cacert /etc/nomad.d/tls/ca.crt \
      "https://$server:4646/v1/status/leader")
    case $? in
      0) code=${body##* }; leader=${body% *}; leader=${leader//\"/}
         [ "$code" = 200 ] && [ -n "$leader" ] && answer=$leader || answer=NONE ;;
      28) answer=SLOW ;;
      *) answer=DOWN ;;
    esac
    line="$line $answer"
  done
  echo "$line" >> "$out"
  sleep 0.1
done
