#!/usr/bin/env bash
# Usage: timed.sh STEP COMMAND [ARG...]
# Runs COMMAND, then prints and records (in $TIMINGS_FILE, if set) how long STEP took and how it ended.
set -euo pipefail

step=$1
shift
start=$(date +%s%N)
status=0
"$@" || status=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
line=$(printf '%-16s %7d.%03d s  exit %d' "$step" $((elapsed / 1000)) $((elapsed % 1000)) "$status")
echo "== $line"
if [[ -n ${TIMINGS_FILE:-} ]]; then
    mkdir -p "$(dirname "$TIMINGS_FILE")"
    echo "$line" >>"$TIMINGS_FILE"
fi
exit "$status"
