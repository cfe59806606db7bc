#!/usr/bin/env bash
# Regenerates every figure the README quotes, in one run on this machine
# (absolute figures move by 2× between days on shared machines: compare
# only figures from the same run). Needs a build (pnpm build), Open MPI
# (openmpi-bin libopenmpi-dev), /usr/bin/python3 with torch for gloo, and
# root with iproute2 for the two namespace hosts. Writes docs/figures/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/figures
mkdir -p "$out"
bench="node apps/cli/bin/collective-bench.js"
run="node apps/cli/bin/collective-run.js"

{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), node $(node -v)"
  echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"

echo "== one process, 2 devices, with Open MPI over shm" >&2
$bench --mpi --progress=false --json "$out/all_reduce_2dev.json" --plot "$out/all_reduce_2dev.svg" > "$out/all_reduce_2dev.txt"

echo "== the platform probe (bare 2-thread all-reduce over one WebAssembly.Memory) and memory bandwidth" >&2
repo=$PWD
probe_dir=$(mktemp -d)
(cd "$probe_dir" && node "$repo/packages/bench/peers/probe_kern.mjs" > /dev/null && node "$repo/packages/bench/peers/probe_allreduce.mjs") > "$out/probe_allreduce.txt" 2>&1 || echo "probe failed" >> "$out/probe_allreduce.txt"
if command -v gcc > /dev/null; then
  gcc -O3 -march=native -fopenmp -o "$probe_dir/membw" packages/bench/peers/membw.c && "$probe_dir/membw" 256 2 > "$out/membw.txt" 2>&1
else
  echo "membw: skipped, no gcc" > "$out/membw.txt"
fi
rm -rf "$probe_dir"

echo "== small all-reduce on more devices than cores, and the reduce kernels" >&2
for g in 3 8; do $bench -g $g -b 8 -e 8 --progress=false > "$out/all_reduce_8B_${g}dev.txt"; done
$bench kernels -d float32,float16,bfloat16 > "$out/kernels.txt"

echo "== 2 processes × 1 device: Unix sockets (the default on one host), with Open MPI over tcp (default algorithms)" >&2
# -n: fixed iterations, so every size is timed over the same number of calls (auto stops at 25 ms per size).
$run --standalone --nproc-per-node 2 node apps/cli/bin/collective-bench.js -g 1 -b 8 -e 32M -f 4 -n 200 -w 20 --mpi --progress=false --json "$out/all_reduce_2proc.json" > "$out/all_reduce_2proc.txt"

echo "== the same over tcp (loopback), with Open MPI's ring all-reduce forced" >&2
COLLECTIVE_SOCKET_TRANSPORT=tcp OMPI_MCA_coll_tuned_use_dynamic_rules=1 OMPI_MCA_coll_tuned_allreduce_algorithm=4 \
  $run --standalone --nproc-per-node 2 node apps/cli/bin/collective-bench.js -g 1 -b 8 -e 32M -f 4 -n 200 -w 20 --mpi --progress=false --json "$out/all_reduce_2proc_tcp.json" > "$out/all_reduce_2proc_tcp.txt"

echo "== 2 processes × 2 devices (hierarchical, and the flat ring), with Open MPI over tcp on 4 ranks" >&2
$run --standalone --nproc-per-node 2 node apps/cli/bin/collective-bench.js -g 2 -b 8 -e 32M -f 4 -n 100 -w 10 --mpi --progress=false > "$out/all_reduce_2x2.txt"
$run --standalone --nproc-per-node 2 node apps/cli/bin/collective-bench.js -g 2 -b 8 -e 32M -f 4 -n 100 -w 10 --algo ring --progress=false > "$out/all_reduce_2x2_ring.txt"

echo "== gloo (torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo missing)), 2 processes" >&2
if /usr/bin/python3 -c 'import torch.distributed' 2>/dev/null; then
  MASTER_PORT=$((29600 + RANDOM % 300)) /usr/bin/python3 packages/bench/peers/gloo_coll.py 2 allreduce 33554432 > "$out/gloo_2proc.txt"
else
  echo "gloo: skipped, /usr/bin/python3 has no torch" > "$out/gloo_2proc.txt"
fi

echo "== the floor: C sockets over tcp loopback (../shared/peers/tcp_probes/c_tcp_probe.c), and Node sockets alone" >&2
c_probe=../shared/peers/tcp_probes/c_tcp_probe.c
if [ -f "$c_probe" ] && command -v gcc > /dev/null; then
  probe_dir=$(mktemp -d)
  gcc -O2 -o "$probe_dir/c_tcp_probe" "$c_probe" && "$probe_dir/c_tcp_probe" > "$out/c_tcp_probe.txt" 2>&1 || echo "c probe failed" >> "$out/c_tcp_probe.txt"
  rm -rf "$probe_dir"
else
  echo "c probe: skipped ($c_probe or gcc missing)" > "$out/c_tcp_probe.txt"
fi
node packages/bench/peers/node_tcp_probe.mjs > "$out/node_tcp_probe.txt" 2>&1 || true

echo "== 2 namespace hosts × 2 devices: hierarchical against the flat ring" >&2
ns=(crfig$$a crfig$$b)
cleanup() { for n in "${ns[@]}"; do ip netns del "$n" 2>/dev/null || true; done; }
trap cleanup EXIT
if ip netns add "${ns[0]}" 2>/dev/null && ip netns add "${ns[1]}"; then
  ip -n "${ns[0]}" link add veth0 type veth peer name veth1 netns "${ns[1]}"
  ip -n "${ns[0]}" addr add 10.232.0.1/24 dev veth0 && ip -n "${ns[1]}" addr add 10.232.0.2/24 dev veth1
  for i in 0 1; do ip -n "${ns[$i]}" link set lo up; done
  ip -n "${ns[0]}" link set veth0 up && ip -n "${ns[1]}" link set veth1 up
  sleep 1
  for algo in hier ring; do
    port=$((29900 + RANDOM % 90))
    for i in 0 1; do
      ip netns exec "${ns[$i]}" env RANK=$i WORLD_SIZE=2 MASTER_ADDR=10.232.0.1 MASTER_PORT=$port \
        node apps/cli/bin/collective-bench.js -g 2 -b 1M -e 32M -f 32 --algo $algo --progress=false > "$out/netns_2x2_$algo.$i.txt" 2>&1 &
    done
    wait
  done
else
  echo "netns: skipped, cannot create network namespaces (root and iproute2 needed)" > "$out/netns_2x2_hier.0.txt"
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
echo "figures written to $out" >&2
