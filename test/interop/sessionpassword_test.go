package interop

import (
	"bytes"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/session"
	"github.com/zkd/zkd/internal/testcluster"
)

// TestASessionApacheZooKeeperCreatedReattachesToZkdOnItsDataDir: Apache
// ZooKeeper 3.8 gives a session its derivable password and dies with the
// session live; zkd, started on that dataDir, lets the client reattach with
// the password it holds, while sessions zkd creates get passwords that the
// id does not reveal.
func TestASessionApacheZooKeeperCreatedReattachesToZkdOnItsDataDir(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedApacheZooKeeper)
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{})
	old := testcluster.DialRaw(t, apache.Addr)
	resp := old.Handshake(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, session.PasswordLen)})
	if resp == nil || !bytes.Equal(resp.Passwd, session.ZooKeeperPassword(resp.SessionID)) {
		t.Fatalf("Apache ZooKeeper's handshake: %+v, want ZooKeeper's derivation as the password", resp)
	}
	var created jute.PathResponse
	h := old.Call(1, jute.OpCreate, &jute.CreateRequest{Path: "/eph", ACL: []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, Flags: jute.ModeEphemeral}, &created)
	if h.Err != 0 {
		t.Fatalf("create on Apache ZooKeeper: %v", h.Err)
	}
	apache.Kill() // the session stays live in the data

	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{DataDir: apache.DataDir})
	again := testcluster.DialRaw(t, zkd.Addr)
	got := again.Handshake(&jute.ConnectRequest{SessionID: resp.SessionID, Passwd: resp.Passwd, Timeout: 30000, LastZxidSeen: h.Zxid})
	if got == nil || got.SessionID != resp.SessionID || !bytes.Equal(got.Passwd, resp.Passwd) {
		t.Fatalf("reattach to zkd with Apache ZooKeeper's password: %+v\nzkd log:\n%s", got, zkd.LogTail())
	}
	var eph jute.StringsResponse
	if h := again.Call(2, jute.OpGetEphemerals, &jute.PathRequest{Path: "/"}, &eph); h.Err != 0 || !slices.Equal(eph.Strings, []string{"/eph"}) {
		t.Fatalf("ephemerals after reattaching: %v %v", eph.Strings, h.Err)
	}
	fresh := testcluster.ConnectRaw(t, zkd.Addr)
	if bytes.Equal(fresh.Passwd(), session.ZooKeeperPassword(fresh.SessionID())) {
		t.Fatal("a session zkd created got ZooKeeper's derivable password")
	}
}
