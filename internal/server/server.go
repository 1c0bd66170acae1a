package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd/zkd/internal/acl"
	"github.com/zkd/zkd/internal/admin"
	"github.com/zkd/zkd/internal/clientport"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/peer"
	"github.com/zkd/zkd/internal/prep"
	"github.com/zkd/zkd/internal/session"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
	"github.com/zkd/zkd/internal/watch"
)

// Version is the version zkd reports where ZooKeeper reports its own; it
// starts with the ZooKeeper release whose protocol zkd speaks, because
// clients and tools parse it.
var Version = "3.8.0-zkd-dev"

// Options configure a Server beyond its zoo.cfg.
type Options struct {
	Logger *slog.Logger
	// InMemory keeps all data in memory only: nothing is read from or
	// written to dataDir.
	InMemory bool
	// FS is the file system under dataDir and dataLogDir; nil means the
	// operating system's (tests inject faults through it).
	FS storage.FS
	// Committer replaces the commit step (tests); nil selects the
	// transaction log, or memory with InMemory.
	Committer Committer
	// SecureAddr, when set, is the address of a TLS client port in place
	// of secureClientPort's (tests: "127.0.0.1:0").
	SecureAddr string
	// SpareProc lends the process a second P (GOMAXPROCS 2, procs.Borrow)
	// while background work runs (a snapshot, a follower's SNAP, the
	// startup digest check) in a process that has one. That work runs on a thread
	// of lowered priority, which only yields the CPU to the core's thread
	// if it holds a P of its own: with a single P the Go scheduler would
	// give it an even share of the process's time. zkd server sets it
	// unless the operator set GOMAXPROCS.
	SpareProc bool
}

// Server is a standalone zkd server.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	committer Committer
	listener  *clientPorts
	// secureAddr overrides secureClientPort's address (Options.SecureAddr).
	secureAddr string
	spareProc  bool // Options.SpareProc
	started    time.Time

	inbox *queue[event]
	// peer drives the ensemble; nil for a standalone server.
	peer *peer.Peer
	// logStats are the ensemble log writer's metrics.
	logStats ensembleLogStats

	// Everything below is owned by the core goroutine.
	tree      *tree.Tree
	prep      *prep.Preparer
	watches   *watch.Registry
	sessions  *session.Table
	conns     map[*clientport.Conn]*connState
	byWatcher map[watch.WatcherID]*connState
	owners    map[jute.SessionID]*connState // connection currently bound to each session
	inflight  []*pending                    // submitted txns, in zxid order
	lastWrite map[jute.SessionID]*pending   // each session's newest write in flight
	nextZxid  jute.Zxid
	stats     serverStats
	// role is the server's part in its ensemble (roleStandalone alone).
	role role
	// lookingSince is when the server last started looking for a leader.
	lookingSince time.Time
	// forwardedBySession holds, per session, the requests this learner
	// forwarded to the leader and not yet saw committed, oldest first;
	// pendingSyncs the forwarded syncs not answered yet.
	forwardedBySession map[jute.SessionID][]*pending
	pendingSyncs       []*pending
	// revalidating holds, per session, resumed handshakes on a learner
	// waiting for the leader's REVALIDATE answer.
	revalidating map[jute.SessionID][]*pending
	// clientTouches collects, on a learner, the sessions its clients used since
	// the last tick, for the leader (handed to the peer once a tick rather
	// than once a request).
	clientTouches map[jute.SessionID]int32
	// sessionOwners maps, on a leader, each session to the server its
	// client uses (this server's myid for its own clients).
	sessionOwners map[jute.SessionID]int64
	lastReap      time.Time
	whitelist     map[string]bool
	inMemory      bool
	// ready lists the connections with requests waiting to start
	// (schedule.go); throttle and connThrottle are the throttling settings
	// and the connection token bucket.
	ready []*connState
	// largeWriteBytes is the request bytes of large writes in connection
	// queues (schedule.go).
	largeWriteBytes int64
	throttle        config.Throttling
	connThrottle    *connThrottle
	// snapshotAtStart asks for a background snapshot once serving.
	snapshotAtStart bool
	// digestAtStart is the loaded snapshot's digest trailer, checked
	// once serving, or nil.
	digestAtStart *digestCheck
	// zkMetrics are the core's ZooKeeper metrics (metrics.go); taken is
	// when the core took up its current batch of events, and takenWallMS
	// the wall clock then in ms (0 until wallMS reads it).
	zkMetrics   *coreMetrics
	taken       time.Time
	takenWallMS int64
	// snapshotMS feeds snapshottime; snapshot writers add to it.
	snapshotMS summaryStat
	// fourLetterBytes counts the bytes of four-letter words, which
	// connection goroutines read (part of bytes_received_count).
	fourLetterBytes atomic.Int64
	fs              storage.FS
	// restoredSessions holds the sessions loaded from disk until Start.
	restoredSessions map[jute.SessionID]int32
	aclConf          acl.Settings
	saslConf         *saslSettings
	// passwords gives sessions their passwords and checks them.
	passwords *session.Passwords

	// snap is the newest background snapshot (core-owned); snapWG tracks
	// the goroutines that write snapshots.
	snap   *backgroundSnapshot
	snapWG sync.WaitGroup

	admin       *http.Server // the AdminServer, when enabled and listening
	adminAddr   net.Addr
	metrics     *http.Server // the Prometheus endpoint, when enabled
	metricsAddr net.Addr
	cancel      context.CancelFunc
	closeOnce   sync.Once
	wg          sync.WaitGroup
}

