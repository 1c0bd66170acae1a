package config

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// maxConfigSize bounds how much of a config file is read.
const maxConfigSize = 16 << 20

// Load reads the zoo.cfg at path. When it names a dynamicConfigFile, Load
// reads the membership from that file too (storage spec §7.1); the path is
// taken as written, relative to the working directory, as ZooKeeper does.
// Errors and warnings are as for [Parse].
func Load(path string) (*Config, []Warning, error) {
	text, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	c, p := parseText(text, path)
	if c.DynamicConfigFile != "" {
		dyn, err := readFile(c.DynamicConfigFile)
		if err != nil {
			p.errs = append(p.errs, &Error{File: path, Key: "dynamicConfigFile", Reason: err.Error()})
		} else {
			p.parseDynamic(c, dyn, c.DynamicConfigFile)
			p.checkMembership(c)
		}
	}
	return p.result(c)
}

// readFile reads a config file of bounded size.
func readFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return "", &Error{File: path, Reason: "file is larger than 16 MiB"}
	}
	return string(data), nil
}

// Parse reads zoo.cfg text; filename names it in errors and in Config.File.
// Parse does not open the dynamicConfigFile a config may name ([Load]
// does), so Servers then stays empty.
//
// On success it returns the configuration and any warnings. Otherwise it
// returns a nil Config, the warnings, and an error reporting every problem
// found, not just the first: an [*Error] naming file, line and key for each,
// joined with errors.Join when there is more than one.
func Parse(r io.Reader, filename string) (*Config, []Warning, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", filename, err)
	}
	if len(data) > maxConfigSize {
		return nil, nil, &Error{File: filename, Reason: "file is larger than 16 MiB"}
	}
	c, p := parseText(string(data), filename)
	return p.result(c)
}

// parser collects the errors and warnings of one configuration.
type parser struct {
	file    string
	errs    []error
	warns   []Warning
	lines   map[string]int   // line of each key of zoo.cfg that was used
	servers map[int64]source // where each server.N came from
}

// source is where a setting was read.
type source struct {
	file string
	line int
	key  string
}

func (p *parser) errorAt(file string, line int, key, reason string) {
	p.errs = append(p.errs, &Error{File: file, Line: line, Key: key, Reason: reason})
}

func (p *parser) fail(e entry, reason string) { p.errorAt(p.file, e.line, e.key, reason) }

func (p *parser) warn(e entry, msg string) {
	p.warns = append(p.warns, Warning{File: p.file, Line: e.line, Key: e.key, Message: msg})
}

// result returns what Parse and Load return.
func (p *parser) result(c *Config) (*Config, []Warning, error) {
	if len(p.errs) > 0 {
		return nil, p.warns, joinErrors(p.errs)
	}
	return c, p.warns, nil
}

// joinErrors is errors.Join, except that a single error is returned as is,
// so that errors.As and a type switch both find the *Error.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// parseText parses zoo.cfg text into a Config and the parser holding its
// problems. The Config is filled in as far as possible even when there are
// errors.
func parseText(text, file string) (*Config, *parser) {
	p := &parser{file: file, lines: make(map[string]int), servers: make(map[int64]source)}
	c := fileDefaults()
	c.File = file
	entries := p.dedupe(readPropertiesText(text, func(line int, reason string) {
		p.errorAt(file, line, "", reason)
	}))
	var members []entry // server.N, group.N and weight.N, parsed last
	for _, e := range entries {
		if k, ok := explicitKeys[e.key]; ok {
			p.lines[e.key] = e.line
			k.set(p, c, e)
			continue
		}
		switch {
		case strings.HasPrefix(e.key, "server."), strings.HasPrefix(e.key, "group."), strings.HasPrefix(e.key, "weight."):
			members = append(members, e)
		case strings.HasPrefix(e.key, "metricsProvider."):
			if c.MetricsProvider == nil {
				c.MetricsProvider = make(map[string]string)
			}
			c.MetricsProvider[strings.TrimPrefix(e.key, "metricsProvider.")] = e.value
		default:
			p.passThrough(c, e)
		}
	}
	p.finishScalars(c)
	if c.DynamicConfigFile != "" {
		for _, e := range members {
			p.fail(e, "not allowed in zoo.cfg when dynamicConfigFile is set; move it to "+strconv.Quote(c.DynamicConfigFile))
		}
		return c, p
	}
	p.parseMembers(c, members, file)
	p.checkMembership(c)
	return c, p
}

// dedupe keeps the last occurrence of each key, in file order, and warns
// about the ones it drops.
func (p *parser) dedupe(entries []entry) []entry {
	last := make(map[string]int, len(entries))
	for i, e := range entries {
		last[e.key] = i
	}
	out := entries[:0:0]
	for i, e := range entries {
		if j := last[e.key]; j != i {
			p.warn(e, "set again on line "+strconv.Itoa(entries[j].line)+", which wins")
			continue
		}
		out = append(out, e)
	}
	return out
}

