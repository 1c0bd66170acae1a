package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadMyID reads the server id from <dataDir>/myid (spec §8.4). Like
// ZooKeeper it parses the first line as a decimal int64 without trimming it:
// the line ending is dropped, but any other blank is an error. A missing
// file gives an error that satisfies errors.Is(err, fs.ErrNotExist).
func ReadMyID(dataDir string) (int64, error) {
	path := filepath.Join(dataDir, "myid")
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, &Error{File: path, Key: "myid", Reason: "myid file is missing", Err: err}
		}
		return 0, &Error{File: path, Key: "myid", Reason: err.Error(), Err: err}
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return 0, &Error{File: path, Key: "myid", Reason: err.Error(), Err: err}
	}
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	id, perr := strconv.ParseInt(line, 10, 64)
	if perr != nil {
		return 0, &Error{File: path, Line: 1, Key: "myid", Reason: "not a number: " + strconv.Quote(line)}
	}
	if id < 0 {
		return 0, &Error{File: path, Line: 1, Key: "myid", Reason: "negative server id: " + strconv.Quote(line)}
	}
	return id, nil
}

// LoadMyID reads <DataDir>/myid with [ReadMyID] and applies it with
// [Config.SetMyID], dropping SetMyID's warnings (use the two directly to
// see them). In standalone mode the file is optional: when it is missing or
// unreadable MyID stays 0 and LoadMyID returns nil (Debian, for one, ships a
// placeholder myid that is not a number). In an ensemble it is required.
func (c *Config) LoadMyID() error {
	id, err := ReadMyID(c.DataDir)
	if err != nil {
		if c.Standalone() {
			c.MyID = 0
			return nil
		}
		return err
	}
	_, err = c.SetMyID(id)
	return err
}

// SetMyID makes id this server's id and applies what follows from it
// (spec §8.3, §8.4):
//   - in an ensemble the id must have a server.N line;
//   - with zookeeper.extendedTypesEnabled=true it must be at most 254;
//   - PeerType becomes the role of the server.N line, with a warning when
//     peerType said otherwise;
//   - the ";client" part of the server.N line, if any, must agree with
//     clientPort and clientPortAddress (same address, or the same port
//     when clientPortAddress is a wildcard), and then sets them.
//
// On error the Config is left unchanged.
func (c *Config) SetMyID(id int64) ([]Warning, error) {
	myidFile := filepath.Join(c.DataDir, "myid")
	var warns []Warning
	if id < 0 {
		return nil, &Error{File: myidFile, Key: "myid", Reason: fmt.Sprintf("negative server id %d", id)}
	}
	if id > 255 {
		warns = append(warns, Warning{File: myidFile, Key: "myid", Message: fmt.Sprintf("server id %d does not fit the top byte of session ids; keep it at most 255", id)})
	}
	if err := checkIDLimit(c, id); err != nil {
		return nil, err
	}
	s, found := c.Server(id)
	if !found {
		if !c.Standalone() {
			return nil, &Error{File: c.File, Key: "myid", Reason: fmt.Sprintf("my id %d (from %s) is not in the peer list", id, myidFile)}
		}
		c.MyID = id
		return warns, nil
	}
	key := "server." + strconv.FormatInt(id, 10)
	port, addr := c.ClientPort, c.ClientPortAddress
	if s.ClientAddr != "" {
		host, portText, _ := net.SplitHostPort(s.ClientAddr)
		p, _ := strconv.Atoi(portText)
		if c.ClientPort != 0 {
			wildcard := isWildcard(c.ClientPortAddress)
			if (wildcard && p != c.ClientPort) || (!wildcard && (p != c.ClientPort || !sameHost(host, c.ClientPortAddress))) {
				static := "clientPort " + strconv.Itoa(c.ClientPort)
				if !wildcard {
					static = "clientPortAddress and clientPort " + net.JoinHostPort(c.ClientPortAddress, strconv.Itoa(c.ClientPort))
				}
				return nil, &Error{File: c.File, Key: key, Reason: fmt.Sprintf("client address %s differs from %s", s.ClientAddr, static)}
			}
		}
		port, addr = p, host
		if host == "0.0.0.0" {
			addr = ""
		}
	}
	if s.Role != c.PeerType {
		warns = append(warns, Warning{File: c.File, Key: "peerType",
			Message: fmt.Sprintf("peerType %s differs from the role %s in %s; using %s", c.PeerType, s.Role, key, s.Role)})
	}
	c.MyID, c.PeerType, c.ClientPort, c.ClientPortAddress = id, s.Role, port, addr
	return warns, nil
}

// checkIDLimit rejects server ids that do not fit beside extended (TTL)
// session ids.
func checkIDLimit(c *Config, id int64) error {
	if id > 254 && c.ExtendedTypesEnabled() {
		return &Error{File: c.File, Key: "myid", Reason: fmt.Sprintf("server id %d is above 254, the largest allowed with zookeeper.extendedTypesEnabled=true", id)}
	}
	return nil
}

// checkMyIDLimit re-checks the loaded id after properties change.
func (c *Config) checkMyIDLimit() error { return checkIDLimit(c, c.MyID) }

// isWildcard reports whether a listen address means all interfaces.
func isWildcard(host string) bool {
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

// sameHost compares two hosts: IP addresses by value, names without regard
// to case. Names are not resolved.
func sameHost(a, b string) bool {
	ia, errA := netip.ParseAddr(a)
	ib, errB := netip.ParseAddr(b)
	if errA == nil && errB == nil {
		return ia.Unmap() == ib.Unmap()
	}
	return strings.EqualFold(a, b)
}
