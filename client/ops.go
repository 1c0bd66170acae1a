package client

import (
	"context"
	"errors"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// Create makes a node at path with data, the given mode and ACL list, and
// returns its actual path (with the sequence suffix for sequential modes)
// and Stat. Nil data is stored as null, which Get returns as nil. acl must
// not be empty (the server answers ErrInvalidACL); WorldACL(PermAll) is the
// open list. For the TTL modes use CreateTTL.
func (c *Client) Create(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL) (string, Stat, error) {
	return c.create(ctx, path, data, mode, acl, 0)
}

// CreateTTL makes a node in a TTL mode (ModePersistentWithTTL or
// ModePersistentSequentialWithTTL): the server deletes it once it has had
// no children and no data change for ttl. The server must have
// zookeeper.extendedTypesEnabled=true, or the call fails with
// ErrUnimplemented.
func (c *Client) CreateTTL(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL, ttl time.Duration) (string, Stat, error) {
	return c.create(ctx, path, data, mode, acl, ttl)
}

func (c *Client) create(ctx context.Context, path string, data []byte, mode CreateMode, acl []ACL, ttl time.Duration) (string, Stat, error) {
	op, body := createRecord(path, data, mode, acl, ttl)
	var resp jute.Create2Response
	if err := c.call(ctx, "create", path, op, body, &resp, nil); err != nil {
		return "", Stat{}, err
	}
	return resp.Path, statFromJute(&resp.Stat), nil
}

// Delete removes the node at path if its version is version (or version is
// AnyVersion) and it has no children.
func (c *Client) Delete(ctx context.Context, path string, version int32) error {
	return c.call(ctx, "delete", path, jute.OpDelete, &jute.DeleteRequest{Path: path, Version: version}, nil, nil)
}

// Exists returns the Stat of the node at path, or nil if there is none.
func (c *Client) Exists(ctx context.Context, path string) (*Stat, error) {
	st, _, err := c.exists(ctx, path, false)
	return st, err
}

// ExistsW is Exists that also leaves a one-shot watch: the channel receives
// NodeCreated if the node was missing, or NodeDataChanged or NodeDeleted if
// it existed.
func (c *Client) ExistsW(ctx context.Context, path string) (*Stat, <-chan Event, error) {
	return c.exists(ctx, path, true)
}

func (c *Client) exists(ctx context.Context, path string, watch bool) (*Stat, <-chan Event, error) {
	var resp jute.StatResponse
	var ch <-chan Event
	var onReply func(error)
	if watch {
		onReply = func(err error) {
			switch {
			case err == nil:
				ch = c.watches.addOneShot(watchData, path)
			case errors.Is(err, ErrNoNode):
				ch = c.watches.addOneShot(watchExist, path)
			}
		}
	}
	err := c.call(ctx, "exists", path, jute.OpExists, &jute.PathWatchRequest{Path: path, Watch: watch}, &resp, onReply)
	switch {
	case errors.Is(err, ErrNoNode):
		return nil, ch, nil
	case err != nil:
		return nil, nil, err
	}
	st := statFromJute(&resp.Stat)
	return &st, ch, nil
}

// Get returns the data (nil if null) and Stat of the node at path.
func (c *Client) Get(ctx context.Context, path string) ([]byte, Stat, error) {
	data, st, _, err := c.get(ctx, path, false)
	return data, st, err
}

// GetW is Get that also leaves a one-shot watch, which receives
// NodeDataChanged or NodeDeleted. No watch is left if the call fails.
func (c *Client) GetW(ctx context.Context, path string) ([]byte, Stat, <-chan Event, error) {
	return c.get(ctx, path, true)
}

func (c *Client) get(ctx context.Context, path string, watch bool) ([]byte, Stat, <-chan Event, error) {
	var resp jute.GetDataResponse
	var ch <-chan Event
	var onReply func(error)
	if watch {
		onReply = func(err error) {
			if err == nil {
				ch = c.watches.addOneShot(watchData, path)
			}
		}
	}
	if err := c.call(ctx, "getData", path, jute.OpGetData, &jute.PathWatchRequest{Path: path, Watch: watch}, &resp, onReply); err != nil {
		return nil, Stat{}, nil, err
	}
	return resp.Data, statFromJute(&resp.Stat), ch, nil
}

// Set replaces the data of the node at path if its version is version (or
// version is AnyVersion) and returns the new Stat.
func (c *Client) Set(ctx context.Context, path string, data []byte, version int32) (Stat, error) {
	var resp jute.StatResponse
	if err := c.call(ctx, "setData", path, jute.OpSetData, &jute.SetDataRequest{Path: path, Data: data, Version: version}, &resp, nil); err != nil {
		return Stat{}, err
	}
	return statFromJute(&resp.Stat), nil
}

// GetACL returns the ACL list and Stat of the node at path.
func (c *Client) GetACL(ctx context.Context, path string) ([]ACL, Stat, error) {
	var resp jute.GetACLResponse
	if err := c.call(ctx, "getACL", path, jute.OpGetACL, &jute.PathRequest{Path: path}, &resp, nil); err != nil {
		return nil, Stat{}, err
	}
	return aclFromJute(resp.ACL), statFromJute(&resp.Stat), nil
}

// SetACL replaces the ACL list of the node at path if its ACL version
// (Stat.Aversion) is version (or version is AnyVersion) and returns the new
// Stat.
func (c *Client) SetACL(ctx context.Context, path string, acl []ACL, version int32) (Stat, error) {
	var resp jute.StatResponse
	if err := c.call(ctx, "setACL", path, jute.OpSetACL, &jute.SetACLRequest{Path: path, ACL: aclToJute(acl), Version: version}, &resp, nil); err != nil {
		return Stat{}, err
	}
	return statFromJute(&resp.Stat), nil
}

// Children returns the names (not paths) of the children of the node at
// path, in no particular order, and the node's Stat.
func (c *Client) Children(ctx context.Context, path string) ([]string, Stat, error) {
	names, st, _, err := c.children(ctx, path, false)
	return names, st, err
}

// ChildrenW is Children that also leaves a one-shot watch, which receives
// NodeChildrenChanged or NodeDeleted. No watch is left if the call fails.
func (c *Client) ChildrenW(ctx context.Context, path string) ([]string, Stat, <-chan Event, error) {
	return c.children(ctx, path, true)
}

func (c *Client) children(ctx context.Context, path string, watch bool) ([]string, Stat, <-chan Event, error) {
	var resp jute.GetChildren2Response
	var ch <-chan Event
	var onReply func(error)
	if watch {
		onReply = func(err error) {
			if err == nil {
				ch = c.watches.addOneShot(watchChild, path)
			}
		}
	}
	if err := c.call(ctx, "getChildren", path, jute.OpGetChildren2, &jute.PathWatchRequest{Path: path, Watch: watch}, &resp, onReply); err != nil {
		return nil, Stat{}, nil, err
	}
	if resp.Children == nil {
		resp.Children = []string{}
	}
	return resp.Children, statFromJute(&resp.Stat), ch, nil
}

// Sync waits until the server this Client is connected to has applied
// every write the ensemble committed before the call, so a read after it
// sees them.
func (c *Client) Sync(ctx context.Context, path string) error {
	var resp jute.PathResponse
	return c.call(ctx, "sync", path, jute.OpSync, &jute.PathRequest{Path: path}, &resp, nil)
}

// AddAuth adds an identity to the connection ("digest" with
// "user:password", for example). The Client remembers accepted
// credentials and sends them again after every reconnect. If the server
// refuses them it closes the connection and the Client stops with
// StateAuthFailed, as ZooKeeper clients do.
func (c *Client) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	p := &jute.AuthPacket{Scheme: scheme, Auth: append([]byte(nil), auth...)}
	return c.call(ctx, "auth", "", jute.OpAuth, p, nil, c.authReplied(p))
}

