#!/usr/bin/env bash
# Compares two built checkouts of this repository on the same machine in one
# run: 2 processes × 1 device all-reduce (float32 sum) at 8 B and 32 MiB, over
# Unix sockets and over tcp, the two builds alternating round by round so
# that the machine's drift hits both alike.
#   scripts/compare_builds.sh OTHER_CHECKOUT [ROUNDS]
# Prints one line per measurement: build, transport, size, then time (µs) and
# busbw (GB/s) out of place and in place.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
other="$(cd "$1" && pwd)"
rounds="${2:-3}"
measure() { # checkout transport size iters warmup
  local dir=$1 transport=$2 size=$3 iters=$4 warm=$5
  (cd "$dir" && COLLECTIVE_SOCKET_TRANSPORT=$transport node apps/cli/bin/collective-run.js --standalone --nproc-per-node 2 \
    node apps/cli/bin/collective-bench.js -g 1 -b "$size" -e "$size" -n "$iters" -w "$warm" --progress=false 2>/dev/null) |
    awk -v b="$(basename "$dir")" -v t="$transport" '$5 == "float32" && !done { print b, t, $3, $8, $10, $12, $14; done=1 }'
}
for ((r = 1; r <= rounds; r++)); do
  for transport in unix tcp; do
    for dir in "$other" "$here"; do
      measure "$dir" "$transport" 8 2000 200
      measure "$dir" "$transport" 32M 20 3
    done
  done
done