// passThrough stores a key ZooKeeper does not handle itself as the system
// property "zookeeper."+key (spec §8.1).
func (p *parser) passThrough(c *Config, e entry) {
	if reason := checkProp(e.key, e.value); reason != "" {
		p.fail(e, reason)
		return
	}
	for _, n := range storeNames(e.key) {
		c.Props[n] = e.value
	}
	switch {
	case strings.HasPrefix(e.key, zkPrefix):
		p.warn(e, "zoo.cfg keys take no \"zookeeper.\" prefix; this sets property "+strconv.Quote(zkPrefix+e.key))
	case !knownProp(e.key):
		msg := "unknown key, passed through as property " + strconv.Quote(zkPrefix+e.key)
		if s := suggest(e.key); s != "" {
			msg += "; did you mean " + strconv.Quote(s) + "?"
		}
		p.warn(e, msg)
	case e.key == "jute.maxbuffer" || e.key == "readonlymode.enabled":
		p.warn(e, "Java ZooKeeper reads this only as a JVM property (-D"+e.key+"), not from zoo.cfg; zkd honours it")
	case e.key == "4lw.commands.whitelist":
		for _, w := range strings.Split(e.value, ",") {
			w = strings.TrimSpace(w)
			if w != "" && w != "*" && !slices.Contains(fourLetterWords, w) {
				p.warn(e, "unknown four-letter word "+strconv.Quote(w)+" is ignored")
			}
		}
	}
}

// finishScalars fills in derived defaults and checks rules that span
// several explicit keys.
func (p *parser) finishScalars(c *Config) {
	at := func(key string) int { return p.lines[key] }
	if c.DataDir == "" {
		p.errorAt(p.file, 0, "dataDir", "not set")
	}
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	if c.MinSessionTimeout == -1 { // unset, or set to -1 as ZooKeeper allows
		c.MinSessionTimeout = 2 * c.TickTime
	}
	if c.MaxSessionTimeout == -1 {
		c.MaxSessionTimeout = 20 * c.TickTime
	}
	if c.MinSessionTimeout > c.MaxSessionTimeout {
		key := "minSessionTimeout"
		if at(key) == 0 {
			key = "maxSessionTimeout"
		}
		p.errorAt(p.file, at(key), key, fmt.Sprintf("minSessionTimeout %d is larger than maxSessionTimeout %d", c.MinSessionTimeout, c.MaxSessionTimeout))
	}
	if c.ClientPortAddress != "" && c.ClientPort == 0 {
		p.errorAt(p.file, at("clientPortAddress"), "clientPortAddress", "set without clientPort")
	}
	if c.SecureClientPortAddress != "" && c.SecureClientPort == 0 {
		p.errorAt(p.file, at("secureClientPortAddress"), "secureClientPortAddress", "set without secureClientPort")
	}
	if q := c.QuorumSASL; !q.Enable {
		for k, on := range map[string]bool{"quorum.auth.serverRequireSasl": q.ServerRequire, "quorum.auth.learnerRequireSasl": q.LearnerRequire} {
			if on {
				p.errorAt(p.file, at(k), k, "requires quorum.auth.enableSasl=true")
			}
		}
	}
}

// parseMembers parses server.N, group.N and weight.N entries of file.
func (p *parser) parseMembers(c *Config, members []entry, file string) {
	var groups, weights []entry
	for _, e := range members {
		id, reason := parseServerID(e.key)
		if reason != "" {
			p.errorAt(file, e.line, e.key, reason)
			continue
		}
		switch {
		case strings.HasPrefix(e.key, "group."):
			groups = append(groups, e)
			continue
		case strings.HasPrefix(e.key, "weight."):
			weights = append(weights, e)
			continue
		}
		s, reason := parseServer(id, e.value, c.MultiAddressEnabled)
		if reason != "" {
			p.errorAt(file, e.line, e.key, reason)
			continue
		}
		if prev, dup := p.servers[id]; dup {
			p.errorAt(file, e.line, e.key, fmt.Sprintf("server id %d is already defined by %s on line %d", id, prev.key, prev.line))
			continue
		}
		p.servers[id] = source{file: file, line: e.line, key: e.key}
		c.Servers = append(c.Servers, s)
	}
	slices.SortFunc(c.Servers, func(a, b Server) int { return cmp.Compare(a.ID, b.ID) })
	p.checkAddresses(c)

	inGroup := make(map[int64]int64)
	for _, e := range groups {
		gid, _ := parseServerID(e.key)
		var members []int64
		bad := false
		for _, m := range strings.Split(e.value, ":") {
			sid, err := strconv.ParseInt(strings.TrimSpace(m), 10, 64)
			switch {
			case err != nil:
				p.errorAt(file, e.line, e.key, "member is not a number: "+strconv.Quote(m))
			case p.servers[sid].key == "":
				p.errorAt(file, e.line, e.key, fmt.Sprintf("member %d has no server.%d line", sid, sid))
			case inGroup[sid] != 0 || slices.Contains(members, sid):
				p.errorAt(file, e.line, e.key, fmt.Sprintf("server %d is in more than one group", sid))
			default:
				inGroup[sid] = gid + 1
				members = append(members, sid)
				continue
			}
			bad = true
		}
		if !bad {
			if c.Groups == nil {
				c.Groups = make(map[int64][]int64)
			}
			c.Groups[gid] = members
		}
	}
	for _, e := range weights {
		sid, _ := parseServerID(e.key)
		w, err := strconv.ParseInt(e.value, 10, 64)
		switch {
		case err != nil:
			p.errorAt(file, e.line, e.key, "not a number: "+strconv.Quote(e.value))
		case w < 0:
			p.errorAt(file, e.line, e.key, "negative weight: "+strconv.Quote(e.value))
		case p.servers[sid].key == "":
			p.errorAt(file, e.line, e.key, fmt.Sprintf("no server.%d line", sid))
		default:
			if c.Weights == nil {
				c.Weights = make(map[int64]int64)
			}
			c.Weights[sid] = w
		}
	}
}