// WhoAmI returns the identities the server attributes to this connection.
func (c *Client) WhoAmI(ctx context.Context) ([]ClientInfo, error) {
	var resp jute.WhoAmIResponse
	if err := c.call(ctx, "whoAmI", "", jute.OpWhoAmI, nil, &resp, nil); err != nil {
		return nil, err
	}
	return clientInfoFromJute(resp.Infos), nil
}

// GetEphemerals returns the paths of this session's ephemeral nodes whose
// path starts with prefix (all of them for "" or "/").
func (c *Client) GetEphemerals(ctx context.Context, prefix string) ([]string, error) {
	var resp jute.StringsResponse
	if err := c.call(ctx, "getEphemerals", prefix, jute.OpGetEphemerals, &jute.PathRequest{Path: prefix}, &resp, nil); err != nil {
		return nil, err
	}
	if resp.Strings == nil {
		resp.Strings = []string{}
	}
	return resp.Strings, nil
}

// GetAllChildrenNumber returns the number of descendants of the node at
// path, not counting the node itself.
func (c *Client) GetAllChildrenNumber(ctx context.Context, path string) (int, error) {
	var resp jute.IntResponse
	if err := c.call(ctx, "getAllChildrenNumber", path, jute.OpGetAllChildrenNumber, &jute.PathRequest{Path: path}, &resp, nil); err != nil {
		return 0, err
	}
	return int(resp.Value), nil
}

// AddWatch leaves a persistent watch on path, which need not exist: the
// Watcher receives NodeCreated, NodeDeleted and NodeDataChanged for path
// and NodeChildrenChanged for its children; if recursive, it receives the
// first three for path and every descendant instead (and never
// NodeChildrenChanged). The watch lasts until Watcher.Remove or the end of
// the Client, across reconnects; but, as in ZooKeeper, changes made while
// the Client was disconnected are not replayed to it, so a user that must
// not miss one re-reads after each StateConnected on Events.
func (c *Client) AddWatch(ctx context.Context, path string, recursive bool) (*Watcher, error) {
	mode := jute.AddWatchPersistent
	if recursive {
		mode = jute.AddWatchPersistentRecursive
	}
	w := &Watcher{c: c, path: path, recursive: recursive, q: newEventQueue[Event](64, 0)}
	r := newRequest(jute.OpAddWatch, &jute.AddWatchRequest{Path: path, Mode: mode}, &jute.IntResponse{})
	if err := ctx.Err(); err != nil {
		return nil, wrap("addWatch", path, err)
	}
	// Registering and queueing under the registry's lock keeps the order of
	// AddWatch and Remove calls the order the server sees.
	c.watches.mu.Lock()
	c.mu.Lock()
	err := c.done
	if err == nil && c.loopExited {
		err = ErrClosed
	}
	if err == nil {
		c.watches.addWatcher(w)
		c.startForwarder(w)
		c.queue = append(c.queue, r)
	}
	c.mu.Unlock()
	c.watches.mu.Unlock()
	if err != nil {
		return nil, wrap("addWatch", path, err)
	}
	c.wakeWriter()
	if err := c.wait(ctx, r); err != nil {
		c.dropFailedWatcher(w)
		return nil, wrap("addWatch", path, err)
	}
	return w, nil
}