// event is one item in the core's inbox.
type event struct {
	kind    eventKind
	conn    *clientport.Conn
	connect *jute.ConnectRequest
	req     *clientport.Request
	batch   []*jute.Txn
	err     error
	query   func()
	at      time.Time
}

type eventKind uint8

const (
	evConnect eventKind = iota
	evRequest
	evClosed
	evCommitted
	evQuery
	evSnapshot
)

// New builds a server from cfg. It does not listen until Start.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	aclConf := acl.Settings{SuperDigest: cfg.SuperDigest(), SkipACL: cfg.SkipACL(), X509: cfg.X509ProviderEnabled() || opts.SecureAddr != "",
		SASL: cfg.SASLProviderEnabled(), LetAnySaslUserDoX: cfg.LetAnySaslUserDoX()}
	saslConf, err := newSASLSettings(cfg, opts.Logger)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		log:        opts.Logger,
		secureAddr: opts.SecureAddr,
		spareProc:  opts.SpareProc,
		committer:  opts.Committer,
		inbox:      newQueue[event](),
		watches:    watch.New(),
		conns:      make(map[*clientport.Conn]*connState),
		byWatcher:  make(map[watch.WatcherID]*connState),
		lastWrite:  make(map[jute.SessionID]*pending),
		owners:     make(map[jute.SessionID]*connState),
		zkMetrics:  new(coreMetrics),
		whitelist:  cfg.FourLetterWhitelist(),
		throttle:   cfg.Throttling(),
		aclConf:    aclConf,
		saslConf:   saslConf,

		forwardedBySession: make(map[jute.SessionID][]*pending),
		revalidating:       make(map[jute.SessionID][]*pending),
		sessionOwners:      make(map[jute.SessionID]int64),
		clientTouches:      make(map[jute.SessionID]int32),
	}
	ensemble := !cfg.Standalone()
	if ensemble && opts.InMemory {
		return nil, errors.New("an ensemble member keeps its log and snapshots on disk: -in-memory is for standalone servers")
	}
	s.stats.reset()
	s.inMemory = opts.InMemory
	s.fs = opts.FS
	if s.fs == nil {
		s.fs = storage.OS{}
	}
	r := &restored{tree: tree.New(), sessions: make(map[jute.SessionID]int32)}
	if !opts.InMemory {
		var err error
		if r, err = s.restore(s.fs); err != nil {
			return nil, err
		}
		if s.passwords, err = s.loadPasswords(r.sessions); err != nil {
			return nil, err
		}
		s.log.Info("database loaded", "last_zxid", r.lastZxid, "txns_replayed", r.replayed,
			"sessions", len(r.sessions), "znodes", r.tree.NodeCount(), "took", r.took)
		s.recordRestore(r)
		s.digestAtStart = r.digest
		background, err := s.startupSnapshot(r)
		if err != nil {
			return nil, err
		}
		s.snapshotAtStart = background
		if s.committer == nil {
			snapDir, logDir := s.dataDirs()
			logOpts := storage.LogOptions{FS: s.fs, PreAllocSize: cfg.PreAllocSize(), ForceSync: cfg.ForceSync(), Logger: s.log}
			l, err := storage.OpenLog(logDir, logOpts)
			if err != nil {
				return nil, err
			}
			l.SetLastZxid(r.lastZxid)
			if ensemble {
				var secure *peer.QuorumTLS
				if secure, err = quorumTLS(cfg, s.log); err != nil {
					l.Close()
					return nil, err
				}
				var auth *peer.QuorumSASL
				if auth, err = quorumSASL(cfg, s.log); err != nil {
					l.Close()
					return nil, err
				}
				s.peer, err = peer.New(peer.Config{Cfg: cfg, Log: l, LogOptions: logOpts, FS: s.fs, SnapDir: snapDir, LogDir: logDir,
					LastZxid: r.lastZxid, History: r.recent, Synced: s.logStats.synced, TLS: secure, SASL: auth, Logger: s.log}, stateMachine{s})
				if err != nil {
					l.Close()
					return nil, err
				}
				s.committer = peerCommitter{s.peer}
				s.role = roleLooking
			} else {
				s.committer = NewLogCommitter(l, s.log, cfg.SnapCount(), cfg.FsyncWarningThreshold(), logGroupCommit(cfg), s.rolled)
			}
		}
	}
	if s.committer == nil {
		s.committer = &MemoryCommitter{}
	}
	if s.passwords == nil { // -in-memory
		var err error
		if s.passwords, err = s.loadPasswords(nil); err != nil {
			return nil, err
		}
	}
	s.tree = r.tree
	s.restoredSessions = r.sessions
	s.prep = prep.New(r.tree, prep.Settings{
		ACL: aclConf, ExtendedTypes: cfg.ExtendedTypesEnabled(), ReconfigEnabled: cfg.ReconfigEnabled,
		EnforceQuota: cfg.EnforceQuota(), Warn: logQuotaWarning,
	})
	return s, nil
}

