package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// parseServerID returns the id of a "server.N", "group.N" or "weight.N" key:
// the text after the first '.' as a decimal int64 (spec §8.3).
func parseServerID(key string) (int64, string) {
	_, idText, _ := strings.Cut(key, ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return 0, "id is not a number: " + strconv.Quote(idText)
	}
	if id < 0 {
		return 0, "id is negative: " + strconv.Quote(idText)
	}
	return id, ""
}

// parseServer parses the value of a server.N line (spec §8.3):
//
//	<addr>[|<addr>...][;<client>]
//	<addr>   = <host>:<quorumPort>:<electionPort>[:participant|:observer]
//	<client> = <port> | <host>:<port>
//
// It returns a reason when the value is malformed.
func parseServer(id int64, v string, multiAddress bool) (Server, string) {
	s := Server{ID: id}
	addrPart, clientPart, hasClient := strings.Cut(v, ";")
	if strings.Contains(clientPart, ";") {
		return s, "more than one ';' in " + strconv.Quote(v)
	}
	addrs := strings.Split(addrPart, "|")
	if len(addrs) > 1 && !multiAddress {
		return s, "more than one address needs multiAddress.enabled=true: " + strconv.Quote(v)
	}
	for i, a := range addrs {
		host, fields, reason := splitHost(a)
		if reason != "" {
			return s, reason
		}
		if len(fields) < 2 || len(fields) > 3 {
			return s, "want host:quorumPort:electionPort[:role]: " + strconv.Quote(strings.TrimSpace(a))
		}
		qport, reason := parsePort(strings.TrimSpace(fields[0]), 1)
		if reason != "" {
			return s, "quorum port " + reason
		}
		eport, reason := parsePort(strings.TrimSpace(fields[1]), 1)
		if reason != "" {
			return s, "election port " + reason
		}
		if qport == eport {
			return s, "quorum and election ports are the same: " + strconv.Quote(strings.TrimSpace(a))
		}
		role := RoleParticipant
		if len(fields) == 3 {
			role = strings.ToLower(strings.TrimSpace(fields[2]))
			if role != RoleParticipant && role != RoleObserver {
				return s, "role is not participant or observer: " + strconv.Quote(strings.TrimSpace(fields[2]))
			}
		}
		pa := PeerAddr{
			QuorumAddr:   net.JoinHostPort(host, strconv.Itoa(qport)),
			ElectionAddr: net.JoinHostPort(host, strconv.Itoa(eport)),
		}
		if i == 0 {
			s.QuorumAddr, s.ElectionAddr, s.Role = pa.QuorumAddr, pa.ElectionAddr, role
			continue
		}
		if role != s.Role {
			return s, "addresses have different roles: " + strconv.Quote(v)
		}
		s.MoreAddrs = append(s.MoreAddrs, pa)
	}
	if hasClient {
		addr, reason := parseClientAddr(clientPart)
		if reason != "" {
			return s, reason
		}
		s.ClientAddr = addr
	}
	return s, ""
}

// parseClientAddr parses the ";client" part of a server.N line: a port
// alone (meaning 0.0.0.0) or host:port.
func parseClientAddr(v string) (string, string) {
	v = strings.TrimSpace(v)
	host, portText := "0.0.0.0", v
	if strings.HasPrefix(v, "[") || strings.Contains(v, ":") {
		h, fields, reason := splitHost(v)
		if reason != "" {
			return "", "client address " + reason
		}
		if len(fields) != 1 {
			return "", "want client port or host:port: " + strconv.Quote(v)
		}
		host, portText = h, strings.TrimSpace(fields[0])
	}
	port, reason := parsePort(portText, 1)
	if reason != "" {
		return "", "client port " + reason
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), ""
}

// splitHost splits "host:a:b…" or "[v6]:a:b…" into the host and the fields
// after it, and checks the host. Text without ':' is a host with no fields.
func splitHost(a string) (host string, fields []string, reason string) {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", nil, "missing ']': " + strconv.Quote(a)
		}
		host, rest := a[1:end], a[end+1:]
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() {
			return "", nil, "not an IPv6 address in brackets: " + strconv.Quote(a)
		}
		if rest == "" {
			return host, nil, ""
		}
		if rest[0] != ':' {
			return "", nil, "want ':' after ']': " + strconv.Quote(a)
		}
		return host, strings.Split(rest[1:], ":"), ""
	}
	parts := strings.Split(a, ":")
	host = strings.TrimSpace(parts[0])
	if !validHost(host) {
		return "", nil, "invalid host: " + strconv.Quote(parts[0])
	}
	return host, parts[1:], ""
}

// validHost reports whether h is an IP address or a plausible host name.
// Names are not resolved: that is the caller's business, at bind or dial
// time.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// parsePort parses a TCP port in [min, 65535].
func parsePort(v string, min int) (int, string) {
	n, err := strconv.Atoi(v)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, "out of range: " + strconv.Quote(v)
		}
		return 0, "not a number: " + strconv.Quote(v)
	}
	if n < min || n > 65535 {
		return 0, "out of range " + strconv.Itoa(min) + "-65535: " + strconv.Quote(v)
	}
	return n, ""
}

// formatServer writes s back in server.N value syntax, with every role
// spelled out.
func formatServer(s Server) string {
	var b strings.Builder
	writeAddr := func(q, e string) {
		host, qp, _ := net.SplitHostPort(q)
		_, ep, _ := net.SplitHostPort(e)
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		b.WriteString(host + ":" + qp + ":" + ep + ":" + s.Role)
	}
	writeAddr(s.QuorumAddr, s.ElectionAddr)
	for _, a := range s.MoreAddrs {
		b.WriteByte('|')
		writeAddr(a.QuorumAddr, a.ElectionAddr)
	}
	if s.ClientAddr != "" {
		b.WriteString(";" + s.ClientAddr)
	}
	return b.String()
}
