package admin

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

// DefaultCommandURL is where the AdminServer serves its commands unless
// configured otherwise (admin.commandURL, client spec §12).
const DefaultCommandURL = "/commands"

// HandlerOptions configures the AdminServer's handler.
type HandlerOptions struct {
	// CommandURL is the path under which the commands are served:
	// CommandURL lists them and CommandURL/<name> runs one. Empty means
	// DefaultCommandURL. A missing leading slash is added and a trailing
	// one dropped.
	CommandURL string
	// Registry holds the commands' state (the trace mask). Nil means the
	// process-wide registry RunFourLetter uses, so that stmk on the client
	// port and set_trace_mask here change the same mask, as in ZooKeeper.
	Registry *Registry
	// Auth, when set, makes the commands that list sessions or client
	// connections (connections, dump, stats, watches, watches_by_path)
	// require authentication, the way ZooKeeper 3.9 guards its snapshot
	// command: an Authorization header whose identities hold every
	// permission on "/". Nil runs every command for anyone, as ZooKeeper
	// 3.8 does.
	Auth Authorizer
}

// NewHandler returns ZooKeeper's AdminServer as an http.Handler (client
// spec §12). GET CommandURL answers an HTML page linking every command;
// GET CommandURL/<name> runs the command with that primary name or alias
// on src and answers HTTP 200 with a JSON object holding the command's
// fields, "command" (its primary name) and "error" (null, or why it did not
// run: an unknown name, a server that is not serving, a bad argument).
// HEAD answers the same headers and OPTIONS the allowed methods; other
// methods get 405 and other paths 404.
// The four-letter-word whitelist does not apply. With opts.Auth, a command
// that needs authentication and fails it gets ZooKeeper 3.9's answers:
// HTTP 401 with "Auth info is missing for the command" or "Not
// authenticated", 403 with "Not authorized", or 500 with "Error occurred
// during auth" in the JSON's "error" (after the unknown-command and
// not-serving checks, which keep their HTTP 200).
//
// The handler reads the configuration file named by src.Config().File
// once, now, for initial_configuration. It is safe for concurrent use if
// src is.
func NewHandler(src Source, opts HandlerOptions) http.Handler {
	h := &handler{
		src:    src,
		reg:    opts.Registry,
		auth:   opts.Auth,
		prefix: commandURL(opts.CommandURL),
		byName: make(map[string]*adminCommand),
	}
	if h.reg == nil {
		h.reg = processRegistry
	}
	for _, ac := range adminCommands(h.reg) {
		h.commands = append(h.commands, ac)
		h.byName[ac.cmd.Name] = ac
		for _, a := range ac.cmd.Aliases {
			h.byName[a] = ac
		}
	}
	h.index = commandIndex(h.prefix, h.commands)
	cfg := src.Config()
	if cfg != nil && cfg.File != "" && cfg.Standalone() {
		// ZooKeeper keeps the text of the file it started from; only its
		// standalone main does, so an ensemble member answers null
		// [live].
		if b, err := os.ReadFile(cfg.File); err == nil {
			text := redactConfigText(string(b))
			h.initialConfig = &text
		}
	}
	return h
}

// commandURL normalises the configured command URL.
func commandURL(u string) string {
	if u == "" {
		return DefaultCommandURL
	}
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	return strings.TrimRight(u, "/")
}

// handler is the AdminServer.
type handler struct {
	src    Source
	reg    *Registry
	auth   Authorizer // nil: no command needs authentication
	prefix string     // "/commands"

	commands []*adminCommand          // by primary name
	byName   map[string]*adminCommand // primary names and aliases
	index    []byte                   // the page that lists the commands

	// initialConfig is the configuration file's text, nil when there is
	// none to show.
	initialConfig *string
}

// adminCommand is a command as the AdminServer runs it.
type adminCommand struct {
	// cmd names the command and says which Snapshot details it reads.
	// AdminServer-only commands have no four-letter word.
	cmd *Command
	// needsServing is whether it answers only while the server serves.
	// It differs from cmd.ServerRequired for ruok, which the client port
	// answers regardless [live].
	needsServing bool
	// json returns the command's fields, or an error message.
	json func(a *adminCall) (jsonObject, string)
	// needsAuth is whether it reveals sessions or client connections, and
	// so needs authentication when the handler checks it.
	needsAuth bool
}

// adminCall is one run of a command on the AdminServer.
type adminCall struct {
	*call
	h     *handler
	query url.Values
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	var name string
	switch {
	case p == h.prefix || p == h.prefix+"/":
	case strings.HasPrefix(p, h.prefix+"/"):
		name = p[len(h.prefix)+1:]
	default:
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		w.WriteHeader(http.StatusOK)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "HTTP method "+r.Method+" is not supported by this URL", http.StatusMethodNotAllowed)
		return
	}
	if name == "" {
		answer(w, "text/html; charset=utf-8", h.index)
		return
	}
	obj, status := h.run(name, r)
	answerStatus(w, status, "application/json", marshalJackson(obj))
}

// answer writes body with status 200.
func answer(w http.ResponseWriter, contentType string, body []byte) {
	answerStatus(w, http.StatusOK, contentType, body)
}