// rolled is called by the log committer after a log roll.
func (s *Server) rolled() { s.inbox.push(event{kind: evSnapshot}) }

// Start listens on the client port and starts the pipeline.
func (s *Server) Start(ctx context.Context) error {
	ln, err := s.listenClientPorts(clientport.Options{
		MaxBuffer:             s.cfg.JuteMaxBuffer(),
		MaxClientCnxns:        s.cfg.MaxClientCnxns,
		MaxOutstanding:        int64(s.throttle.GlobalOutstandingLimit),
		LargeRequestThreshold: s.throttle.LargeRequestThreshold,
		LargeRequestMaxBytes:  s.throttle.LargeRequestMaxBytes,
		// One read per request pays with one P only (EdgeTriggeredReads).
		// Read before any background work may borrow a second P
		// (procs.Borrow): the first of it starts further down. A P the
		// process gets later (procs.Govern) leaves them on: they are
		// correct with any number, and no slower with two.
		EdgeTriggeredReads: runtime.GOMAXPROCS(0) == 1,
		Logger:             s.log,
	})
	if err != nil {
		return err
	}
	s.listener = ln
	s.started = time.Now()
	s.connThrottle = newConnThrottle(s.throttle.Connection, 0)
	s.sessions = session.NewTable(int64(s.cfg.TickTime), session.InitialID(s.serverID(), s.started.UnixMilli()))
	for id, timeout := range s.restoredSessions {
		s.sessions.Add(id, timeout, 0)
	}
	if s.peer != nil {
		s.sessions.Untrack() // the leader, once elected, expires sessions
	}
	s.restoredSessions = nil
	s.nextZxid = s.tree.LastZxid() + 1
	s.lookingSince = s.started
	// Like ZooKeeper's container manager, the first reaping comes one
	// znode.container.checkIntervalMs after the start, not at once.
	s.lastReap = s.started
	ctx, s.cancel = context.WithCancel(ctx)
	s.committer.Start(func(batch []*jute.Txn, err error) {
		s.inbox.push(event{kind: evCommitted, batch: batch, err: err})
	})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.run(ctx)
	}()
	go func() {
		defer s.wg.Done()
		if err := ln.Serve(ctx); err != nil {
			s.log.Error("client port stopped", "err", err)
		}
	}()
	if s.snapshotAtStart {
		s.inbox.push(event{kind: evSnapshot})
	}
	if s.peer != nil {
		if err := s.peer.Start(ctx); err != nil {
			s.cancel()
			ln.Close()
			s.wg.Wait()
			return err
		}
	}
	s.startAdminServer()
	s.startMetrics()
	if s.cfg.AutopurgePurgeInterval > 0 && !s.inMemory {
		s.wg.Go(func() { s.autopurge(ctx, time.Duration(s.cfg.AutopurgePurgeInterval)*time.Hour) })
	}
	if d := s.digestAtStart; d != nil {
		s.digestAtStart = nil
		s.checkSnapshotDigest(d)
	}
	s.log.Info("listening for clients", "addr", ln.Addr().String(), "mode", s.role.String())
	return nil
}

