package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/zkd/zkd/client"
)

// cliError is a command's failure: the message printed on stderr and the
// exit status of a one-shot run.
type cliError struct {
	msg  string
	code int
}

func (e *cliError) Error() string { return e.msg }

// Exit statuses, as zkCli.sh's.
const (
	exitOK          = 0
	exitFailed      = 1
	exitNotFound    = 127
	exitInvalidArgs = 2 // the shell's own flags are wrong
)

// codeMessages are the texts of Java's KeeperException messages
// ("KeeperErrorCode = <text> for <path>").
var codeMessages = map[client.Code]string{
	client.ErrSystemError:              "SystemError",
	client.ErrRuntimeInconsistency:     "RuntimeInconsistency",
	client.ErrDataInconsistency:        "DataInconsistency",
	client.ErrConnectionLoss:           "ConnectionLoss",
	client.ErrMarshallingError:         "MarshallingError",
	client.ErrNewConfigNoQuorum:        "NewConfigNoQuorum",
	client.ErrReconfigInProgress:       "ReconfigInProgress",
	client.ErrUnimplemented:            "Unimplemented",
	client.ErrOperationTimeout:         "OperationTimeout",
	client.ErrBadArguments:             "BadArguments",
	client.ErrAPIError:                 "APIError",
	client.ErrNoNode:                   "NoNode",
	client.ErrNoAuth:                   "NoAuth",
	client.ErrBadVersion:               "BadVersion",
	client.ErrNoChildrenForEphemerals:  "NoChildrenForEphemerals",
	client.ErrNodeExists:               "NodeExists",
	client.ErrInvalidACL:               "InvalidACL",
	client.ErrAuthFailed:               "AuthFailed",
	client.ErrNotEmpty:                 "Directory not empty",
	client.ErrSessionExpired:           "Session expired",
	client.ErrInvalidCallback:          "Invalid callback",
	client.ErrSessionMoved:             "Session moved",
	client.ErrNotReadOnly:              "Not a read-only call",
	client.ErrEphemeralOnLocalSession:  "Ephemeral node on local session",
	client.ErrNoWatcher:                "No such watcher",
	client.ErrReconfigDisabled:         "Reconfig is disabled",
	client.ErrSessionClosedRequireSASL: "Session closed because client failed to authenticate",
	client.ErrQuotaExceeded:            "Quota has exceeded",
	client.ErrThrottledOp:              "Op throttled due to high load",
}

// keeperMessage is Java's KeeperException.getMessage for code and path.
func keeperMessage(code client.Code, path string) string {
	text, ok := codeMessages[code]
	if !ok {
		text = fmt.Sprintf("Unknown error %d", int32(code))
	}
	if path == "" {
		return "KeeperErrorCode = " + text
	}
	return "KeeperErrorCode = " + text + " for " + path
}

// describe turns an operation's error into zkCli.sh's message for it (its
// CliWrapperException texts), for the node at path.
func describe(err error, path string) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	var code client.Code
	if !errors.As(err, &code) {
		switch {
		case errors.Is(err, client.ErrClosed):
			return &cliError{msg: "Not connected", code: exitFailed}
		case errors.Is(err, context.Canceled):
			return &cliError{msg: "interrupted", code: exitFailed}
		}
		return &cliError{msg: err.Error(), code: exitFailed}
	}
	var ze *client.Error
	if errors.As(err, &ze) && ze.Path != "" {
		path = ze.Path
	}
	var msg string
	switch code {
	case client.ErrNoNode:
		msg = "Node does not exist: " + path
	case client.ErrNoChildrenForEphemerals:
		msg = "Ephemerals cannot have children: " + path
	case client.ErrNodeExists:
		msg = "Node already exists: " + path
	case client.ErrNotEmpty:
		msg = "Node not empty: " + path
	case client.ErrNotReadOnly:
		msg = "Not a read-only call: " + path
	case client.ErrInvalidACL:
		msg = "Acl is not valid : " + path
	case client.ErrNoAuth:
		msg = "Insufficient permission : " + path
	case client.ErrBadArguments:
		msg = "Arguments are not valid : " + path
	case client.ErrBadVersion:
		msg = "version No is not valid : " + path
	case client.ErrReconfigInProgress:
		msg = "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
	case client.ErrNewConfigNoQuorum:
		msg = "No quorum of new config is connected and up-to-date with the leader of last committed config - try invoking reconfiguration after new servers are connected and synced"
	case client.ErrQuotaExceeded:
		msg = "Quota has exceeded : " + path
	default:
		msg = keeperMessage(code, path)
	}
	return &cliError{msg: msg, code: exitFailed}
}
