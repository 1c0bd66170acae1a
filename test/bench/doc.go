// Package bench compares zkd's throughput and latency with Apache ZooKeeper
// 3.8's, side by side in one run.
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
package bench
