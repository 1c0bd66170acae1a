// Package bench compares zkd's throughput, latency, memory and storage with
// Apache ZooKeeper 3.8's, side by side in one run.
//
// BenchmarkSideBySide starts zkd and Apache ZooKeeper, each with and without
// forceSync, on loopback through internal/testcluster, drives every server
// with the workloads of internal/loadgen through the go-zookeeper client,
// and prints Markdown tables of ops/s, latency percentiles, server CPU per
// operation and memory, with zkd's figures as ratios of ZooKeeper's measured
// in the same run. docs/benchmarks.md gives the command and the latest
// figures. It runs only with -bench:
//
//	go test ./test/bench -run '^$' -bench SideBySide -benchtime 1x -timeout 20m
//
// The storage benchmarks take minutes and gigabytes of disk, so they skip
// unless ZKD_BENCH_STORAGE=1:
//
//   - BenchmarkWriters: setData throughput, latency and transactions per
//     fsync with 1, 8, 32 and 128 writers, forceSync on for both servers;
//   - BenchmarkRestart: time from process start to a correct getData, RSS,
//     and snapshot size (plain, gz, snappy) with 1,000,000 znodes;
//   - BenchmarkZkdRestartInProcess: zkd's side of BenchmarkRestart inside
//     the test process, for runtime/pprof profiles.
//
// For example:
//
//	ZKD_BENCH_STORAGE=1 go test ./test/bench -run '^$' -bench '^BenchmarkRestart$' -benchtime 1x -timeout 40m
//
// The ensemble benchmarks skip unless ZKD_BENCH_ENSEMBLE=1:
//
//   - BenchmarkEnsembleFailover: time from SIGKILL of the leader to the
//     first acknowledged write, 3 and 5 members, tickTime 2000 and 200 ms,
//     with where the time went from the survivors' logs;
//   - BenchmarkEnsembleThroughput: setData and getData throughput and
//     latency of 3 members with 1, 32 and 128 clients spread over them,
//     and transactions per fsync on the leader.
//
// Both at once:
//
//	ZKD_BENCH_ENSEMBLE=1 go test ./test/bench -run '^$' -bench '^BenchmarkEnsemble' -benchtime 1x -timeout 60m
//
// The issue 11 ("Performance") benchmarks skip unless ZKD_BENCH_ISSUE11=1:
//
//   - BenchmarkSustainedSetData: sustained 1 KiB setData with
//     snapCount=10000 on a small tree and on 1,000,000 znodes under 1000
//     parents: ops/s, p99.9, max, requests over 100 ms, snapshots written,
//     peak RSS against the steady RSS, RSS and ZooKeeper's live heap per
//     znode;
//   - BenchmarkGetChildren: server CPU per getChildren of a node with
//     100,000 children, and the client's latency;
//   - BenchmarkZkdTreeInProcess: zkd's side of the 1,000,000-znode tree in
//     the test process, for its live heap per znode and pprof profiles.
//
// ZKD_BENCH_SERVER_CPUS and ZKD_BENCH_CLIENT_CPUS pin the servers (taskset)
// and the test process with its load generator to CPU lists, for every
// benchmark; ZKD_BENCH_ZKD_GOMAXPROCS sets zkd's GOMAXPROCS.
// docs/benchmarks.md ("Snapshots under load, memory, restart, writers on one CPU") gives the commands.
//
// BenchmarkAttacks skips unless ZKD_BENCH_ATTACK=1. It runs each
// misbehaving client of the hardening issue (slow readers, 1,000 large
// reads in flight, a 1 MB write flood, 5,000 connections, 1,000 half
// handshakes) against a fresh zkd and a fresh ZooKeeper while a canary
// session reads and writes, and prints the canary's latency, errors and
// time to recover, and the server's RSS:
//
//	ZKD_BENCH_ATTACK=1 go test ./test/bench -run '^$' -bench '^BenchmarkAttacks$' -benchtime 1x -timeout 30m
//
// BenchmarkTLS skips unless ZKD_BENCH_TLS=1. It compares getData and
// setData over each server's plaintext and TLS client ports (client
// certificates required) and the rate of session set-ups over each:
//
//	ZKD_BENCH_TLS=1 go test ./test/bench -run '^$' -bench '^BenchmarkTLS$' -benchtime 1x -timeout 20m
package bench
