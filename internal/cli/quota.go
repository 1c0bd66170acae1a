package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/zkd/zkd/client"
)

// Quotas live in znodes, as in ZooKeeper (client-protocol.md §9.4): the
// limits of path P in quotaRoot+P+"/zookeeper_limits" and its usage, kept
// by the server, in quotaRoot+P+"/zookeeper_stats". The commands below
// write and read those nodes with ordinary operations, as zkCli.sh does.
const (
	quotaRoot  = "/zookeeper/quota"
	limitsNode = "zookeeper_limits"
	statsNode  = "zookeeper_stats"
)

// statsTrack is the text format of a quota node: "count=N,bytes=N" and,
// for limits, the hard limits.
type statsTrack struct {
	count, bytes                  int64
	countHardLimit, byteHardLimit int64
	hasHardLimits                 bool
}

func newLimits() statsTrack {
	return statsTrack{count: -1, bytes: -1, countHardLimit: -1, byteHardLimit: -1, hasHardLimits: true}
}

// parseStatsTrack reads a quota node's data. Pairs are separated by ','
// or ';', and a value may be followed by a stray '=' (ZooKeeper 3.8 writes
// "bytes=-1=;..."). Missing values are -1.
func parseStatsTrack(s string) statsTrack {
	st := statsTrack{count: -1, bytes: -1, countHardLimit: -1, byteHardLimit: -1}
	for _, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		kv := strings.Split(pair, "=")
		if len(kv) < 2 {
			continue
		}
		v, err := strconv.ParseInt(kv[1], 10, 64)
		if err != nil {
			continue
		}
		switch kv[0] {
		case "count":
			st.count = v
		case "bytes":
			st.bytes = v
		case "countHardLimit":
			st.countHardLimit, st.hasHardLimits = v, true
		case "byteHardLimit":
			st.byteHardLimit, st.hasHardLimits = v, true
		}
	}
	return st
}

// String writes the format ZooKeeper 3.8's client writes and prints,
// including its stray "=" before the hard limits.
func (st statsTrack) String() string {
	s := fmt.Sprintf("count=%d,bytes=%d", st.count, st.bytes)
	if st.hasHardLimits {
		s += fmt.Sprintf("=;byteHardLimit=%d;countHardLimit=%d", st.byteHardLimit, st.countHardLimit)
	}
	return s
}

func runListQuota(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.errOut, "absolute path is %s/%s\n", quotaRoot+path, limitsNode)
	if err := validatePath(quotaRoot+path+"/"+limitsNode, false); err != nil {
		return err
	}
	limits, _, err := s.c.Get(ctx, quotaRoot+path+"/"+limitsNode)
	if errors.Is(err, client.ErrNoNode) {
		fmt.Fprintf(s.errOut, "quota for %s does not exist.\n", path)
		return nil
	}
	if err != nil {
		return describe(err, path)
	}
	stats, _, err := s.c.Get(ctx, quotaRoot+path+"/"+statsNode)
	if err != nil && !errors.Is(err, client.ErrNoNode) {
		return describe(err, path)
	}
	if s.json {
		out := map[string]any{"path": path, "quota": parseStatsTrack(string(limits)).json()}
		if stats != nil {
			out["stat"] = parseStatsTrack(string(stats)).json()
		}
		return s.emit(out)
	}
	fmt.Fprintf(s.out, "Output quota for %s %s\n", path, parseStatsTrack(string(limits)))
	if stats != nil {
		fmt.Fprintf(s.out, "Output stat for %s %s\n", path, parseStatsTrack(string(stats)))
	}
	return nil
}

// quotaPathArg returns the path argument of a quota command, checked both
// as a path and as part of the quota node's path (layout, a format with
// one %s for it), as zkCli.sh checks them: "/" itself has no quota node.
func quotaPathArg(p *parsedArgs, layout string) (string, error) {
	path, err := pathArg(p, 1)
	if err != nil {
		return "", err
	}
	if err := validatePath(fmt.Sprintf(layout, path), false); err != nil {
		return "", err
	}
	return path, nil
}

func (st statsTrack) json() map[string]int64 {
	m := map[string]int64{"count": st.count, "bytes": st.bytes}
	if st.hasHardLimits {
		m["countHardLimit"], m["byteHardLimit"] = st.countHardLimit, st.byteHardLimit
	}
	return m
}

// quotaFlag returns which of -n, -b, -N, -B was given.
func quotaFlag(p *parsedArgs) string {
	for _, f := range []string{"n", "b", "N", "B"} {
		if p.has(f) {
			return f
		}
	}
	return ""
}

// setLimit sets the limit flag names in st.
func (st *statsTrack) setLimit(flag string, v int64) {
	switch flag {
	case "n":
		st.count = v
	case "b":
		st.bytes = v
	case "N":
		st.countHardLimit = v
	case "B":
		st.byteHardLimit = v
	}
}

