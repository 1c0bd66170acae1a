package prep

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

// Quota enforcement (zookeeper.enforceQuota, client-protocol.md §9.4), as
// ZooKeeper 3.8 does it:
//
//   - only creates (every mode and opcode: count +1, bytes + data length)
//     and setData (bytes + new length - old length) are checked, and only
//     against the quota with the longest path covering the node;
//   - a count is checked only when it changes and the quota has a count
//     limit, bytes likewise; a hard limit (countHardLimit, byteHardLimit)
//     takes the place of the soft one (count, bytes) when set;
//   - beyond a hard limit the op fails with QUOTAEXCEEDED; beyond a soft
//     one it is only logged;
//   - limits or stats text that does not parse fails the whole request
//     with MARSHALLINGERROR (in ZooKeeper an unchecked exception in the
//     prep processor), even inside a multi.
//
// The usage is the stats node of the applied tree plus the changes of the
// transactions prepared before this request. The ops of one multi do not
// see each other's usage: ZooKeeper checks every op of a multi against
// the usage before the multi, so two creates that each fit pass together
// even when both do not fit [live, 3.8.0].

// QuotaExceeded counts the ops that failed with QUOTAEXCEEDED, by the
// top-level namespace of their path (ZooKeeper's
// quota_exceeded_error_per_namespace); for example "/app/x" counts under
// "app".
type QuotaExceeded map[string]int64

// quotaDelta is the change a prepared, not yet applied transaction makes to
// the usage of the quota covering path.
type quotaDelta struct {
	zxid         jute.Zxid
	path         string
	count, bytes int64
}

// errBadStatsTrack marks limits or stats text that ZooKeeper cannot parse.
var errBadStatsTrack = errors.New("bad StatsTrack text")

// quotaPairSeparator splits StatsTrack text into key=value pairs.
var quotaPairSeparator = regexp.MustCompile(`[,;]+`)

// statsTrack is parsed StatsTrack text; a missing key reads as -1.
type statsTrack map[string]int64

func (s statsTrack) get(key string) int64 {
	if v, ok := s[key]; ok {
		return v
	}
	return -1
}

// parseStatsTrack parses StatsTrack text the way ZooKeeper's StatsTrack
// does: empty text has no keys; otherwise every pair between "," and ";"
// runs must have a value after its first "=" (trailing "=" ignored), an
// empty value reads -1, and any other value must be a decimal integer.
func parseStatsTrack(text string) (statsTrack, error) {
	s := statsTrack{}
	if text == "" {
		return s, nil
	}
	for _, pair := range javaSplit(quotaPairSeparator.Split(text, -1)) {
		parts := javaSplit(strings.Split(pair, "="))
		if len(parts) < 2 {
			return nil, fmt.Errorf("%w: pair %q has no value", errBadStatsTrack, pair)
		}
		if parts[1] == "" {
			s[parts[0]] = -1
			continue
		}
		v, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: pair %q: %w", errBadStatsTrack, pair, err)
		}
		s[parts[0]] = v
	}
	return s, nil
}

