package tree

import (
	"strconv"
	"strings"
)

// Quota bookkeeping (client-protocol.md §9.4). Clients create
// /zookeeper/quota<P>/zookeeper_limits and .../zookeeper_stats with ordinary
// creates; the tree then keeps the stats node's data equal to P's usage,
// changing it in place: no version, mzxid or mtime change and no watch, as
// ZooKeeper does.
const (
	quotaLimitsNode = "zookeeper_limits"
	quotaStatsNode  = "zookeeper_stats"
)

// quotaRoot returns the quota-managed path P that a node under
// /zookeeper/quota describes, given the node's path, and whether the node
// is P's limits or stats node.
func quotaTarget(path string) (target, node string, ok bool) {
	if !strings.HasPrefix(path, QuotaPath+"/") {
		return "", "", false
	}
	base := Base(path)
	if base != quotaLimitsNode && base != quotaStatsNode {
		return "", "", false
	}
	target = strings.TrimPrefix(Parent(path), QuotaPath)
	if target == "" {
		return "", "", false
	}
	return target, base, true
}

// quotaOnCreate reacts to a create: registering a quota root, filling a new
// stats node, and counting the new node into the quota covering it. As in
// ZooKeeper, a quota node is counted too when a quota covers
// /zookeeper/quota: a new stats node is counted once by the usage it is
// filled with and once more, with its original data, as a new node.
func (t *Tree) quotaOnCreate(path string, dataLen int) {
	size := int64(dataLen)
	if target, which, ok := quotaTarget(path); ok {
		switch which {
		case quotaLimitsNode:
			if t.quotas == nil {
				t.quotas = make(map[string]struct{})
			}
			t.quotas[target] = struct{}{}
		case quotaStatsNode:
			count, bytes := t.usage(target)
			t.setStatsData(target, count, bytes)
		}
	}
	t.quotaAdjust(path, 1, size)
}

// quotaOnDelete reacts to a delete (the node is already out of the tree).
func (t *Tree) quotaOnDelete(path string, dataLen int) {
	if target, which, ok := quotaTarget(path); ok && which == quotaLimitsNode {
		delete(t.quotas, target)
	}
	t.quotaAdjust(path, -1, -int64(dataLen))
}

// quotaAdjust adds to the usage of the quota covering path, if any.
func (t *Tree) quotaAdjust(path string, dCount, dBytes int64) {
	if len(t.quotas) == 0 {
		return
	}
	root, ok := t.quotaRootOf(path)
	if !ok {
		return
	}
	stats, ok := t.Get(QuotaPath + root + "/" + quotaStatsNode)
	if !ok {
		return
	}
	count, bytes := parseStatsTrack(string(stats.Data))
	t.setStatsData(root, count+dCount, bytes+dBytes)
}

// QuotaRoot returns the quota path that covers path: the longest path with
// a registered quota (a zookeeper_limits node under /zookeeper/quota) that
// is path or one of its ancestors. Only that quota's usage changes when
// path's subtree does, and only its limits are enforced (§9.4).
func (t *Tree) QuotaRoot(path string) (string, bool) {
	if len(t.quotas) == 0 {
		return "", false
	}
	return t.quotaRootOf(path)
}

// Quotas returns the registered quota paths, in no particular order.
func (t *Tree) Quotas() []string {
	out := make([]string, 0, len(t.quotas))
	for p := range t.quotas {
		out = append(out, p)
	}
	return out
}

// QuotaLimitsPath returns the path of the node that holds the limits of the
// quota on root.
func QuotaLimitsPath(root string) string { return QuotaPath + root + "/" + quotaLimitsNode }

// QuotaStatsPath returns the path of the node that holds the usage of the
// quota on root (see QuotaLimitsPath).
func QuotaStatsPath(root string) string { return QuotaPath + root + "/" + quotaStatsNode }

// quotaRootOf returns the longest registered quota path that is path or an
// ancestor of it.
func (t *Tree) quotaRootOf(path string) (string, bool) {
	for p := path; ; p = Parent(p) {
		if _, ok := t.quotas[p]; ok {
			return p, true
		}
		if p == RootPath {
			return "", false
		}
	}
}

func (t *Tree) setStatsData(target string, count, bytes int64) {
	id := t.find(QuotaPath + target + "/" + quotaStatsNode)
	if id == 0 {
		return
	}
	t.setNodeData(id, []byte("count="+strconv.FormatInt(count, 10)+",bytes="+strconv.FormatInt(bytes, 10)))
}

// usage counts the nodes in path's subtree (including it) and their bytes.
func (t *Tree) usage(path string) (count, bytes int64) {
	id := t.find(path)
	if id == 0 {
		return 0, 0
	}
	stack := []nodeID{id}
	count, bytes = 1, int64(len(t.parsed(id).data))
	for len(stack) > 0 {
		top := len(stack) - 1
		stack = t.appendKidIDs(stack[:top], t.rec(stack[top]))
		for _, c := range stack[top:] {
			count++
			bytes += int64(len(t.parsed(c).data))
		}
	}
	return count, bytes
}

// parseStatsTrack reads count and bytes from StatsTrack text
// ("count=1,bytes=3" possibly followed by more keys).
func parseStatsTrack(s string) (count, bytes int64) {
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, _ := strings.Cut(part, "=")
		n, err := strconv.ParseInt(strings.TrimSuffix(v, "="), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "count":
			count = n
		case "bytes":
			bytes = n
		}
	}
	return count, bytes
}