func runSetQuota(ctx context.Context, s *shell, p *parsedArgs) error {
	flag := quotaFlag(p)
	if flag == "" {
		return errorf("org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]")
	}
	path, err := quotaPathArg(p, quotaRoot+"%s")
	if err != nil {
		return err
	}
	limit, err := strconv.ParseInt(p.values[flag], 10, 64)
	if err != nil {
		// zkCli.sh reports this and ends the command successfully.
		fmt.Fprintln(s.errOut, "NumberFormatException happens when parsing the option value")
		return nil
	}
	if (flag == "n" || flag == "N") && limit <= 0 {
		return errorf("the num quota must be greater than zero")
	}
	if (flag == "b" || flag == "B") && limit < 0 {
		return errorf("the bytes quota must be greater than or equal to zero")
	}
	if strings.HasPrefix(path, quotaRoot) {
		// zkCli.sh reports this and ends the command successfully.
		fmt.Fprintf(s.errOut, "cannot set a quota under the path: %s\n", quotaRoot)
		return nil
	}
	if st, err := s.c.Exists(ctx, path); err != nil {
		return describe(err, path)
	} else if st == nil {
		return errorf("%s does not exist.", path)
	}
	if err := checkQuotaConflicts(ctx, s.c, path); err != nil {
		return err
	}

	// Make the quota node for path, then its limits and stats.
	node := quotaRoot
	for _, part := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if part == "" {
			continue
		}
		node += "/" + part
		if _, _, err := s.c.Create(ctx, node, nil, client.ModePersistent, client.WorldACL(client.PermAll)); err != nil && !errors.Is(err, client.ErrNodeExists) {
			return describe(err, node)
		}
	}
	limitsPath := node + "/" + limitsNode
	data, st, err := s.c.Get(ctx, limitsPath)
	var limits statsTrack
	switch {
	case errors.Is(err, client.ErrNoNode):
		limits = newLimits()
		limits.setLimit(flag, limit)
		statsPath := node + "/" + statsNode
		_, err := s.c.Multi(ctx,
			client.CreateOp{Path: limitsPath, Data: []byte(limits.String()), Mode: client.ModePersistent, ACL: client.WorldACL(client.PermAll)},
			client.CreateOp{Path: statsPath, Data: []byte(statsTrack{}.String()), Mode: client.ModePersistent, ACL: client.WorldACL(client.PermAll)},
		)
		if err != nil {
			return describe(err, limitsPath)
		}
	case err != nil:
		return describe(err, limitsPath)
	default:
		limits = parseStatsTrack(string(data))
		limits.hasHardLimits = true
		limits.setLimit(flag, limit)
		if _, err := s.c.Set(ctx, limitsPath, []byte(limits.String()), st.Version); err != nil {
			return describe(err, limitsPath)
		}
	}

	// Warn when a count or byte limit now set is already below the usage
	// the server counted (which, for a path under /zookeeper, includes the
	// quota nodes just made).
	usage, _, err := s.c.Get(ctx, node+"/"+statsNode)
	if err != nil {
		return describe(err, node+"/"+statsNode)
	}
	used := parseStatsTrack(string(usage))
	below := func(limit, hard, have int64) bool { return (limit > -1 && limit < have) || (hard > -1 && hard < have) }
	if below(limits.count, limits.countHardLimit, used.count) {
		fmt.Fprintf(s.out, "[Warning]: the count quota you create is less than the existing count:%d\n", used.count)
	}
	if below(limits.bytes, limits.byteHardLimit, used.bytes) {
		fmt.Fprintf(s.out, "[Warning]: the bytes quota you create is less than the existing bytes:%d\n", used.bytes)
	}
	return nil
}

// checkQuotaConflicts refuses a quota on path when an ancestor or a
// descendant already has one: quotas do not nest.
func checkQuotaConflicts(ctx context.Context, c *client.Client, path string) error {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i := 1; i < len(parts); i++ {
		parent := "/" + strings.Join(parts[:i], "/")
		st, err := c.Exists(ctx, quotaRoot+parent+"/"+limitsNode)
		if err != nil {
			return describe(err, parent)
		}
		if st != nil {
			return errorf("%s has a parent %s which has a quota", path, parent)
		}
	}
	// Descendants with a quota have a limits node somewhere under
	// quotaRoot+path.
	var walk func(node string) error
	walk = func(node string) error {
		children, _, err := c.Children(ctx, node)
		if errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if err != nil {
			return describe(err, node)
		}
		slices.Sort(children)
		for _, ch := range children {
			if ch == limitsNode || ch == statsNode {
				if node != quotaRoot+path && ch == limitsNode {
					return errorf("%s has a child %s which has a quota", path, strings.TrimPrefix(node, quotaRoot))
				}
				continue
			}
			if err := walk(node + "/" + ch); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(quotaRoot + path)
}

func runDelQuota(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := quotaPathArg(p, quotaRoot+"%s/"+limitsNode)
	if err != nil {
		return err
	}
	node := quotaRoot + path
	limitsPath := node + "/" + limitsNode
	flag := quotaFlag(p)
	if flag == "" {
		// Remove the whole quota: the limits and stats nodes, then the
		// quota nodes left without children, up to quotaRoot.
		if st, err := s.c.Exists(ctx, limitsPath); err != nil {
			return describe(err, path)
		} else if st == nil {
			fmt.Fprintf(s.out, "Quota does not exist for %s\n", path)
			return nil
		}
		for _, n := range []string{limitsPath, node + "/" + statsNode} {
			if err := s.c.Delete(ctx, n, client.AnyVersion); err != nil && !errors.Is(err, client.ErrNoNode) {
				return describe(err, n)
			}
		}
		for n := node; n != quotaRoot; n = n[:strings.LastIndexByte(n, '/')] {
			if err := s.c.Delete(ctx, n, client.AnyVersion); err != nil {
				break // not empty: another quota lives below
			}
		}
		return nil
	}
	data, st, err := s.c.Get(ctx, limitsPath)
	if errors.Is(err, client.ErrNoNode) {
		fmt.Fprintf(s.out, "Quota does not exist for %s\n", path)
		return nil
	}
	if err != nil {
		return describe(err, path)
	}
	limits := parseStatsTrack(string(data))
	limits.hasHardLimits = true
	limits.setLimit(flag, -1)
	if _, err := s.c.Set(ctx, limitsPath, []byte(limits.String()), st.Version); err != nil {
		return describe(err, limitsPath)
	}
	return nil
}
