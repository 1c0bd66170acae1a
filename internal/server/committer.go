package server

import (
	"errors"

	"github.com/zkd/zkd/internal/jute"
)

// errLogUnavailable fails transactions queued behind a failed log write.
var errLogUnavailable = errors.New("transaction log unavailable after an earlier write failure")

// Committer makes prepared transactions durable (standalone: the
// transaction log) or agreed (ensemble: ZAB). It is the seam between the
// pipeline and storage or replication.
type Committer interface {
	// Start begins delivering committed transactions to deliver, which may
	// be called from any goroutine, always in the order of Commit calls.
	// A non-nil error in deliver means the batch is not durable and will
	// never be (the server answers its requests with an error).
	Start(deliver func(batch []*jute.Txn, err error))
	// Commit queues one transaction; it must not block for I/O.
	Commit(txn *jute.Txn)
	// Resume is called after a failed delivery, once the server has
	// discarded everything prepared on top of the failed transactions:
	// transactions committed before Resume fail too, later ones are tried.
	Resume()
	// Close stops the committer after delivering what it has made durable.
	Close() error
}

// MemoryCommitter commits transactions at once without persisting them:
// the data lives only in memory.
type MemoryCommitter struct {
	deliver func([]*jute.Txn, error)
}

// Start records the delivery function.
func (m *MemoryCommitter) Start(deliver func([]*jute.Txn, error)) { m.deliver = deliver }

// Commit delivers the transaction immediately.
func (m *MemoryCommitter) Commit(txn *jute.Txn) { m.deliver([]*jute.Txn{txn}, nil) }

// Resume does nothing: memory never fails.
func (m *MemoryCommitter) Resume() {}

// Close does nothing.
func (m *MemoryCommitter) Close() error { return nil }