func (s *Server) serverID() int64 {
	if s.cfg.MyID > 0 && !s.cfg.Standalone() {
		return s.cfg.MyID
	}
	return 1 // ZooKeeper's standalone server id for session ids (§2.4)
}

// Addr returns the client port's address once started (the secure
// client port's when it is the only one).
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// SecureAddr returns the secure client port's address once started, or
// nil when there is none.
func (s *Server) SecureAddr() net.Addr {
	if s.listener.secure == nil {
		return nil
	}
	return s.listener.secure.Addr()
}

// Close stops the server: the client port, the pipeline and the committer.
func (s *Server) Close() error {
	if s.cancel == nil {
		return nil
	}
	var err error
	s.closeOnce.Do(func() { err = s.close() })
	return err
}

func (s *Server) close() error {
	s.cancel()
	for _, hs := range []*http.Server{s.admin, s.metrics} {
		if hs != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			hs.Shutdown(ctx)
			cancel()
		}
	}
	err := s.listener.Close()
	s.wg.Wait()
	if s.peer != nil {
		if perr := s.peer.Close(); err == nil {
			err = perr
		}
	}
	s.abortSnapshot()
	s.snapWG.Wait()
	if cerr := s.committer.Close(); err == nil {
		err = cerr
	}
	return err
}

// run is the core goroutine.
func (s *Server) run(ctx context.Context) {
	tick := time.Duration(s.cfg.TickTime) * time.Millisecond / 2
	ticker := time.NewTicker(max(tick, 10*time.Millisecond))
	defer ticker.Stop()
	var batch []event
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			s.tick()
		case <-s.inbox.signal:
		}
		batch = s.inbox.popAll(batch)
		s.taken, s.takenWallMS = s.clock(), 0
		for i := range batch {
			s.handle(&batch[i])
			batch[i] = event{}
		}
		if s.serve() {
			s.inbox.wake() // come back after whatever has arrived
		}
	}
}

func (s *Server) handle(ev *event) {
	switch ev.kind {
	case evConnect:
		s.handleConnect(ev.conn, ev.connect, ev.at)
	case evRequest:
		s.arrive(ev.conn, ev.req, ev.at)
	case evClosed:
		s.flushClosed(ev.conn)
		s.handleClosed(ev.conn)
	case evCommitted:
		s.handleCommitted(ev.batch, ev.err)
	case evQuery:
		ev.query()
	case evSnapshot:
		s.startSnapshot()
	}
}

// nowMS is the session clock: monotonic milliseconds since start.
func (s *Server) nowMS() int64 { return time.Since(s.started).Milliseconds() }

// clock returns the time now as the server's start plus the monotonic
// time since, which reads one clock where time.Now reads two. Its wall
// reading ignores clock steps since the start: use it for durations. Any
// goroutine may call it once Start has begun.
func (s *Server) clock() time.Time { return s.started.Add(time.Since(s.started)) }

// wallMS returns the wall clock in ms, read once per batch of events: the
// clock transactions' times come from.
func (s *Server) wallMS() int64 {
	if s.takenWallMS == 0 {
		s.takenWallMS = time.Now().UnixMilli()
	}
	return s.takenWallMS
}

// tick expires sessions and reaps containers and TTL nodes: a standalone
// server or a leader; learners leave both to their leader.
func (s *Server) tick() {
	s.expireSASL(time.Now())
	switch s.role {
	case roleStandalone, roleLeader:
	case roleFollower, roleObserver:
		s.sessions.Untrack()
		if len(s.clientTouches) > 0 {
			s.peer.Touch(s.clientTouches) // the peer owns the map from here
			s.clientTouches = make(map[jute.SessionID]int32)
		}
		return
	default:
		return
	}
	for _, id := range s.sessions.Expired(s.nowMS()) {
		s.log.Info("session expired", "session", id)
		s.zkMetrics.staleSessionsExpired++
		s.submit(nil, &prep.Request{Session: id, Op: jute.OpCloseSession, Body: &jute.Empty{}}, nil)
	}
	if interval := s.cfg.ContainerCheckInterval(); interval > 0 && time.Since(s.lastReap) >= interval {
		s.lastReap = time.Now()
		limit := s.cfg.ContainerMaxPerMinute() * int(max(interval, time.Second)/time.Second) / 60
		for i, p := range s.tree.ReapCandidates(time.Now().UnixMilli(), 0) {
			if i >= max(limit, 1) {
				break
			}
			if txn := s.prep.ReapTxn(p, s.nextZxid, time.Now().UnixMilli()); txn != nil {
				s.nextZxid++
				s.zkMetrics.requestsQueued++
				s.zkMetrics.changesQueued += changeRecords(txn.Record)
				s.inflight = append(s.inflight, &pending{txn: txn, write: true})
				s.committer.Commit(txn)
			}
		}
	}
}

