package server

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/testcluster"
)

func TestAdminServerPortUnificationServesHTTPSAndHTTP(t *testing.T) {
	ca := testcluster.NewCA(t, "admin CA")
	store := ca.Issue(t, testcluster.CertOptions{}).WritePEM(t, filepath.Join(t.TempDir(), "admin.pem"))
	for _, mode := range []string{"forceHttps", "portUnification"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t, func(c *config.Config) {
				c.Props["zookeeper.admin.enableServer"] = "true"
				c.Props["zookeeper.admin.serverAddress"] = "127.0.0.1"
				c.Props["zookeeper.admin.serverPort"] = "0"
				c.Props["zookeeper.admin."+mode] = "true"
				c.Props["zookeeper.ssl.quorum.keyStore.location"] = store
			})
			if s.AdminAddr() == nil {
				t.Fatal("AdminServer not running")
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca.Cert)
			client := &http.Client{Timeout: 10 * time.Second,
				Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
			get := func(scheme string) (int, string) {
				resp, err := client.Get(scheme + "://" + s.AdminAddr().String() + "/commands/ruok")
				if err != nil {
					t.Fatalf("%s: %v", scheme, err)
				}
				defer resp.Body.Close()
				_, _ = io.Copy(io.Discard, resp.Body)
				return resp.StatusCode, resp.Header.Get("Strict-Transport-Security")
			}
			if code, hsts := get("https"); code != http.StatusOK || hsts != adminHSTS {
				t.Errorf("https: status %d, Strict-Transport-Security %q", code, hsts)
			}
			wantHTTP := http.StatusOK
			if mode == "forceHttps" {
				wantHTTP = http.StatusBadRequest // Go's "Client sent an HTTP request to an HTTPS server"
			}
			if code, hsts := get("http"); code != wantHTTP || hsts != "" {
				t.Errorf("http: status %d, Strict-Transport-Security %q; want %d and none", code, hsts, wantHTTP)
			}
		})
	}
}