// dropFailedWatcher undoes the registration of a Watcher whose addWatch
// failed. If the request may have reached the server and no other watcher
// of its kind is left on the path, a removeWatches follows it so the
// server does not keep sending its events.
func (c *Client) dropFailedWatcher(w *Watcher) {
	typ := WatcherPersistent
	if w.recursive {
		typ = WatcherPersistentRecursive
	}
	c.watches.mu.Lock()
	found, last := c.watches.dropWatcher(w)
	if found && last {
		if c.enqueue(newRequest(jute.OpRemoveWatches, &jute.WatchesRequest{Path: w.path, Type: int32(typ)}, nil)) == nil {
			defer c.wakeWriter()
		}
	}
	c.watches.mu.Unlock()
	w.q.stop()
}

// RemoveWatches removes this connection's watches of type t on path, on
// the server and in the Client: each removed one-shot watch receives
// EventDataWatchRemoved or EventChildWatchRemoved, each removed Watcher
// EventPersistentWatchRemoved. It fails with ErrNoWatcher if there was
// none. (Types WatcherPersistent and WatcherPersistentRecursive need a
// ZooKeeper 3.9 server or zkd.)
func (c *Client) RemoveWatches(ctx context.Context, path string, t WatcherType) error {
	if err := ctx.Err(); err != nil {
		return wrap("removeWatches", path, err)
	}
	r := newRequest(jute.OpRemoveWatches, &jute.WatchesRequest{Path: path, Type: int32(t)}, nil)
	var oneShots bool
	r.onReply = func(err error) {
		if err == nil || errors.Is(err, ErrNoWatcher) {
			oneShots = c.watches.takeOneShots(t, path, c.State())
		}
	}
	// Persistent watchers go when the request is queued, like AddWatch
	// registers them (see watchRegistry).
	c.watches.mu.Lock()
	err := c.enqueue(r)
	var ws []*Watcher
	if err == nil {
		ws = c.watches.takeWatchers(t, path)
	}
	c.watches.mu.Unlock()
	if err != nil {
		return wrap("removeWatches", path, err)
	}
	st := c.State()
	for _, w := range ws {
		w.q.finish(Event{Type: EventPersistentWatchRemoved, State: st, Path: path})
	}
	c.wakeWriter()
	err = c.wait(ctx, r)
	if errors.Is(err, ErrNoWatcher) && (oneShots || len(ws) > 0) {
		err = nil
	}
	return wrap("removeWatches", path, err)
}

// CheckWatches reports whether this connection has, on the server, a watch
// of type t on path: nil if so, an error wrapping ErrNoWatcher if not.
func (c *Client) CheckWatches(ctx context.Context, path string, t WatcherType) error {
	return c.call(ctx, "checkWatches", path, jute.OpCheckWatches, &jute.WatchesRequest{Path: path, Type: int32(t)}, nil, nil)
}

// ConfigNode is the znode holding the ensemble's dynamic configuration.
const ConfigNode = "/zookeeper/config"

// GetConfig returns the ensemble's current dynamic configuration (the data
// of ConfigNode, empty on a standalone server) and its Stat.
func (c *Client) GetConfig(ctx context.Context) ([]byte, Stat, error) {
	return c.Get(ctx, ConfigNode)
}

// Reconfig asks the ensemble to change its membership (§5.12): joining and
// leaving list servers to add ("server.N=host:port:port[:role];[host:]port",
// comma-separated) and server ids to remove, or members gives the whole new
// membership (then joining and leaving must be empty; the server, not the
// Client, refuses a mix). fromConfig, when not
// -1, is the config version (Stat.Mzxid of ConfigNode) the change applies to.
// It returns the new configuration and its Stat. A standalone server, or one
// with reconfigEnabled=false, answers ErrReconfigDisabled.
func (c *Client) Reconfig(ctx context.Context, joining, leaving, members string, fromConfig int64) ([]byte, Stat, error) {
	var resp jute.GetDataResponse
	req := &jute.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving, NewMembers: members, CurConfigID: fromConfig}
	if err := c.call(ctx, "reconfig", "", jute.OpReconfig, req, &resp, nil); err != nil {
		return nil, Stat{}, err
	}
	return resp.Data, statFromJute(&resp.Stat), nil
}
