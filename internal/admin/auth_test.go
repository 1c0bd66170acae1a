package admin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// fakeAuth knows digest and ip, and lets only alice (or an error) decide.
type fakeAuth struct {
	err    error
	remote netip.Addr // of the last Authenticate
}

func (f *fakeAuth) Authenticate(scheme string, auth []byte, remote netip.Addr) ([]jute.Id, bool) {
	f.remote = remote
	switch scheme {
	case "digest":
		return []jute.Id{{Scheme: "digest", ID: string(auth)}}, true
	case "ip":
		return []jute.Id{{Scheme: "ip", ID: remote.String()}}, true
	}
	return nil, false
}

func (f *fakeAuth) Allowed(ids []jute.Id, perm int32, path string) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	return perm == jute.PermAll && path == "/" && slices.Contains(ids, jute.Id{Scheme: "digest", ID: "alice:secret"}), nil
}

func getWithAuth(h http.Handler, target string, auth ...string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	h.ServeHTTP(w, r)
	return w
}

func TestCommandsThatRevealSessionsNeedZooKeeper39sAuth(t *testing.T) {
	h := NewHandler(&fakeSource{snap: httpBusy(t), cfg: standaloneConfig()}, HandlerOptions{Registry: testRegistry(), Auth: &fakeAuth{}})
	refusal := func(cmd, msg string) string {
		return "{\n  \"command\" : \"" + cmd + "\",\n  \"error\" : \"" + msg + "\"\n}"
	}
	tests := []struct {
		name, target string
		auth         []string
		code         int
		body         string // whole body, or "" to check only that the command ran
	}{
		{"no Authorization header", "/commands/connections", nil, 401, refusal("connections", authMissing)},
		{"an alias needs it too", "/commands/cons", nil, 401, refusal("connections", authMissing)},
		{"dump", "/commands/dump", nil, 401, refusal("dump", authMissing)},
		{"stats", "/commands/stat", nil, 401, refusal("stats", authMissing)},
		{"watches", "/commands/wchc", nil, 401, refusal("watches", authMissing)},
		{"watches_by_path", "/commands/wchp", nil, 401, refusal("watches_by_path", authMissing)},
		{"an unknown scheme", "/commands/cons", []string{"x509"}, 401, refusal("connections", authFailed)},
		{"an empty header", "/commands/cons", []string{""}, 401, refusal("connections", authFailed)},
		{"three words", "/commands/cons", []string{"digest alice:secret more"}, 401, refusal("connections", authFailed)},
		{"an identity without ALL on the root", "/commands/cons", []string{"digest bob:pw"}, 403, refusal("connections", authDenied)},
		{"an ip identity without ALL on the root", "/commands/cons", []string{"ip"}, 403, refusal("connections", authDenied)},
		{"an identity with ALL on the root", "/commands/cons", []string{"digest alice:secret"}, 200, ""},
		{"a trailing blank is dropped, as Java's split does", "/commands/dump", []string{"digest alice:secret "}, 200, ""},
		{"other commands need nothing", "/commands/srvr", nil, 200, ""},
		{"an unknown command is answered before auth", "/commands/nope", nil, 200, "{\n  \"command\" : \"nope\",\n  \"error\" : \"Unknown command: nope\"\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := getWithAuth(h, tt.target, tt.auth...)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Fatalf("Content-Type %q", got)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Fatalf("body %q, want %q", w.Body, tt.body)
			}
			if tt.body == "" && !strings.Contains(w.Body.String(), `"error" : null`) {
				t.Fatalf("the command did not run: %s", w.Body)
			}
		})
	}
}

func TestAnAuthCheckThatCannotDecideIsAServerError(t *testing.T) {
	h := NewHandler(&fakeSource{snap: httpBusy(t), cfg: standaloneConfig()},
		HandlerOptions{Registry: testRegistry(), Auth: &fakeAuth{err: errors.New("no node")}})
	w := getWithAuth(h, "/commands/dump", "digest alice:secret")
	if w.Code != 500 || !strings.Contains(w.Body.String(), authError) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestTheCallersAddressReachesTheIPProvider(t *testing.T) {
	auth := &fakeAuth{}
	h := NewHandler(&fakeSource{snap: httpBusy(t), cfg: standaloneConfig()}, HandlerOptions{Registry: testRegistry(), Auth: auth})
	getWithAuth(h, "/commands/cons", "ip") // httptest's caller is 192.0.2.1
	if auth.remote != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("remote %v", auth.remote)
	}
}

func TestWithoutAnAuthorizerEveryCommandRunsAsIn38(t *testing.T) {
	h := NewHandler(&fakeSource{snap: httpBusy(t), cfg: standaloneConfig()}, HandlerOptions{Registry: testRegistry()})
	for _, c := range []string{"connections", "dump", "stats", "watches", "watches_by_path"} {
		if w := getWithAuth(h, "/commands/"+c); w.Code != 200 || !strings.Contains(w.Body.String(), `"error" : null`) {
			t.Fatalf("%s: %d %s", c, w.Code, w.Body)
		}
	}
}

func TestSecretPropertiesAreNeverShown(t *testing.T) {
	cfg := standaloneConfig()
	cfg.Props["zookeeper.DigestAuthenticationProvider.superDigest"] = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
	cfg.Props["zookeeper.ssl.keyStore.password"] = "hunter2"
	cfg.Props["zookeeper.snapCount"] = "1000"
	src := &fakeSource{snap: httpBusy(t), cfg: cfg}
	h := NewHandler(src, HandlerOptions{Registry: testRegistry()})
	outputs := map[string]string{
		"system_properties": getWithAuth(h, "/commands/system_properties").Body.String(),
		"envi":              testRegistry().RunFourLetter("envi", src, everyWord, nil),
	}
	for name, out := range outputs {
		if strings.Contains(out, "D/InIHSb7yEEbrWz8b9l71RjZJU=") || strings.Contains(out, "hunter2") {
			t.Errorf("%s shows a secret:\n%s", name, out)
		}
		if !strings.Contains(out, "superDigest") || !strings.Contains(out, redacted) || !strings.Contains(out, "1000") {
			t.Errorf("%s should name the redacted keys and show the others:\n%s", name, out)
		}
	}
}

func TestInitialConfigurationHidesSecretValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zoo.cfg")
	text := "tickTime=2000\r\nDigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n# ssl.keyStore.password=commented\nssl.keyStore.password = hunter2"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := standaloneConfig()
	cfg.File = path
	h := NewHandler(&fakeSource{snap: httpFresh(t), cfg: cfg}, HandlerOptions{Registry: testRegistry()})
	want := `"initial_configuration" : "tickTime=2000\r\nDigestAuthenticationProvider.superDigest=<redacted>\n# ssl.keyStore.password=commented\nssl.keyStore.password =<redacted>",`
	if body := httpGet(t, h, http.MethodGet, "/commands/icfg").Body.String(); !strings.Contains(body, want) {
		t.Errorf("icfg = %s, want it to contain %s", body, want)
	}
}
