package server

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/acl"
	"github.com/zkd/zkd/internal/config"
)

// adminGet runs an AdminServer command with an Authorization header (none
// when auth is "-") and returns the status and body.
func adminGet(t *testing.T, s *Server, cmd, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.AdminAddr().String()+"/commands/"+cmd, nil)
	if auth != "-" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func withAdminServer(more ...string) func(*config.Config) {
	return func(c *config.Config) {
		c.Props["zookeeper.admin.enableServer"] = "true"
		c.Props["zookeeper.admin.serverAddress"] = "127.0.0.1"
		c.Props["zookeeper.admin.serverPort"] = "0"
		c.Props["zookeeper.DigestAuthenticationProvider.superDigest"] = acl.Digest([]byte("root:rootpw"))
		for i := 0; i+1 < len(more); i += 2 {
			c.Props[more[i]] = more[i+1]
		}
	}
}

func TestAdminCommandsListingSessionsFollowTheRootACL(t *testing.T) {
	s := startServer(t, withAdminServer())
	c := zkConnect(t, s)
	// Only admin may do everything on "/"; everyone may still read it.
	if _, err := c.SetACL("/", append(zk.DigestACL(zk.PermAll, "admin", "pw"), zk.WorldACL(zk.PermRead)...), -1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cmd, auth string
		code            int
	}{
		{"no header", "cons", "-", http.StatusUnauthorized},
		{"an ip identity, which holds only READ", "dump", "ip", http.StatusForbidden},
		{"a digest without ALL", "stat", "digest eve:pw", http.StatusForbidden},
		{"a bare digest", "cons", "digest", http.StatusUnauthorized},
		{"x509, which needs TLS", "cons", "x509", http.StatusUnauthorized},
		{"the digest the ACL names", "cons", "digest admin:pw", http.StatusOK},
		{"the super user", "wchc", "digest root:rootpw", http.StatusOK},
		{"a command that lists no sessions", "srvr", "-", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := adminGet(t, s, tt.cmd, tt.auth); code != tt.code {
				t.Fatalf("%s with %q: %d %s, want %d", tt.cmd, tt.auth, code, body, tt.code)
			}
		})
	}
}

func TestAdminCommandAuthCanBeTurnedOff(t *testing.T) {
	s := startServer(t, withAdminServer("zookeeper.zkd.admin.commandAuth", "false"))
	if code, body := adminGet(t, s, "cons", "-"); code != http.StatusOK {
		t.Fatalf("cons without auth and zkd.admin.commandAuth=false: %d %s", code, body)
	}
}
