// Package acl turns credentials into identities and checks ZooKeeper ACLs
// against them (client-protocol.md §10): the world, digest, ip and super
// schemes, the auth pseudo-scheme, and ACL normalisation on create/setACL.
package acl

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/zkd/zkd/internal/jute"
)

// Well-known identities.
var (
	Anyone = jute.Id{Scheme: "world", ID: "anyone"}
	Super  = jute.Id{Scheme: "super", ID: ""}
)

// Provider settings that change how credentials and ACLs are judged.
type Settings struct {
	// SuperDigest is "user:base64sha1"; a digest identity equal to it also
	// gets the super identity.
	SuperDigest string
	// SkipACL disables every permission check (zookeeper.skipACL=yes).
	SkipACL bool
	// SASL registers the sasl scheme's provider (an authProvider.N naming
	// ZooKeeper's SASLAuthenticationProvider); see sasl.go.
	SASL bool
	// LetAnySaslUserDoX is zookeeper.letAnySaslUserDoX: a sasl ACL entry
	// with this id matches every sasl identity. "" means unset.
	LetAnySaslUserDoX string
	// X509 registers the x509 scheme's provider (a secure client port);
	// see x509.go.
	X509 bool
}

// Digest returns the digest identity for "user:password" credentials:
// user + ":" + base64(sha1(credentials)) (§10.2).
func Digest(credentials []byte) string {
	user, _, _ := strings.Cut(string(credentials), ":")
	sum := sha1.Sum(credentials)
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// Authenticate runs the auth packet for scheme through its provider and
// returns the identities to add to the connection. ok is false for an
// unknown scheme (AUTHFAILED).
func (s Settings) Authenticate(scheme string, auth []byte, remote netip.Addr) (ids []jute.Id, ok bool) {
	switch scheme {
	case "digest":
		id := Digest(auth)
		ids = []jute.Id{{Scheme: "digest", ID: id}}
		if s.SuperDigest != "" && id == s.SuperDigest {
			ids = append(ids, Super)
		}
		return ids, true
	case "ip":
		return []jute.Id{IPIdentity(remote)}, true
	}
	return nil, false
}

// IPIdentity is the identity every connection carries from its address.
func IPIdentity(remote netip.Addr) jute.Id {
	return jute.Id{Scheme: "ip", ID: remote.Unmap().String()}
}

// Check reports whether the identities grant any of perm on a node whose
// ACL is list (§10.1).
func (s Settings) Check(list []jute.ACL, perm int32, ids []jute.Id) bool {
	if s.SkipACL || len(list) == 0 {
		return true
	}
	for _, id := range ids {
		if id.Scheme == "super" {
			return true
		}
	}
	for _, a := range list {
		if a.Perms&perm == 0 {
			continue
		}
		if a.ID == Anyone {
			return true
		}
		for _, id := range ids {
			if id.Scheme == a.ID.Scheme && s.matches(a.ID.Scheme, id.ID, a.ID.ID) {
				return true
			}
		}
	}
	return false
}

func (s Settings) matches(scheme, have, want string) bool {
	switch scheme {
	case "digest":
		return have == want
	case "ip":
		return ipMatches(have, want)
	case "sasl":
		return s.SASL && s.saslMatches(have, want)
	case "x509":
		return s.X509 && x509Matches(have, want)
	}
	return false
}

func ipMatches(have, want string) bool {
	addr, err := netip.ParseAddr(have)
	if err != nil {
		return false
	}
	prefix, ok := parseIPACL(want)
	if !ok {
		return false
	}
	return prefix.Contains(addr.Unmap())
}

// parseIPACL parses an ip ACL id: dotted IPv4 with an optional /bits.
// IPv6 ids are invalid, as in ZooKeeper 3.5–3.9.
func parseIPACL(id string) (netip.Prefix, bool) {
	addrText, bitsText, hasBits := strings.Cut(id, "/")
	addr, err := netip.ParseAddr(addrText)
	if err != nil || !addr.Is4() {
		return netip.Prefix{}, false
	}
	bits := 32
	if hasBits {
		b, err := strconv.Atoi(bitsText)
		if err != nil || b < 0 || b > 32 {
			return netip.Prefix{}, false
		}
		bits = b
	}
	p, err := addr.Prefix(bits)
	return p, err == nil
}

// authenticated reports whether a scheme's identities count for the auth
// pseudo-scheme (ip and super do not; sasl and x509 do when their
// providers are registered).
func (s Settings) authenticated(scheme string) bool {
	return scheme == "digest" || scheme == "sasl" && s.SASL || scheme == "x509" && s.X509
}

// Normalize validates an ACL list being written by create or setACL and
// expands auth entries into the caller's authenticated identities (§10.1).
// ok is false when the list is invalid (INVALIDACL).
func (s Settings) Normalize(list []jute.ACL, ids []jute.Id) (out []jute.ACL, ok bool) {
	if len(list) == 0 {
		return nil, false
	}
	out = make([]jute.ACL, 0, len(list))
	add := func(a jute.ACL) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range list {
		switch a.ID.Scheme {
		case "world":
			if a.ID.ID != "anyone" {
				return nil, false
			}
			add(a)
		case "auth":
			found := false
			for _, id := range ids {
				if s.authenticated(id.Scheme) {
					add(jute.ACL{Perms: a.Perms, ID: id})
					found = true
				}
			}
			if !found {
				return nil, false
			}
		case "digest":
			user, hash, colon := strings.Cut(a.ID.ID, ":")
			if !colon || hash == "" || strings.Contains(hash, ":") || user == "" {
				return nil, false
			}
			add(a)
		case "ip":
			if _, ok := parseIPACL(a.ID.ID); !ok {
				return nil, false
			}
			add(a)
		case "sasl":
			if !s.SASL || !validSASLID(a.ID.ID) {
				return nil, false
			}
			add(a)
		case "x509":
			if !s.X509 || !ValidX500Name(a.ID.ID) {
				return nil, false
			}
			add(a)
		default:
			return nil, false
		}
	}
	if len(out) == 0 {
		return nil, false
	}
	return out, true
}

// MaskDigests returns list with every digest id's hash replaced by "x", as
// getACL shows it to callers without ADMIN (§4.3.6).
func MaskDigests(list []jute.ACL) []jute.ACL {
	out := slices.Clone(list)
	for i, a := range out {
		if a.ID.Scheme == "digest" {
			user, _, _ := strings.Cut(a.ID.ID, ":")
			out[i].ID.ID = user + ":x"
		}
	}
	return out
}

// WhoAmI returns the user name each identity shows in a whoAmI reply
// (§4.3.19).
func WhoAmI(ids []jute.Id) []jute.ClientInfo {
	out := make([]jute.ClientInfo, 0, len(ids))
	for _, id := range ids {
		user := id.ID
		if id.Scheme == "digest" {
			user, _, _ = strings.Cut(id.ID, ":")
		}
		out = append(out, jute.ClientInfo{AuthScheme: id.Scheme, User: user})
	}
	return out
}
