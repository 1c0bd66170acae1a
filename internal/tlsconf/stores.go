package tlsconf

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

func readFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

// loadKeyPair reads a key store: the private key and its certificate chain.
// A JKS or PKCS12 store must hold one private key entry (its key password
// is the store password, as in ZooKeeper); a PEM store holds the chain and
// the key, which may be PKCS#8 (encrypted with the store password when it is
// "ENCRYPTED PRIVATE KEY"), PKCS#1 or SEC 1.
func loadKeyPair(st Store) (*tls.Certificate, error) {
	data, err := readFile(st.Location)
	if err != nil {
		return nil, err
	}
	var key crypto.PrivateKey
	var chain []*x509.Certificate
	switch st.Type {
	case "JKS":
		key, chain, err = jksKeyPair(data, st.Password)
	case "PKCS12":
		var leaf *x509.Certificate
		var cas []*x509.Certificate
		key, leaf, cas, err = pkcs12.DecodeChain(data, st.Password)
		if err == nil {
			chain = append([]*x509.Certificate{leaf}, cas...)
		}
	case "PEM":
		key, chain, err = pemKeyPair(data, st.Password)
	default:
		err = fmt.Errorf("unknown store type %q", st.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("key store %s (%s): %w", st.Location, st.Type, err)
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	if err := checkKeyMatches(key, chain[0]); err != nil {
		return nil, fmt.Errorf("key store %s (%s): %w", st.Location, st.Type, err)
	}
	return cert, nil
}

// checkKeyMatches reports whether key is the private half of cert's key.
func checkKeyMatches(key crypto.PrivateKey, cert *x509.Certificate) error {
	pk, ok := key.(interface{ Public() crypto.PublicKey })
	if !ok {
		return fmt.Errorf("unsupported private key type %T", key)
	}
	eq, ok := pk.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(cert.PublicKey) {
		return errors.New("the private key does not match the certificate " + cert.Subject.String())
	}
	return nil
}

func jksKeyPair(data []byte, password string) (crypto.PrivateKey, []*x509.Certificate, error) {
	ks := keystore.New()
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		return nil, nil, fmt.Errorf("wrong password or not a JKS store: %w", err)
	}
	aliases := ks.Aliases()
	slices.Sort(aliases)
	for _, a := range aliases {
		if !ks.IsPrivateKeyEntry(a) {
			continue
		}
		e, err := ks.GetPrivateKeyEntry(a, []byte(password))
		if err != nil {
			return nil, nil, fmt.Errorf("entry %q: %w", a, err)
		}
		key, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
		if err != nil {
			return nil, nil, fmt.Errorf("entry %q: private key: %w", a, err)
		}
		var chain []*x509.Certificate
		for _, c := range e.CertificateChain {
			cert, err := x509.ParseCertificate(c.Content)
			if err != nil {
				return nil, nil, fmt.Errorf("entry %q: certificate: %w", a, err)
			}
			chain = append(chain, cert)
		}
		if len(chain) == 0 {
			return nil, nil, fmt.Errorf("entry %q has no certificate", a)
		}
		return key, chain, nil
	}
	return nil, nil, errors.New("no private key entry")
}

func pemKeyPair(data []byte, password string) (crypto.PrivateKey, []*x509.Certificate, error) {
	chain, err := pemCertificates(data)
	if err != nil {
		return nil, nil, err
	}
	if len(chain) == 0 {
		return nil, nil, errors.New("no CERTIFICATE block")
	}
	var key crypto.PrivateKey
blocks:
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			if password == "" {
				return nil, nil, errors.New("the private key is encrypted and the key store password is not set")
			}
			key, err = decryptPKCS8(b.Bytes, password)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", b.Type, err)
		}
		break blocks
	}
	if key == nil {
		return nil, nil, errors.New("no PRIVATE KEY block")
	}
	return key, chain, nil
}

// pemCertificates returns every CERTIFICATE block of data, in order.
func pemCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
}

// loadTrust reads a trust store's certificates: the trusted certificate
// entries of a JKS or PKCS12 store, or every CERTIFICATE of a PEM file.
func loadTrust(st Store) ([]*x509.Certificate, error) {
	data, err := readFile(st.Location)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	switch st.Type {
	case "JKS":
		certs, err = jksTrusted(data, st.Password)
	case "PKCS12":
		certs, err = pkcs12.DecodeTrustStore(data, st.Password)
	case "PEM":
		certs, err = pemCertificates(data)
	default:
		err = fmt.Errorf("unknown store type %q", st.Type)
	}
	if err == nil && len(certs) == 0 {
		err = errors.New("no trusted certificate")
	}
	if err != nil {
		return nil, fmt.Errorf("trust store %s (%s): %w", st.Location, st.Type, err)
	}
	return certs, nil
}

func jksTrusted(data []byte, password string) ([]*x509.Certificate, error) {
	ks := keystore.New()
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		return nil, fmt.Errorf("wrong password or not a JKS store: %w", err)
	}
	aliases := ks.Aliases()
	slices.Sort(aliases)
	var out []*x509.Certificate
	for _, a := range aliases {
		if !ks.IsTrustedCertificateEntry(a) {
			continue
		}
		e, err := ks.GetTrustedCertificateEntry(a)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", a, err)
		}
		c, err := x509.ParseCertificate(e.Certificate.Content)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", a, err)
		}
		out = append(out, c)
	}
	return out, nil
}
