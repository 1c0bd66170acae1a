#!/bin/sh
# issue11.sh runs every benchmark of issue 11 ("Performance") once, with
# the servers on CPU 1 and the load generator on CPU 0, and saves each
# one's output in OUTDIR (default ./bench11-<date>). Run it from the module
# root on a quiet machine with at least 2 CPUs, 8 GB of memory and 10 GB of
# free disk; it takes about an hour and a half with the defaults.
# docs/benchmarks.md ("Snapshots under load, memory, restart, writers on one CPU") explains the output. Environment variables set by
# the caller (ZKD_BENCH_SUSTAIN, ZKD_BENCH_ROUNDS, ...) override the
# defaults below; QUICK=1 shrinks every benchmark to check the harness in
# a few minutes (the figures then mean nothing).
set -eu
out=${1:-bench11-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
export ZKD_BENCH_SERVER_CPUS="${ZKD_BENCH_SERVER_CPUS:-1}"
export ZKD_BENCH_CLIENT_CPUS="${ZKD_BENCH_CLIENT_CPUS:-0}"
if [ "${QUICK:-0}" = 1 ]; then
	export ZKD_BENCH_SUSTAIN="${ZKD_BENCH_SUSTAIN:-3s}" ZKD_BENCH_RESTART_NODES="${ZKD_BENCH_RESTART_NODES:-20000}"
	export ZKD_BENCH_TREE_PARENTS="${ZKD_BENCH_TREE_PARENTS:-100}" ZKD_BENCH_SETTLE="${ZKD_BENCH_SETTLE:-1s}"
	export ZKD_BENCH_DURATION="${ZKD_BENCH_DURATION:-2s}" ZKD_BENCH_CHILDREN="${ZKD_BENCH_CHILDREN:-10000}"
	export ZKD_BENCH_RESTARTS="${ZKD_BENCH_RESTARTS:-1}" ZKD_BENCH_WRITERS="${ZKD_BENCH_WRITERS:-1,8}"
fi
rounds=${ZKD_BENCH_ROUNDS:-3}

run() { # name, then the go test arguments
	name=$1
	shift
	echo "$(date -u +%H:%M:%S) $name" >&2
	go test ./test/bench -run '^$' -benchtime 1x "$@" >"$out/$name.txt" 2>&1 || echo "$name failed: see $out/$name.txt" >&2
}

# Goals 1 and 2: sustained setData with snapCount=10000, small and 1M tree.
ZKD_BENCH_ISSUE11=1 ZKD_BENCH_ROUNDS=$rounds ZKD_BENCH_WARMUP=${ZKD_BENCH_WARMUP:-5s} \
	run sustained -bench '^BenchmarkSustainedSetData$' -timeout 120m
# Goal 2: zkd's live heap per znode, in-process, with profiles.
mkdir -p "$out/prof"
ZKD_BENCH_ISSUE11=1 ZKD_BENCH_PPROF="$out/prof" ZKD_BENCH_TREE_PARENTS=${ZKD_BENCH_TREE_PARENTS:-1000} \
	run tree-inprocess -bench '^BenchmarkZkdTreeInProcess$' -v -timeout 30m
# Goals 3 and 6: restart at 1M znodes (1000×1000 of 32 B), plain, gz, snappy.
ZKD_BENCH_STORAGE=1 ZKD_BENCH_TREE_PARENTS=${ZKD_BENCH_TREE_PARENTS:-1000} ZKD_BENCH_TREE_VALUE=${ZKD_BENCH_TREE_VALUE:-32} \
	run restart -bench '^BenchmarkRestart$' -timeout 90m
# Goal 4: setData and create with 1, 8, 32, 128 sessions, server on one
# CPU (GOMAXPROCS 1) and on both (GOMAXPROCS 2, sharing CPU 0 with the
# load generator).
for cpus in "$ZKD_BENCH_SERVER_CPUS" 0-1; do
	for w in setData create; do
		ZKD_BENCH_SERVER_CPUS=$cpus ZKD_BENCH_STORAGE=1 ZKD_BENCH_WORKLOAD=$w ZKD_BENCH_ROUNDS=$rounds \
			run "writers-$w-cpus$cpus" -bench '^BenchmarkWriters$' -timeout 40m
	done
done
# Goal 5: getChildren of 100,000 children.
ZKD_BENCH_ISSUE11=1 ZKD_BENCH_ROUNDS=$rounds ZKD_BENCH_WARMUP=${ZKD_BENCH_WARMUP:-5s} \
	run getchildren -bench '^BenchmarkGetChildren$' -timeout 30m
# Goal 7: reads (and the other workloads) side by side.
ZKD_BENCH_ROUNDS=$rounds run sidebyside -bench '^BenchmarkSideBySide$' -timeout 40m
echo "results in $out" >&2
