package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkd/zkd/client"
)

// maxTTL is the largest TTL in ms a node may have (40 bits).
const maxTTL = 1<<40 - 1

// command is one zkCli.sh command.
type command struct {
	name    string
	usage   string // the arguments part of the usage line, exactly as zkCli.sh prints it
	options optionSpec
	minArgs int  // positional words needed, counting the command name
	local   bool // runs without a session and parses its own words
	run     func(ctx context.Context, s *shell, p *parsedArgs) error
}

// commands holds every command but the shell's own (quit, history, redo,
// printwatches, connect, help), which execute handles.
var commands = map[string]*command{}

// builtinUsage are the usage lines of the commands execute handles itself.
var builtinUsage = map[string]string{
	"connect":      "host:port",
	"history":      "",
	"printwatches": "on|off",
	"quit":         "",
	"redo":         "cmdno",
}

func init() {
	for _, c := range []*command{
		{name: "addWatch", usage: "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
			options: optionSpec{values: []string{"m"}}, minArgs: 2, run: runAddWatch},
		{name: "addauth", usage: "scheme auth", minArgs: 2, run: runAddAuth},
		{name: "close", usage: "", local: true, run: runClose},
		{name: "config", usage: "[-c] [-w] [-s]", options: optionSpec{flags: []string{"c", "w", "s"}}, minArgs: 1, run: runConfig},
		{name: "create", usage: "[-s] [-e] [-c] [-t ttl] path [data] [acl]",
			options: optionSpec{flags: []string{"s", "e", "c"}, values: []string{"t"}}, minArgs: 2, run: runCreate},
		{name: "delete", usage: "[-v version] path", options: optionSpec{values: []string{"v"}}, minArgs: 2, run: runDelete},
		{name: "deleteall", usage: "path [-b batch size]", options: optionSpec{values: []string{"b"}}, minArgs: 2, run: runDeleteAll},
		{name: "delquota", usage: "[-n|-b|-N|-B] path",
			options: optionSpec{flags: []string{"n", "b", "N", "B"}, group: []string{"n", "b", "N", "B"}}, minArgs: 2, run: runDelQuota},
		{name: "get", usage: "[-s] [-w] path", options: optionSpec{flags: []string{"s", "w"}}, minArgs: 2, run: runGet},
		{name: "getAcl", usage: "[-s] path", options: optionSpec{flags: []string{"s"}}, minArgs: 2, run: runGetACL},
		{name: "getAllChildrenNumber", usage: "path", minArgs: 2, run: runGetAllChildrenNumber},
		{name: "getEphemerals", usage: "path", minArgs: 1, run: runGetEphemerals},
		{name: "listquota", usage: "path", minArgs: 2, run: runListQuota},
		{name: "ls", usage: "[-s] [-w] [-R] path", options: optionSpec{flags: []string{"s", "w", "R"}}, minArgs: 2, run: runLs},
		{name: "reconfig", usage: "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
			options: optionSpec{flags: []string{"s"}, values: []string{"v", "file", "members", "add", "remove"}}, minArgs: 1, run: runReconfig},
		{name: "removewatches", usage: "path [-c|-d|-a] [-l]", options: optionSpec{flags: []string{"c", "d", "a", "l"}, group: []string{"c", "d", "a"}}, minArgs: 2, run: runRemoveWatches},
		{name: "set", usage: "[-s] [-v version] path data", options: optionSpec{flags: []string{"s"}, values: []string{"v"}}, minArgs: 3, run: runSet},
		{name: "setAcl", usage: "[-s] [-v version] [-R] path acl", options: optionSpec{flags: []string{"s", "R"}, values: []string{"v"}}, minArgs: 3, run: runSetACL},
		{name: "setquota", usage: "-n|-b|-N|-B val path",
			options: optionSpec{values: []string{"n", "b", "N", "B"}, group: []string{"n", "b", "N", "B"}}, minArgs: 2, run: runSetQuota},
		{name: "stat", usage: "[-w] path", options: optionSpec{flags: []string{"w"}}, minArgs: 2, run: runStat},
		{name: "sync", usage: "path", minArgs: 2, run: runSync},
		{name: "version", usage: "", local: true, run: runVersion},
		{name: "whoami", usage: "", minArgs: 1, run: runWhoAmI},
	} {
		commands[c.name] = c
	}
}