// checkAddresses rejects two members sharing a quorum or election address.
// Host names are compared as written; nothing is resolved.
func (p *parser) checkAddresses(c *Config) {
	used := make(map[string]int64)
	for _, s := range c.Servers {
		addrs := []string{s.QuorumAddr, s.ElectionAddr}
		for _, a := range s.MoreAddrs {
			addrs = append(addrs, a.QuorumAddr, a.ElectionAddr)
		}
		for _, a := range addrs {
			key := strings.ToLower(a)
			if other, ok := used[key]; ok && other != s.ID {
				src := p.servers[s.ID]
				p.errorAt(src.file, src.line, src.key, fmt.Sprintf("address %s is also used by server.%d", a, other))
				break
			}
			used[key] = s.ID
		}
	}
}

// checkMembership applies the quorum-mode rules of spec §8.1 once the
// membership is known.
func (p *parser) checkMembership(c *Config) {
	voters := len(c.Voters())
	if len(c.Servers) > 0 && voters == 0 {
		src := p.servers[c.Servers[0].ID]
		p.errorAt(src.file, src.line, src.key, "observers need at least one participant")
		return
	}
	if voters == 1 && c.StandaloneEnabled {
		src := p.servers[c.Voters()[0].ID]
		p.warns = append(p.warns, Warning{File: src.file, Line: src.line, Key: src.key,
			Message: "only one participant, so the server runs standalone and ignores server.N lines (set standaloneEnabled=false for a one-member ensemble)"})
	}
	for _, s := range c.Servers {
		if s.ID > 255 {
			src := p.servers[s.ID]
			p.warns = append(p.warns, Warning{File: src.file, Line: src.line, Key: src.key,
				Message: "server ids above 255 do not fit the top byte of session ids"})
		}
	}
	if c.Standalone() {
		return
	}
	if c.InitLimit <= 0 {
		p.errorAt(p.file, p.lines["initLimit"], "initLimit", "not set (required with an ensemble)")
	}
	if c.SyncLimit <= 0 {
		p.errorAt(p.file, p.lines["syncLimit"], "syncLimit", "not set (required with an ensemble)")
	}
}

// parseDynamic reads a dynamic config file (spec §7.1): only server.N,
// group.N and weight.N lines, and no version line. Its version is the hex
// suffix of the file name.
func (p *parser) parseDynamic(c *Config, text, file string) {
	entries := p.dedupe(readPropertiesText(text, func(line int, reason string) {
		p.errorAt(file, line, "", reason)
	}))
	var members []entry
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.key, "server."), strings.HasPrefix(e.key, "group."), strings.HasPrefix(e.key, "weight."):
			members = append(members, e)
		case e.key == "version":
			p.errorAt(file, e.line, e.key, "not allowed in a dynamic config file (the version is the file name's suffix)")
		default:
			p.errorAt(file, e.line, e.key, "not allowed in a dynamic config file (only server.N, group.N and weight.N)")
		}
	}
	p.parseMembers(c, members, file)
	c.ConfigVersion = dynamicVersion(file)
}

// dynamicVersion returns the version in a dynamic config file name
// "….dynamic.<hex>", or 0 when the suffix is missing or not hex.
func dynamicVersion(file string) int64 {
	base := filepath.Base(file)
	i := strings.LastIndex(base, ".dynamic.")
	if i < 0 {
		return 0
	}
	v, err := strconv.ParseUint(base[i+len(".dynamic."):], 16, 63)
	if err != nil {
		return 0
	}
	return int64(v)
}

// parseBool accepts exactly true or false in any case, as ZooKeeper does
// for its explicit keys.
func parseBool(v string) (bool, string) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, ""
	case strings.EqualFold(v, "false"):
		return false, ""
	}
	return false, "not true or false: " + strconv.Quote(v)
}

// parseInt parses a 32-bit decimal integer, as Java's Integer.parseInt.
func parseInt(v string) (int, string) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, "out of range: " + strconv.Quote(v)
		}
		return 0, "not a number: " + strconv.Quote(v)
	}
	return int(n), ""
}
