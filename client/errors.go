package client

import (
	"errors"
	"strconv"
	"strings"

	"github.com/zkd/zkd/internal/jute"
)

// Code is a ZooKeeper error code (KeeperException.Code). Every Code is an
// error; the constants below are the sentinels to compare with errors.Is.
type Code = jute.Code

// Error codes, one per ZooKeeper code (client-protocol.md §8).
const (
	ErrSystemError              = jute.ErrSystemError
	ErrRuntimeInconsistency     = jute.ErrRuntimeInconsistency
	ErrDataInconsistency        = jute.ErrDataInconsistency
	ErrConnectionLoss           = jute.ErrConnectionLoss
	ErrMarshallingError         = jute.ErrMarshallingError
	ErrUnimplemented            = jute.ErrUnimplemented
	ErrOperationTimeout         = jute.ErrOperationTimeout
	ErrBadArguments             = jute.ErrBadArguments
	ErrUnknownSession           = jute.ErrUnknownSession
	ErrNewConfigNoQuorum        = jute.ErrNewConfigNoQuorum
	ErrReconfigInProgress       = jute.ErrReconfigInProgress
	ErrAPIError                 = jute.ErrAPIError
	ErrNoNode                   = jute.ErrNoNode
	ErrNoAuth                   = jute.ErrNoAuth
	ErrBadVersion               = jute.ErrBadVersion
	ErrNoChildrenForEphemerals  = jute.ErrNoChildrenForEphemerals
	ErrNodeExists               = jute.ErrNodeExists
	ErrNotEmpty                 = jute.ErrNotEmpty
	ErrSessionExpired           = jute.ErrSessionExpired
	ErrInvalidCallback          = jute.ErrInvalidCallback
	ErrInvalidACL               = jute.ErrInvalidACL
	ErrAuthFailed               = jute.ErrAuthFailed
	ErrSessionMoved             = jute.ErrSessionMoved
	ErrNotReadOnly              = jute.ErrNotReadOnly
	ErrEphemeralOnLocalSession  = jute.ErrEphemeralOnLocalSession
	ErrNoWatcher                = jute.ErrNoWatcher
	ErrRequestTimeout           = jute.ErrRequestTimeout
	ErrReconfigDisabled         = jute.ErrReconfigDisabled
	ErrSessionClosedRequireSASL = jute.ErrSessionClosedRequireSASL
	ErrQuotaExceeded            = jute.ErrQuotaExceeded
	ErrThrottledOp              = jute.ErrThrottledOp
)

// ErrClosed is returned by calls on a Client that has been closed.
var ErrClosed = errors.New("zookeeper: client closed")

// Error is a failed operation: its name (as ZooKeeper calls it: "create",
// "getData", ...), the path it was given (empty for operations without one)
// and the cause, a Code, ErrClosed or a context error.
type Error struct {
	Op   string
	Path string
	Err  error
}

// Error returns "zookeeper <op> <path>: <cause>".
func (e *Error) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "zookeeper: ")
	if e.Path == "" {
		return "zookeeper " + e.Op + ": " + msg
	}
	return "zookeeper " + e.Op + " " + e.Path + ": " + msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// MultiError is the error of a Multi that was rolled back: Index is the
// first op that failed, Op that op, and Err its Code.
type MultiError struct {
	Index int
	Op    Op
	Err   error
}

// Error names the failing op by index, kind and path, and its cause.
func (e *MultiError) Error() string {
	return "zookeeper multi: op " + strconv.Itoa(e.Index) + " (" + e.Op.opName() + " " + e.Op.opPath() + "): " +
		strings.TrimPrefix(e.Err.Error(), "zookeeper: ")
}

// Unwrap returns the failing op's error.
func (e *MultiError) Unwrap() error { return e.Err }

// wrap turns a cause into the *Error an operation returns.
func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Path: path, Err: err}
}
