package peer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/zkd/zkd/internal/sasl"
)

// QuorumSASL authenticates servers to each other with SASL (ZooKeeper's
// quorum.auth.* settings). The exchange runs on election connections right
// after the initial message and on learner connections before the first
// quorum packet, in QuorumAuthPacket records:
//
//	int64  magic  (quorumAuthMagic)
//	int32  status (0 in progress, 1 success, -1 error)
//	buffer token  (int32 length, -1 for none, then the bytes)
//
// written back to back with no frame length. The side that connects (a
// learner, or an election peer that dials) is the SASL client; the side
// that accepts is the server. Without SASL no bytes are exchanged.
type QuorumSASL struct {
	// Learner, when set, starts the client side of an exchange with the
	// server at host: this server authenticates to every server it
	// connects to (quorum.auth.learnerRequireSasl=true).
	Learner func(host string) (sasl.Client, error)
	// Server, when set, checks the peers that authenticate
	// (quorum.auth.enableSasl=true); remoteHost is the peer's address.
	Server sasl.ServerFactory
	// Require refuses peers that do not try to authenticate
	// (quorum.auth.serverRequireSasl=true). Without it they are let in,
	// for a rolling switch to SASL. A peer that tries and fails is refused
	// either way.
	Require bool
}

// quorumAuthMagic opens every QuorumAuthPacket, so that a server can tell
// an authentication exchange from a peer that starts without one.
const quorumAuthMagic int64 = 6855662812065295820

// Status values of a QuorumAuthPacket.
const (
	authInProgress int32 = 0
	authSuccess    int32 = 1
	authError      int32 = -1
)

// maxAuthToken bounds one SASL token read from a peer.
const maxAuthToken = 1 << 20

// maxAuthRounds bounds the tokens a server accepts in one exchange
// (ZooKeeper gives up after five).
const maxAuthRounds = 5

func writeAuthPacket(w io.Writer, status int32, token []byte) error {
	b := make([]byte, 0, 16+len(token))
	b = binary.BigEndian.AppendUint64(b, uint64(quorumAuthMagic))
	b = binary.BigEndian.AppendUint32(b, uint32(status))
	if token == nil {
		b = binary.BigEndian.AppendUint32(b, ^uint32(0))
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(len(token)))
		b = append(b, token...)
	}
	_, err := w.Write(b)
	return err
}

func readAuthPacket(r io.Reader) (status int32, token []byte, err error) {
	var h [16]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, fmt.Errorf("read authentication packet: %w", err)
	}
	if magic := int64(binary.BigEndian.Uint64(h[:8])); magic != quorumAuthMagic {
		return 0, nil, fmt.Errorf("authentication packet with magic %#x, want %#x", magic, quorumAuthMagic)
	}
	status = int32(binary.BigEndian.Uint32(h[8:12]))
	n := int32(binary.BigEndian.Uint32(h[12:16]))
	if n < 0 {
		return status, nil, nil
	}
	if n > maxAuthToken {
		return 0, nil, fmt.Errorf("authentication token of %d bytes (at most %d)", n, maxAuthToken)
	}
	token = make([]byte, n)
	if _, err := io.ReadFull(r, token); err != nil {
		return 0, nil, fmt.Errorf("read authentication token: %w", err)
	}
	return status, token, nil
}

// authenticate runs the client side of an exchange on conn with the server
// at host, reading through r. With no Learner it does nothing.
func (q *QuorumSASL) authenticate(conn net.Conn, r io.Reader, host string, timeout time.Duration) error {
	if q == nil || q.Learner == nil {
		return nil
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	c, err := q.Learner(host)
	if err != nil {
		return fmt.Errorf("start SASL with %s: %w", host, err)
	}
	token, err := c.Start()
	if err != nil {
		return fmt.Errorf("start SASL with %s: %w", host, err)
	}
	if err := writeAuthPacket(conn, authInProgress, token); err != nil {
		return err
	}
	done := false
	for {
		status, challenge, err := readAuthPacket(r)
		if err != nil {
			return err
		}
		switch status {
		case authError:
			return fmt.Errorf("authentication failed against server %s", conn.RemoteAddr())
		case authSuccess:
			if !done && challenge != nil {
				var resp []byte
				if resp, done, err = c.Next(challenge); err != nil {
					return fmt.Errorf("SASL with %s: %w", conn.RemoteAddr(), err)
				}
				if resp != nil && len(resp) > 0 {
					return fmt.Errorf("SASL with %s: a response is due after the server reported success", conn.RemoteAddr())
				}
			}
			return nil
		case authInProgress:
			if done {
				return fmt.Errorf("SASL with %s: the server wants more after the exchange completed", conn.RemoteAddr())
			}
			var resp []byte
			if resp, done, err = c.Next(challenge); err != nil {
				return fmt.Errorf("SASL with %s: %w", conn.RemoteAddr(), err)
			}
			if err := writeAuthPacket(conn, authInProgress, resp); err != nil {
				return err
			}
		default:
			return fmt.Errorf("authentication packet with unknown status %d from %s", status, conn.RemoteAddr())
		}
	}
}

// errPeerDidNotAuthenticate is returned when SASL is required and a peer
// starts without it.
var errPeerDidNotAuthenticate = errors.New("peer did not authenticate and quorum.auth.serverRequireSasl=true")

// check runs the server side of an exchange on conn, reading through r.
// It returns nil when the peer may stay: it authenticated, or it did not
// try and SASL is not required. A peer that tries and fails is told so and
// refused (it gives up on its side too, as ZooKeeper's learners do). With
// no Server it does nothing.
func (q *QuorumSASL) check(conn net.Conn, r *bufio.Reader, timeout time.Duration) error {
	if q == nil || q.Server == nil {
		return nil
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	head, err := r.Peek(8)
	if err != nil {
		return fmt.Errorf("read from peer: %w", err)
	}
	if int64(binary.BigEndian.Uint64(head)) != quorumAuthMagic {
		if q.Require {
			return errPeerDidNotAuthenticate
		}
		return nil
	}
	failed := func(why error) error {
		_ = writeAuthPacket(conn, authError, []byte{})
		return why
	}
	_, token, err := readAuthPacket(r)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	srv, err := q.Server(host)
	if err != nil {
		return failed(fmt.Errorf("start SASL: %w", err))
	}
	for round := 1; ; round++ {
		resp, done, err := srv.Next(token)
		if err != nil {
			return failed(fmt.Errorf("SASL: %w", err))
		}
		if done {
			return writeAuthPacket(conn, authSuccess, resp)
		}
		if round >= maxAuthRounds {
			return failed(fmt.Errorf("SASL not complete after %d rounds", round))
		}
		if err := writeAuthPacket(conn, authInProgress, resp); err != nil {
			return err
		}
		if _, token, err = readAuthPacket(r); err != nil {
			return err
		}
	}
}