// javaSplit drops the trailing empty strings of a split, as Java's
// String.split does.
func javaSplit(parts []string) []string {
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// topNamespace returns the first component of path ("" for "/").
func topNamespace(path string) string {
	ns, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return ns
}

// checkQuota decides whether a change of dCount nodes and dBytes bytes
// under path may be made. It returns OK, ErrQuotaExceeded, or
// ErrMarshallingError with broken set when the quota's text does not
// parse.
func (p *Preparer) checkQuota(path string, dCount, dBytes int64) (code jute.Code, broken bool) {
	if !p.Settings.EnforceQuota {
		return jute.OK, false
	}
	t := p.Overlay.tree
	root, ok := t.QuotaRoot(path)
	if !ok {
		return jute.OK, false
	}
	limitsNode, ok := t.Get(tree.QuotaLimitsPath(root))
	if !ok {
		return jute.OK, false
	}
	limits, err := parseStatsTrack(string(limitsNode.Data))
	if err != nil {
		p.warn(fmt.Sprintf("cannot check the quota on %s (%s): %v", root, tree.QuotaLimitsPath(root), err), path)
		return jute.ErrMarshallingError, true
	}
	checkCount := dCount != 0 && (limits.get("count") > -1 || limits.get("countHardLimit") > -1)
	checkBytes := dBytes != 0 && (limits.get("bytes") > -1 || limits.get("byteHardLimit") > -1)
	if !checkCount && !checkBytes {
		return jute.OK, false
	}
	statsNode, ok := t.Get(tree.QuotaStatsPath(root))
	if !ok {
		return jute.OK, false
	}
	stats, err := parseStatsTrack(string(statsNode.Data))
	if err != nil {
		p.warn(fmt.Sprintf("cannot check the quota on %s (%s): %v", root, tree.QuotaStatsPath(root), err), path)
		return jute.ErrMarshallingError, true
	}
	count, bytes := stats.get("count"), stats.get("bytes")
	for _, d := range p.Overlay.quota {
		if r, ok := t.QuotaRoot(d.path); ok && r == root {
			count += d.count
			bytes += d.bytes
		}
	}
	if checkCount && p.overLimit(path, root, "Count", count+dCount, limits.get("countHardLimit"), limits.get("count")) {
		return jute.ErrQuotaExceeded, false
	}
	if checkBytes && p.overLimit(path, root, "Byte", bytes+dBytes, limits.get("byteHardLimit"), limits.get("bytes")) {
		return jute.ErrQuotaExceeded, false
	}
	return jute.OK, false
}

// warn hands a message about the request on path to Settings.Warn.
func (p *Preparer) warn(msg, path string) {
	if p.Settings.Warn != nil {
		p.Settings.Warn(msg, path)
	}
}

// overLimit reports whether usage is beyond the hard limit (when set), and
// logs usage beyond the limit that applies, hard or soft, as ZooKeeper
// does: "Quota exceeded: /a [current count=4, hardCountLimit=3]".
func (p *Preparer) overLimit(path, root, what string, usage, hard, soft int64) bool {
	limit, kind := hardOrSoft(hard, soft), "soft"
	if hard > -1 {
		kind = "hard"
	}
	if usage <= limit {
		return false
	}
	unit := "count"
	if what == "Byte" {
		unit = "bytes"
	}
	p.warn(fmt.Sprintf("Quota exceeded: %s [current %s=%d, %s%sLimit=%d]", root, unit, usage, kind, what, limit), path)
	if kind != "hard" {
		return false
	}
	if p.QuotaExceeded == nil {
		p.QuotaExceeded = make(QuotaExceeded)
	}
	p.QuotaExceeded[topNamespace(path)]++
	return true
}

// QuotaGauges returns ZooKeeper's quota gauge sets for the quotas of t, by
// family and top-level namespace: quota_count_limit_per_namespace and
// quota_bytes_limit_per_namespace (the hard limit when set, else the soft
// one), quota_count_usage_per_namespace and quota_bytes_usage_per_namespace
// (the stats nodes), each summed over the quotas of a namespace. A quota
// whose text does not parse is left out. They do not depend on
// zookeeper.enforceQuota.
func QuotaGauges(t *tree.Tree) map[string]map[string]float64 {
	g := map[string]map[string]float64{
		"quota_count_limit_per_namespace": {}, "quota_bytes_limit_per_namespace": {},
		"quota_count_usage_per_namespace": {}, "quota_bytes_usage_per_namespace": {},
	}
	for _, root := range t.Quotas() {
		ns := topNamespace(root)
		if n, ok := t.Get(tree.QuotaLimitsPath(root)); ok {
			if l, err := parseStatsTrack(string(n.Data)); err == nil {
				g["quota_count_limit_per_namespace"][ns] += float64(hardOrSoft(l.get("countHardLimit"), l.get("count")))
				g["quota_bytes_limit_per_namespace"][ns] += float64(hardOrSoft(l.get("byteHardLimit"), l.get("bytes")))
			}
		}
		if n, ok := t.Get(tree.QuotaStatsPath(root)); ok {
			if u, err := parseStatsTrack(string(n.Data)); err == nil {
				g["quota_count_usage_per_namespace"][ns] += float64(u.get("count"))
				g["quota_bytes_usage_per_namespace"][ns] += float64(u.get("bytes"))
			}
		}
	}
	return g
}

// hardOrSoft returns the limit that applies: hard when set, else soft.
func hardOrSoft(hard, soft int64) int64 {
	if hard > -1 {
		return hard
	}
	return soft
}