// commandNames lists every command, the shell's own included, sorted as
// zkCli.sh sorts its usage lines.
func commandNames() []string {
	names := make([]string, 0, len(commands)+len(builtinUsage))
	for n := range commands {
		names = append(names, n)
	}
	for n := range builtinUsage {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// usageOf returns a command's usage line arguments.
func usageOf(name string) string {
	if c, ok := commands[name]; ok {
		return c.usage
	}
	return builtinUsage[name]
}

// pathArg validates and returns the path argument of p.
func pathArg(p *parsedArgs, i int) (string, error) {
	path := p.args[i]
	if err := validatePath(path, false); err != nil {
		return "", err
	}
	return path, nil
}

// versionOption reads -v (default -1).
func versionOption(p *parsedArgs) (int32, error) {
	v, ok := p.values["v"]
	if !ok {
		return client.AnyVersion, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, errorf("-v argument must be an int value: %s", v)
	}
	return int32(n), nil
}

// deprecatedWatch handles the old "cmd path watch" form: any extra word
// turns the watch on, with zkCli.sh's deprecation notice.
func deprecatedWatch(s *shell, p *parsedArgs, notice string) bool {
	if len(p.args) > 2 {
		fmt.Fprintln(s.errOut, notice)
		return true
	}
	return p.has("w")
}

func runLs(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	watch := deprecatedWatch(s, p, "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.")
	if p.has("R") {
		return s.listRecursive(ctx, path, watch)
	}
	children, st, err := s.children(ctx, path, watch)
	if err != nil {
		return describe(err, path)
	}
	slices.Sort(children)
	if s.json {
		out := map[string]any{"path": path, "children": children}
		if p.has("s") {
			out["stat"] = toStatJSON(st)
		}
		return s.emit(out)
	}
	fmt.Fprintf(s.out, "[%s]\n", strings.Join(children, ", "))
	if p.has("s") {
		printStat(s.out, st)
	}
	return nil
}

// listRecursive prints path and every node under it in zkCli.sh's ls -R
// order (see subtree).
func (s *shell) listRecursive(ctx context.Context, path string, watch bool) error {
	nodes, err := s.subtree(ctx, path, watch, "listing")
	if err != nil {
		return err
	}
	if s.json {
		return s.emit(map[string]any{"path": path, "nodes": nodes})
	}
	for _, n := range nodes {
		fmt.Fprintln(s.out, n)
	}
	return nil
}

// subtree returns path and its descendants in zkCli.sh's ls -R order:
// a node's children, sorted, follow it, and then each child's own
// descendants in turn. Every node comes after its parent. The tree is
// listed a level at a time, with up to 64 requests in flight.
func (s *shell) subtree(ctx context.Context, path string, watch bool, what string) ([]string, error) {
	defer s.prog.done()
	kids := map[string][]string{}
	listed := 1
	level := []string{path}
	for len(level) > 0 {
		children := make([][]string, len(level))
		errs := make([]error, len(level))
		sem := make(chan struct{}, 64)
		done := make(chan struct{}, len(level))
		for i, n := range level {
			sem <- struct{}{}
			s.prog.update("%s: %d nodes", what, listed+i)
			go func() {
				defer func() { <-sem; done <- struct{}{} }()
				children[i], _, errs[i] = s.children(ctx, n, watch)
			}()
		}
		for range level {
			<-done
		}
		var next []string
		for i, n := range level {
			if errs[i] != nil {
				if errors.Is(errs[i], client.ErrNoNode) && n != path {
					continue // deleted while we walked
				}
				return nil, describe(errs[i], n)
			}
			slices.Sort(children[i])
			for j, k := range children[i] {
				children[i][j] = joinPath(n, k)
			}
			kids[n] = children[i]
			next = append(next, children[i]...)
		}
		listed += len(next)
		level = next
	}
	nodes := make([]string, 0, listed)
	nodes = append(nodes, path)
	var visit func(n string)
	visit = func(n string) {
		nodes = append(nodes, kids[n]...)
		for _, k := range kids[n] {
			visit(k)
		}
	}
	visit(path)
	return nodes, nil
}

// children lists path's children, leaving a child watch (printed once
// it fires) if watch is set.
func (s *shell) children(ctx context.Context, path string, watch bool) ([]string, client.Stat, error) {
	if !watch {
		return s.c.Children(ctx, path)
	}
	names, st, ch, err := s.c.ChildrenW(ctx, path)
	if err == nil {
		s.watchOnce(path, childWatch, ch)
	}
	return names, st, err
}

func joinPath(parent, child string) string {
	if parent == "/" {
		return "/" + child
	}
	return parent + "/" + child
}

func runGet(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	watch := deprecatedWatch(s, p, "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.")
	var data []byte
	var st client.Stat
	if watch {
		var ch <-chan client.Event
		data, st, ch, err = s.c.GetW(ctx, path)
		if err == nil {
			s.watchOnce(path, dataWatch, ch)
		}
	} else {
		data, st, err = s.c.Get(ctx, path)
	}
	if err != nil {
		return describe(err, path)
	}
	if s.json {
		out := map[string]any{"path": path, "data": nil}
		if data != nil {
			out["data"] = javaString(data)
		}
		if p.has("s") {
			out["stat"] = toStatJSON(st)
		}
		return s.emit(out)
	}
	text := "null"
	if data != nil {
		text = javaString(data)
	}
	fmt.Fprintln(s.out, text)
	if p.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func runStat(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	watch := deprecatedWatch(s, p, "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.")
	var st *client.Stat
	if watch {
		var ch <-chan client.Event
		st, ch, err = s.c.ExistsW(ctx, path)
		if err == nil {
			s.watchOnce(path, dataWatch, ch)
		}
	} else {
		st, err = s.c.Exists(ctx, path)
	}
	if err != nil {
		return describe(err, path)
	}
	if st == nil {
		return describe(client.ErrNoNode, path)
	}
	if s.json {
		return s.emit(toStatJSON(*st))
	}
	printStat(s.out, *st)
	return nil
}

func runSet(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	version, err := versionOption(p)
	if err != nil {
		return err
	}
	st, err := s.c.Set(ctx, path, []byte(p.args[2]), version)
	if err != nil {
		return describe(err, path)
	}
	if p.has("s") {
		if s.json {
			return s.emit(toStatJSON(st))
		}
		printStat(s.out, st)
	}
	return nil
}

func runCreate(ctx context.Context, s *shell, p *parsedArgs) error {
	seq, eph, container := p.has("s"), p.has("e"), p.has("c")
	if container && (seq || eph) {
		return errorf("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
	}
	var ttl int64
	if v, ok := p.values["t"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errorf("-t argument must be a long value")
		}
		if n <= 0 || n > maxTTL {
			return errorf("ttl must be positive and cannot be larger than: %d", maxTTL)
		}
		ttl = n
		if eph {
			return errorf("TTLs cannot be used with Ephemeral znodes")
		}
		if container {
			return errorf("TTLs cannot be used with Container znodes")
		}
	}
	mode := client.ModePersistent
	switch {
	case eph && seq:
		mode = client.ModeEphemeralSequential
	case eph:
		mode = client.ModeEphemeral
	case seq && ttl > 0:
		mode = client.ModePersistentSequentialWithTTL
	case seq:
		mode = client.ModePersistentSequential
	case container:
		mode = client.ModeContainer
	case ttl > 0:
		mode = client.ModePersistentWithTTL
	}
	path := p.args[1]
	if err := validatePath(path, seq); err != nil {
		return err
	}
	var data []byte
	if len(p.args) > 2 {
		data = []byte(p.args[2])
	}
	acl := client.WorldACL(client.PermAll)
	if len(p.args) > 3 {
		acl = parseACL(p.args[3], s.errOut)
		if len(acl) == 0 {
			fmt.Fprintln(s.errOut, keeperMessage(client.ErrInvalidACL, ""))
			return errorf("Acl is not valid : null")
		}
	}
	var created string
	var err error
	if ttl > 0 {
		created, _, err = s.c.CreateTTL(ctx, path, data, mode, acl, time.Duration(ttl)*time.Millisecond)
	} else {
		created, _, err = s.c.Create(ctx, path, data, mode, acl)
	}
	if err != nil {
		if errors.Is(err, client.ErrEphemeralOnLocalSession) {
			return errorf("Unable to create ephemeral node on a local session")
		}
		return describe(err, path)
	}
	if s.json {
		return s.emit(map[string]string{"created": created})
	}
	fmt.Fprintf(s.errOut, "Created %s\n", created)
	return nil
}

func runDelete(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	version, err := versionOption(p)
	if err != nil {
		return err
	}
	if err := s.c.Delete(ctx, path, version); err != nil {
		return describe(err, path)
	}
	return nil
}

func runDeleteAll(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	batch := 1000
	if v, ok := p.values["b"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errorf("-b argument must be an int value")
		}
		batch = n
	}
	nodes, err := s.subtree(ctx, path, false, "listing")
	if err != nil {
		return err
	}
	if batch <= 0 {
		batch = len(nodes)
	}
	defer s.prog.done()
	// Children before parents: every node follows its parent in subtree's
	// order. Like zkCli.sh, a batch that fails does not stop the others,
	// and the failure is reported once, not as an error.
	slices.Reverse(nodes)
	deleted, failed := 0, false
	for start := 0; start < len(nodes); start += batch {
		end := min(start+batch, len(nodes))
		ops := make([]client.Op, 0, end-start)
		for _, n := range nodes[start:end] {
			ops = append(ops, client.DeleteOp{Path: n, Version: client.AnyVersion})
		}
		if _, err := s.c.Multi(ctx, ops...); err != nil {
			if ctx.Err() != nil || errors.Is(err, client.ErrConnectionLoss) || errors.Is(err, client.ErrSessionExpired) {
				return describe(err, path)
			}
			failed = true
			continue
		}
		deleted += end - start
		s.prog.update("deleting: %d of %d nodes", deleted, len(nodes))
	}
	if failed {
		fmt.Fprintln(s.errOut, "Failed to delete some node(s) in the subtree!")
	}
	return nil
}

func runGetACL(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	acl, st, err := s.c.GetACL(ctx, path)
	if err != nil {
		return describe(err, path)
	}
	if s.json {
		type entry struct {
			Scheme string `json:"scheme"`
			ID     string `json:"id"`
			Perms  string `json:"perms"`
		}
		entries := make([]entry, 0, len(acl))
		for _, a := range acl {
			entries = append(entries, entry{a.Scheme, a.ID, permString(a.Perms)})
		}
		out := map[string]any{"path": path, "acl": entries}
		if p.has("s") {
			out["stat"] = toStatJSON(st)
		}
		return s.emit(out)
	}
	for _, a := range acl {
		fmt.Fprintf(s.out, "'%s,'%s\n: %s\n", a.Scheme, a.ID, permString(a.Perms))
	}
	if p.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func runSetACL(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	version, err := versionOption(p)
	if err != nil {
		return err
	}
	acl := parseACL(p.args[2], s.errOut)
	if len(acl) == 0 {
		return errorf("Acl is not valid : null")
	}
	if p.has("R") {
		nodes, err := s.subtree(ctx, path, false, "listing")
		if err != nil {
			return err
		}
		for i, n := range nodes {
			if _, err := s.c.SetACL(ctx, n, acl, version); err != nil {
				return describe(err, n)
			}
			s.prog.update("setting ACLs: %d of %d nodes", i+1, len(nodes))
		}
		s.prog.done()
		return nil
	}
	st, err := s.c.SetACL(ctx, path, acl, version)
	if err != nil {
		return describe(err, path)
	}
	if p.has("s") {
		if s.json {
			return s.emit(toStatJSON(st))
		}
		printStat(s.out, st)
	}
	return nil
}

func runAddAuth(ctx context.Context, s *shell, p *parsedArgs) error {
	var auth []byte
	if len(p.args) > 2 {
		auth = []byte(p.args[2])
	}
	// A refused credential ends the session; the state events report it,
	// and zkCli.sh prints nothing more.
	if err := s.c.AddAuth(ctx, p.args[1], auth); err != nil && !errors.Is(err, client.ErrAuthFailed) {
		return describe(err, "")
	}
	return nil
}

func runSync(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	if err := s.c.Sync(ctx, path); err != nil {
		var code client.Code
		if errors.As(err, &code) {
			fmt.Fprintf(s.out, "Sync has failed. rc=%d\n", int32(code))
			return nil
		}
		return describe(err, path)
	}
	if s.json {
		return s.emit(map[string]any{"path": path, "synced": true})
	}
	fmt.Fprintln(s.out, "Sync is OK")
	return nil
}

func runGetEphemerals(ctx context.Context, s *shell, p *parsedArgs) error {
	prefix := "/"
	if len(p.args) > 1 {
		prefix = p.args[1]
	}
	if err := validatePath(prefix, false); err != nil {
		return err
	}
	paths, err := s.c.GetEphemerals(ctx, prefix)
	if err != nil {
		return describe(err, prefix)
	}
	if s.json {
		if paths == nil {
			paths = []string{}
		}
		return s.emit(paths)
	}
	fmt.Fprintf(s.out, "[%s]\n", strings.Join(paths, ", "))
	return nil
}

func runGetAllChildrenNumber(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	n, err := s.c.GetAllChildrenNumber(ctx, path)
	if err != nil {
		return describe(err, path)
	}
	if s.json {
		return s.emit(map[string]any{"path": path, "count": n})
	}
	fmt.Fprintln(s.out, n)
	return nil
}

func runWhoAmI(ctx context.Context, s *shell, p *parsedArgs) error {
	infos, err := s.c.WhoAmI(ctx)
	if err != nil {
		return describe(err, "")
	}
	if s.json {
		type entry struct {
			Scheme string `json:"scheme"`
			User   string `json:"user"`
		}
		out := make([]entry, 0, len(infos))
		for _, i := range infos {
			out = append(out, entry{i.Scheme, i.User})
		}
		return s.emit(out)
	}
	fmt.Fprintln(s.out, "Auth scheme: User")
	for _, i := range infos {
		fmt.Fprintf(s.out, "%s: %s\n", i.Scheme, i.User)
	}
	return nil
}

func runAddWatch(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	recursive := true
	if m, ok := p.values["m"]; ok {
		switch m {
		case "PERSISTENT":
			recursive = false
		case "PERSISTENT_RECURSIVE":
		default:
			return errorf("addWatch %s", commands["addWatch"].usage)
		}
	}
	w, err := s.c.AddWatch(ctx, path, recursive)
	if err != nil {
		return describe(err, path)
	}
	s.watchPersistent(w)
	return nil
}

func runRemoveWatches(ctx context.Context, s *shell, p *parsedArgs) error {
	path, err := pathArg(p, 1)
	if err != nil {
		return err
	}
	t := client.WatcherAny
	switch {
	case p.has("c"):
		t = client.WatcherChildren
	case p.has("d"):
		t = client.WatcherData
	}
	if err := s.c.RemoveWatches(ctx, path, t); err != nil {
		return describe(err, path)
	}
	return nil
}

func runConfig(ctx context.Context, s *shell, p *parsedArgs) error {
	var data []byte
	var st client.Stat
	var err error
	if p.has("w") {
		var ch <-chan client.Event
		data, st, ch, err = s.c.GetW(ctx, client.ConfigNode)
		if err == nil {
			s.watchOnce(client.ConfigNode, dataWatch, ch)
		}
	} else {
		data, st, err = s.c.GetConfig(ctx)
	}
	if err != nil {
		return describe(err, client.ConfigNode)
	}
	text := javaString(data)
	if p.has("c") {
		text = clientConnectString(text)
	}
	if s.json {
		out := map[string]any{"config": text}
		if p.has("s") {
			out["stat"] = toStatJSON(st)
		}
		return s.emit(out)
	}
	fmt.Fprintln(s.out, text)
	if p.has("s") {
		printStat(s.out, st)
	}
	return nil
}

// clientConnectString turns a dynamic configuration into "version
// host:port,host:port": the config version and each server's client
// address, a wildcard client address replaced by the server's own host.
func clientConnectString(config string) string {
	version := ""
	var addrs []string
	for _, line := range strings.Split(config, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		if key == "version" {
			version = value
			continue
		}
		if !strings.HasPrefix(key, "server.") {
			continue
		}
		quorum, clientPart, ok := strings.Cut(value, ";")
		if !ok {
			continue
		}
		host, port, found := strings.Cut(clientPart, ":")
		if !found {
			host, port = "", clientPart
		}
		if host == "" || host == "0.0.0.0" {
			host, _, _ = strings.Cut(quorum, ":")
		}
		addrs = append(addrs, host+":"+port)
	}
	return version + " " + strings.Join(addrs, ",")
}

func runReconfig(ctx context.Context, s *shell, p *parsedArgs) error {
	file, hasFile := p.values["file"]
	members, hasMembers := p.values["members"]
	add, hasAdd := p.values["add"]
	remove, hasRemove := p.values["remove"]
	if !hasFile && !hasMembers && !hasAdd && !hasRemove {
		return errorf("reconfig %s", commands["reconfig"].usage)
	}
	if (hasFile || hasMembers) && (hasAdd || hasRemove) {
		return errorf("Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)")
	}
	if hasFile && hasMembers {
		return errorf("Can't use -file and -members together (conflicting non-incremental modes)")
	}
	from := int64(-1)
	if v, ok := p.values["v"]; ok {
		n, err := strconv.ParseInt(v, 16, 64)
		if err != nil {
			return errorf("-v must be followed by a long (configuration version)")
		}
		from = n
	}
	if hasFile {
		m, err := membersFromFile(file)
		if err != nil {
			return errorf("Error processing %s: %v", file, err)
		}
		members = m
	}
	data, st, err := s.c.Reconfig(ctx, add, remove, members, from)
	if err != nil {
		return describe(err, "")
	}
	if s.json {
		out := map[string]any{"config": javaString(data)}
		if p.has("s") {
			out["stat"] = toStatJSON(st)
		}
		return s.emit(out)
	}
	fmt.Fprintf(s.out, "Committed new configuration:\n%s\n", javaString(data))
	if p.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func runClose(ctx context.Context, s *shell, p *parsedArgs) error {
	s.disconnect()
	return nil
}

func runVersion(ctx context.Context, s *shell, p *parsedArgs) error {
	if s.json {
		return s.emit(map[string]string{"version": s.cfg.Version})
	}
	fmt.Fprintf(s.out, "ZooKeeper CLI version: %s\n", s.cfg.Version)
	return nil
}

// membersFromFile reads reconfig -file: a dynamic configuration file whose
// server.N lines become the new membership.
func membersFromFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var members []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "server.") || strings.HasPrefix(line, "group.") || strings.HasPrefix(line, "weight.") {
			members = append(members, line)
		}
	}
	if len(members) == 0 {
		return "", errors.New("no server.N lines")
	}
	return strings.Join(members, ","), nil
}
