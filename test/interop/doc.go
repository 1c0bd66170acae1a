// Package interop runs Apache ZooKeeper's own clients against zkd and compares with Apache ZooKeeper 3.8.
//
// Each test drives a real client (kazoo, zkCli.sh) through the same steps
// against a standalone Apache ZooKeeper and against zkd, started by
// internal/testcluster, and requires the two outputs to match after volatile
// values (zxids, times, session ids) are masked. Apache ZooKeeper's output is
// the reference; it is also checked against a golden capture in testdata so
// that a change in the reference itself is noticed.
//
// The tests skip when Java, the ZooKeeper jars or kazoo are missing, or when
// the module has no zkd command yet; with ZKD_REQUIRE_INTEROP=1 they fail
// instead. Regenerate the golden captures with
//
//	go test ./test/interop -update
package interop
