#!/usr/bin/env bash
# bench-start.sh BINARY: binary size, cold start to the first 200 on /healthz, and idle RSS.
# Usage: bash docs/bench-start.sh ./weftid   (build it first with `task build`, or the go build line in docs/benchmarks.md)
set -euo pipefail
bin=${1:?usage: bench-start.sh BINARY}
runs=${RUNS:-10}
port=${PORT:-18080}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

echo "binary: $(stat -c %s "$bin") bytes ($(du -h "$bin" | cut -f1)); $(file -b "$bin" | cut -d, -f1-2)"
{ ldd "$bin" 2>&1 || true; } | head -1 | sed 's/^/ldd: /'

# First start creates the database and runs the migrations; the following ones open it.
for mode in fresh existing; do
  total=0; best=999999; worst=0
  for i in $(seq "$runs"); do
    [ "$mode" = fresh ] && rm -f "$dir"/weftid.db* "$dir"/weftid.key
    t0=$(date +%s%N)
    "$bin" serve --addr "127.0.0.1:$port" --db "$dir/weftid.db" >/dev/null 2>&1 &
    pid=$!
    until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; do sleep 0.002; done
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000 ))
    total=$((total + ms)); (( ms < best )) && best=$ms; (( ms > worst )) && worst=$ms
    if [ "$mode" = existing ] && [ "$i" = "$runs" ]; then
      sleep 3
      echo "idle RSS after 3 s: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
    fi
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  echo "cold start to first 200 on /healthz ($mode database, $runs runs): mean $((total / runs / 1000)) ms, best $((best / 1000)) ms, worst $((worst / 1000)) ms"
done