// query runs f on the core goroutine and waits for it.
func (s *Server) query(f func()) bool {
	done := make(chan struct{})
	s.inbox.push(event{kind: evQuery, query: func() { f(); close(done) }})
	select {
	case <-done:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// Connect implements clientport.Backend.
func (s *Server) Connect(c *clientport.Conn, req *jute.ConnectRequest) {
	s.inbox.push(event{kind: evConnect, conn: c, connect: req, at: s.clock()})
}

// Request implements clientport.Backend.
func (s *Server) Request(c *clientport.Conn, req *clientport.Request) {
	s.inbox.push(event{kind: evRequest, conn: c, req: req, at: s.clock()})
}

// Closed implements clientport.Backend.
func (s *Server) Closed(c *clientport.Conn) {
	s.inbox.push(event{kind: evClosed, conn: c})
}

// FourLetter implements clientport.Backend.
func (s *Server) FourLetter(c *clientport.Conn, first [4]byte, r io.Reader) (string, bool) {
	word, known := admin.FourLetterWord(first)
	if !known {
		return "", false
	}
	s.fourLetterBytes.Add(int64(len(first)))
	var extra []byte
	if word == "stmk" {
		extra = make([]byte, 8)
		n, err := io.ReadFull(r, extra)
		s.fourLetterBytes.Add(int64(n))
		if err != nil {
			return "", true
		}
	}
	return admin.RunFourLetter(word, portView{s, c.OnSecurePort()}, s.whitelist, extra), true
}

// autopurge deletes old snapshots and logs at start and then every
// interval (autopurge.purgeInterval hours, autopurge.snapRetainCount).
func (s *Server) autopurge(ctx context.Context, interval time.Duration) {
	snapDir, logDir := s.dataDirs()
	for {
		deleted, err := storage.Purge(s.fs, snapDir, logDir, s.cfg.AutopurgeSnapRetainCount)
		if err != nil {
			s.log.Error("autopurge failed", "err", err)
		}
		if len(deleted) > 0 {
			s.log.Info("autopurge deleted old snapshots and logs", "files", deleted)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// startAdminServer serves ZooKeeper's HTTP AdminServer. Like ZooKeeper, a
// port that cannot be bound is logged and the server runs without it.
func (s *Server) startAdminServer() {
	ac := s.cfg.AdminServer()
	if !ac.Enabled {
		return
	}
	ln, err := net.Listen("tcp", ac.Address)
	if err != nil {
		s.log.Warn("AdminServer not started (set admin.serverPort, or admin.enableServer=false)", "addr", ac.Address, "err", err)
		return
	}
	raw := ln
	ln, handler, err := s.secureAdmin(raw, admin.NewHandler(s, s.adminOptions(ac)), ac)
	if err != nil {
		raw.Close()
		s.log.Error("AdminServer not started", "err", err)
		return
	}
	s.adminAddr = ln.Addr()
	s.admin = &http.Server{
		Handler:           handler,
		IdleTimeout:       ac.IdleTimeout,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       adminConnContext,
	}
	s.log.Info("AdminServer listening", "addr", ln.Addr().String(), "url", ac.CommandURL)
	s.wg.Go(func() {
		if err := s.admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("AdminServer stopped", "err", err)
		}
	})
}

// AdminAddr returns the AdminServer's address, or nil when it is not
// running.
func (s *Server) AdminAddr() net.Addr { return s.adminAddr }

// startMetrics serves Prometheus metrics on /metrics when the zoo.cfg
// selects ZooKeeper's Prometheus metrics provider. A port that cannot be
// bound is logged and the server runs without it.
func (s *Server) startMetrics() {
	enabled, addr := s.cfg.Prometheus()
	if !enabled {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.log.Warn("Prometheus metrics endpoint not started", "addr", addr, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+admin.MetricsPath, admin.NewMetricsHandler(s))
	s.metricsAddr = ln.Addr()
	s.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("Prometheus metrics listening", "addr", ln.Addr().String(), "path", admin.MetricsPath)
	s.wg.Go(func() {
		if err := s.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics endpoint stopped", "err", err)
		}
	})
}

// MetricsAddr returns the Prometheus endpoint's address, or nil when it is
// not running.
func (s *Server) MetricsAddr() net.Addr { return s.metricsAddr }
