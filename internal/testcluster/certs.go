package testcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a certificate authority made for one test.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Cert is a certificate and its private key, issued by a test CA.
type Cert struct {
	Cert  *x509.Certificate
	Key   *ecdsa.PrivateKey
	Chain []*x509.Certificate // Cert first, then the issuer
}

// CertOptions describe a certificate to issue. The zero value gives a
// certificate for 127.0.0.1 and localhost valid from an hour ago for a day,
// usable by servers and clients.
type CertOptions struct {
	Subject pkix.Name
	// RawSubject, when set, is the DER subject (for multi-valued RDNs,
	// which pkix.Name cannot express); it wins over Subject.
	RawSubject []byte
	DNSNames   []string
	IPs        []net.IP
	NotBefore  time.Time
	NotAfter   time.Time
	// NoDefaultNames leaves out 127.0.0.1 and localhost.
	NoDefaultNames bool
}

var serial atomic.Int64

func nextSerial() *big.Int {
	return big.NewInt(time.Now().UnixNano() + serial.Add(1))
}

// NewCA makes a self-signed CA named cn.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"zkd tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return &CA{Cert: c, Key: key}
}

// Issue makes a certificate signed by the CA.
func (ca *CA) Issue(t testing.TB, o CertOptions) *Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if !o.NoDefaultNames {
		o.DNSNames = append(o.DNSNames, "localhost")
		o.IPs = append(o.IPs, net.IPv4(127, 0, 0, 1))
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      o.Subject,
		RawSubject:   o.RawSubject,
		DNSNames:     o.DNSNames,
		IPAddresses:  o.IPs,
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return &Cert{Cert: c, Key: key, Chain: []*x509.Certificate{c, ca.Cert}}
}

// CertPEM returns the certificate chain as PEM.
func (c *Cert) CertPEM() []byte {
	var out []byte
	for _, x := range c.Chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})...)
	}
	return out
}

// KeyPEM returns the private key as an unencrypted PKCS#8 PEM block.
func (c *Cert) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		panic(err) // an ECDSA key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// WritePEM writes the chain and the key into one file (a ZooKeeper PEM key
// store) and returns its path.
func (c *Cert) WritePEM(t testing.TB, path string) string {
	t.Helper()
	writeFile(t, path, append(c.CertPEM(), c.KeyPEM()...))
	return path
}

// WritePEM writes the CA's certificate (a PEM trust store) to path.
func (ca *CA) WritePEM(t testing.TB, path string) string {
	t.Helper()
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))
	return path
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// RequireKeytool skips the test (or fails it under ZKD_REQUIRE_INTEROP=1)
// when Java's keytool is missing, and returns its path.
func RequireKeytool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("keytool")
	if err != nil {
		skipOrFail(t, "keytool missing (Debian: apt-get install openjdk-17-jre-headless): %v", err)
	}
	return p
}

// KeyStore writes the certificate and key as a Java key store of type
// storeType ("JKS" or "PKCS12") protected by password, made by keytool
// (importing a PKCS12 file that openssl writes from the PEM files), and
// returns its path.
func (c *Cert) KeyStore(t testing.TB, path, storeType, password string) string {
	t.Helper()
	kt := RequireKeytool(t)
	dir := t.TempDir()
	// keytool cannot import a PEM key; it can import a PKCS12 file, which
	// openssl writes from the PEM files.
	certPath := filepath.Join(dir, "c.pem")
	keyPath := filepath.Join(dir, "k.pem")
	writeFile(t, certPath, c.CertPEM())
	writeFile(t, keyPath, c.KeyPEM())
	src := filepath.Join(dir, "src.p12")
	run(t, "openssl", "pkcs12", "-export", "-in", certPath, "-inkey", keyPath, "-name", "key",
		"-out", src, "-passout", "pass:"+password)
	_ = os.Remove(path)
	run(t, kt, "-importkeystore", "-noprompt", "-srckeystore", src, "-srcstoretype", "PKCS12",
		"-srcstorepass", password, "-destkeystore", path, "-deststoretype", storeType,
		"-deststorepass", password, "-destkeypass", password)
	return path
}

// TrustStore writes the CA's certificate as a Java trust store of type
// storeType ("JKS" or "PKCS12"), made by keytool, and returns its path.
func (ca *CA) TrustStore(t testing.TB, path, storeType, password string) string {
	t.Helper()
	kt := RequireKeytool(t)
	pemPath := ca.WritePEM(t, filepath.Join(t.TempDir(), "ca.pem"))
	_ = os.Remove(path)
	run(t, kt, "-importcert", "-noprompt", "-alias", "ca", "-file", pemPath, "-keystore", path,
		"-storetype", storeType, "-storepass", password)
	return path
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func x509Pool(ca *CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}
