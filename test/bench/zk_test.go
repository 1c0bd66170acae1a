package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/loadgen"
)

// zkSession drives a loadgen workload through go-zookeeper, the client used
// for both servers so that the client's cost is the same on each side.
// go-zookeeper takes no context: a call ends when the server answers or the
// session's connection is lost.
type zkSession struct{ conn *zk.Conn }

var openACL = zk.WorldACL(zk.PermAll)

func (s zkSession) Get(_ context.Context, path string) ([]byte, error) {
	data, _, err := s.conn.Get(path)
	return data, zkErr(err)
}

func (s zkSession) Set(_ context.Context, path string, data []byte) error {
	_, err := s.conn.Set(path, data, -1)
	return zkErr(err)
}

func (s zkSession) Create(_ context.Context, path string, data []byte) error {
	_, err := s.conn.Create(path, data, 0, openACL)
	return zkErr(err)
}

func (s zkSession) Delete(_ context.Context, path string) error {
	return zkErr(s.conn.Delete(path, -1))
}

// zkErr maps go-zookeeper's errors to the ones loadgen tells apart.
func zkErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrNodeExists):
		return fmt.Errorf("%w (%v)", loadgen.ErrNodeExists, err)
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("%w (%v)", loadgen.ErrNoNode, err)
	}
	return err
}

// quietLogger drops go-zookeeper's log lines.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// dialSessions opens n go-zookeeper sessions to addr, each on its own
// connection, and returns once every one has a session. The caller closes
// the connections.
func dialSessions(ctx context.Context, addr string, n int) ([]*zk.Conn, error) {
	conns := make([]*zk.Conn, 0, n)
	fail := func(err error) ([]*zk.Conn, error) {
		for _, c := range conns {
			c.Close()
		}
		return nil, err
	}
	for i := range n {
		c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
		if err != nil {
			return fail(fmt.Errorf("session %d to %s: %w", i, addr, err))
		}
		conns = append(conns, c)
		// go-zookeeper drops events nobody reads, so the channel can be
		// left alone once the session is up.
		if err := waitForSession(ctx, events); err != nil {
			return fail(fmt.Errorf("session %d to %s: %w", i, addr, err))
		}
	}
	return conns, nil
}

func waitForSession(ctx context.Context, events <-chan zk.Event) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("no session: %w", ctx.Err())
		}
	}
}
