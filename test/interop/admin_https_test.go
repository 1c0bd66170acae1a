package interop

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// adminReply is what an AdminServer answered, reduced to what both
// servers must agree on.
type adminReply struct {
	status int
	hsts   string
	err    string // a transport error, reduced to its kind
}

func (r adminReply) String() string {
	return fmt.Sprintf("status=%d hsts=%q err=%q", r.status, r.hsts, r.err)
}

// getAdmin asks the AdminServer at scheme://addr for the ruok command.
func getAdmin(c *http.Client, scheme, addr string) adminReply {
	resp, err := c.Get(scheme + "://" + addr + "/commands/ruok")
	if err != nil {
		kind := "error"
		switch {
		case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
			kind = "http answer to https"
		case strings.Contains(err.Error(), "EOF"), strings.Contains(err.Error(), "connection reset"),
			strings.Contains(err.Error(), "malformed HTTP response"):
			kind = "no http answer"
		}
		if kind == "error" {
			kind = err.Error()
		}
		return adminReply{err: kind}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return adminReply{status: resp.StatusCode, hsts: resp.Header.Get("Strict-Transport-Security")}
}

func TestAdminServerOverHTTPSMatchesApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	dir := t.TempDir()
	ca := testcluster.NewCA(t, "admin CA")
	const password = "admin-secret"
	keyStore := ca.Issue(t, testcluster.CertOptions{}).KeyStore(t, filepath.Join(dir, "admin.p12"), "PKCS12", password)
	trustStore := ca.TrustStore(t, filepath.Join(dir, "trust.p12"), "PKCS12", password)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}

	for _, mode := range []string{"admin.forceHttps", "admin.portUnification"} {
		t.Run(mode, func(t *testing.T) {
			config := func(port int) []string {
				return []string{
					"admin.enableServer=true", "admin.serverAddress=127.0.0.1", "admin.serverPort=" + strconv.Itoa(port),
					mode + "=true",
					"ssl.quorum.keyStore.location=" + keyStore, "ssl.quorum.keyStore.password=" + password,
					"ssl.quorum.trustStore.location=" + trustStore, "ssl.quorum.trustStore.password=" + password,
				}
			}
			zkPort, zkdPort := testcluster.FreePort(t), testcluster.FreePort(t)
			zk := testcluster.StartApacheZK(t, testcluster.ApacheOptions{ExtraConfig: config(zkPort)})
			zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{ExtraConfig: config(zkdPort)})
			for _, scheme := range []string{"https", "http"} {
				want := getAdmin(client, scheme, "127.0.0.1:"+strconv.Itoa(zkPort))
				got := getAdmin(client, scheme, "127.0.0.1:"+strconv.Itoa(zkdPort))
				t.Logf("%s: ZooKeeper %v, zkd %v", scheme, want, got)
				if mode == "admin.forceHttps" && scheme == "http" && want.err == "no http answer" {
					// A deliberate difference: Jetty closes a plain HTTP
					// request to its HTTPS-only port without a word; Go's
					// server answers 400 "Client sent an HTTP request to
					// an HTTPS server", which tells an operator why.
					want = adminReply{status: http.StatusBadRequest}
				}
				if got != want {
					t.Errorf("%s: zkd %v, ZooKeeper %v\nzkd log:\n%s\nZooKeeper log:\n%s", scheme, got, want, zkd.LogTail(), zk.LogTail())
				}
			}
			if r := getAdmin(client, "https", "127.0.0.1:"+strconv.Itoa(zkdPort)); r.status != http.StatusOK {
				t.Errorf("zkd over HTTPS: %v", r)
			}
		})
	}
}
