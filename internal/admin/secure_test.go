package admin

import (
	"net/http"
	"strings"
	"testing"
)

// TestSecurePortConnectionsAreListedApart checks that the AdminServer
// lists connections of the secure client port under secure_connections and
// the others under connections, in the connections and stats commands, as
// ZooKeeper lists its two connection factories.
func TestSecurePortConnectionsAreListedApart(t *testing.T) {
	snap := httpBusy(t)
	if len(snap.Connections) < 2 {
		t.Fatalf("the busy capture has %d connections", len(snap.Connections))
	}
	snap.Connections[0].Secure = true
	secureRemote := snap.Connections[0].Remote
	cfg := standaloneConfig()
	cfg.Props["zookeeper.zkd.admin.commandAuth"] = "false"
	h := NewHandler(&fakeSource{snap: snap, cfg: cfg}, HandlerOptions{Registry: testRegistry()})
	for _, cmd := range []string{"connections", "stats"} {
		body := httpGet(t, h, http.MethodGet, "/commands/"+cmd).Body.String()
		plain, secure, ok := strings.Cut(body, `"secure_connections"`)
		if !ok {
			t.Fatalf("%s: no secure_connections:\n%s", cmd, body)
		}
		if !strings.Contains(secure, secureRemote) || strings.Contains(plain, secureRemote) {
			t.Errorf("%s: %s is not listed under secure_connections alone:\n%s", cmd, secureRemote, body)
		}
		if !strings.Contains(plain, snap.Connections[1].Remote) || strings.Contains(secure, snap.Connections[1].Remote) {
			t.Errorf("%s: %s is not listed under connections alone:\n%s", cmd, snap.Connections[1].Remote, body)
		}
	}
}