// answerStatus writes body with status.
func answerStatus(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	// An error means the client went away; there is no one to tell.
	_, _ = w.Write(body)
}

// run runs the command called name for request r and returns its answer
// and HTTP status.
func (h *handler) run(name string, r *http.Request) (jsonObject, int) {
	ac, ok := h.byName[name]
	if !ok {
		return jsonObject{{"command", name}, {"error", "Unknown command: " + name}}, http.StatusOK
	}
	a := &adminCall{call: &call{reg: h.reg, cmd: ac.cmd, src: h.src}, h: h, query: r.URL.Query()}
	if ac.needsServing && !a.snapshot().Serving {
		return jsonObject{{"command", ac.cmd.Name}, {"error", notServingMessage}}, http.StatusOK
	}
	if ac.needsAuth && h.auth != nil {
		if status, msg := h.authorize(r); status != 0 {
			return jsonObject{{"command", ac.cmd.Name}, {"error", msg}}, status
		}
	}
	fields, errMsg := ac.json(a)
	if errMsg != "" {
		// A command's own error comes first and replaces its fields
		// [live: leader, set_trace_mask].
		return jsonObject{{"error", errMsg}, {"command", ac.cmd.Name}}, http.StatusOK
	}
	fields.add("command", ac.cmd.Name)
	fields.add("error", nil)
	return fields, http.StatusOK
}

// commandIndex returns the page GET CommandURL answers: a link per command,
// each followed by a line break.
func commandIndex(prefix string, cmds []*adminCommand) []byte {
	var b strings.Builder
	for _, ac := range cmds {
		n := ac.cmd.Name
		b.WriteString(`<a href="` + html.EscapeString(prefix) + "/" + n + `">` + n + "</a>\n<br/>\n")
	}
	return []byte(b.String())
}

// adminCommands returns the AdminServer's commands sorted by primary name:
// the registry's, with their names, aliases and details, and the
// AdminServer-only ones (client spec §12).
func adminCommands(reg *Registry) []*adminCommand {
	type entry struct {
		name    string
		aliases []string // of AdminServer-only commands, which read no Snapshot details
		serving bool
		json    func(a *adminCall) (jsonObject, string)
		auth    bool // lists sessions or client connections
	}
	// Whether a command needs a serving server is what ZooKeeper 3.8.0
	// does on its AdminServer [live], which is not always what it does on
	// the client port.
	entries := []entry{
		{name: "configuration", serving: true, json: (*adminCall).configuration},
		{name: "connection_stat_reset", serving: true, json: (*adminCall).connectionStatReset},
		{name: "connections", serving: true, json: (*adminCall).connections, auth: true},
		{name: "dirs", serving: true, json: (*adminCall).dirs},
		{name: "dump", serving: true, json: (*adminCall).dump, auth: true},
		{name: "environment", json: (*adminCall).environment},
		{name: "get_trace_mask", json: (*adminCall).getTraceMask},
		{name: "hash", serving: true, json: (*adminCall).hash},
		{name: "initial_configuration", aliases: []string{"icfg"}, serving: true, json: (*adminCall).initialConfiguration},
		{name: "is_read_only", serving: true, json: (*adminCall).isReadOnly},
		{name: "last_snapshot", aliases: []string{"lsnp"}, serving: true, json: (*adminCall).lastSnapshot},
		{name: "leader", aliases: []string{"lead"}, serving: true, json: (*adminCall).leader},
		// ZooKeeper fails with HTTP 500 here when it is not serving
		// [live]; zkd answers the not-serving error instead.
		{name: "monitor", serving: true, json: (*adminCall).monitor},
		{name: "observer_connection_stat_reset", aliases: []string{"orst"}, serving: true, json: (*adminCall).observerConnectionStatReset},
		{name: "observers", aliases: []string{"obsr"}, serving: true, json: (*adminCall).observers},
		{name: "ruok", serving: true, json: (*adminCall).ruok},
		{name: "server_stats", serving: true, json: (*adminCall).serverStats},
		{name: "set_trace_mask", json: (*adminCall).setTraceMask},
		{name: "stat_reset", serving: true, json: (*adminCall).statReset},
		{name: "stats", serving: true, json: (*adminCall).stats, auth: true},
		{name: "system_properties", aliases: []string{"sysp"}, json: (*adminCall).systemProperties},
		{name: "voting_view", serving: true, json: (*adminCall).votingView},
		{name: "watch_summary", serving: true, json: (*adminCall).watchSummary},
		{name: "watches", serving: true, json: (*adminCall).watches, auth: true},
		{name: "watches_by_path", serving: true, json: (*adminCall).watchesByPath, auth: true},
		{name: "zabstate", json: (*adminCall).zabState},
	}
	out := make([]*adminCommand, 0, len(entries))
	for _, e := range entries {
		cmd, ok := reg.Lookup(e.name)
		if !ok || cmd.Name != e.name {
			cmd = &Command{Name: e.name, Aliases: e.aliases, ServerRequired: e.serving}
		}
		out = append(out, &adminCommand{cmd: cmd, needsServing: e.serving, json: e.json, needsAuth: e.auth})
	}
	slices.SortFunc(out, func(a, b *adminCommand) int { return strings.Compare(a.cmd.Name, b.cmd.Name) })
	return out
}
