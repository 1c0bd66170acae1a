package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// A configuration without ServerName verifies each server against the
// host it dials (and sends that host as SNI).
func TestWithTLSVerifiesTheDialedHost(t *testing.T) {
	ca := testcluster.NewCA(t, "tls test CA")
	cert := ca.Issue(t, testcluster.CertOptions{DNSNames: []string{"zk1.example"}})
	dial, srvs := pipeDialerN(t, 1)
	sni := make(chan string, 1)
	go func() {
		tc := tls.Server(srvs[0].nc, &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Cert.Raw}, PrivateKey: cert.Key}},
			GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				sni <- h.ServerName
				return nil, nil
			},
		})
		if err := tc.Handshake(); err != nil {
			t.Errorf("server handshake: %v", err)
			return
		}
		f := &fakeServer{t: t, nc: tc}
		f.handshake()
	}()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, []string{"zk1.example:2281"}, dial, WithTLS(&tls.Config{RootCAs: roots}))
	if err != nil {
		t.Fatal(err)
	}
	srvs[0].nc.Close()
	c.Close(ctx)
	if got := <-sni; got != "zk1.example" {
		t.Fatalf("SNI %q, want zk1.example", got)
	}
}

func TestATLSConfigurationErrorFailsTheAttempt(t *testing.T) {
	dial, _ := pipeDialerN(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Connect(ctx, []string{"zk1:2281"}, dial, WithFailFast(), WithTLSFor(func(host string) (*tls.Config, error) {
		return nil, errors.New("no trust store for " + host)
	}))
	if !errors.Is(err, ErrConnectionLoss) || !strings.Contains(err.Error(), "TLS configuration for zk1:2281: no trust store for zk1") {
		t.Fatalf("err = %v", err)
	}
}
