// Package ensemble runs three-server zkd ensembles as real processes,
// injects faults (SIGKILL, SIGSTOP, partitions through proxies, restarts
// with stale or divergent logs) while go-zookeeper clients work on a few
// znodes, and judges what the clients saw with internal/lincheck: writes
// and sync+getData linearizable, plain reads sequentially consistent per
// session, and no acknowledged write lost.
package ensemble
