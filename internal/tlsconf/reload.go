package tlsconf

import (
	"crypto/x509"
	"log/slog"
	"os"
	"sync"
	"time"
)

// reloadCheckInterval is how often, at most, a store's file is looked at
// for a change.
const reloadCheckInterval = time.Second

// trustPool is a trust store's certificates, as a pool.
type trustPool struct {
	pool  *x509.CertPool
	certs []*x509.Certificate
}

func newTrustPool(certs []*x509.Certificate) *trustPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return &trustPool{pool: p, certs: certs}
}

// watchedStore holds what was loaded from a store file and loads it again
// when the file's size or modification time changes, looking at most once
// per reloadCheckInterval. A change that cannot be loaded keeps the old
// contents and is logged once.
type watchedStore[T any] struct {
	what string // "key store" or "trust store", for logs
	st   Store
	load func(Store) (T, error)
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex // guards the fields below
	cur     T
	gen     uint64    // counts successful loads
	size    int64     // of the file last loaded
	mtime   time.Time // of the file last loaded
	checked time.Time // last look at the file
	failed  [2]int64  // size and mtime (ns) of the last change that failed to load
}

func newWatchedStore[T any](what string, st Store, load func(Store) (T, error), log *slog.Logger, now func() time.Time) (*watchedStore[T], error) {
	w := &watchedStore[T]{what: what, st: st, load: load, log: log, now: now}
	fi, err := os.Stat(st.Location)
	if err != nil {
		return nil, err
	}
	v, err := load(st)
	if err != nil {
		return nil, err
	}
	w.cur, w.gen, w.size, w.mtime, w.checked = v, 1, fi.Size(), fi.ModTime(), now()
	return w, nil
}

// get returns the current contents and their generation, reloading the
// file first if it changed.
func (w *watchedStore[T]) get() (T, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if now.Sub(w.checked) < reloadCheckInterval {
		return w.cur, w.gen
	}
	w.checked = now
	fi, err := os.Stat(w.st.Location)
	if err != nil {
		if w.failed != [2]int64{-1, -1} {
			w.log.Warn("TLS "+w.what+" unreadable, keeping the loaded one", "file", w.st.Location, "err", err)
			w.failed = [2]int64{-1, -1}
		}
		return w.cur, w.gen
	}
	if fi.Size() == w.size && fi.ModTime().Equal(w.mtime) {
		return w.cur, w.gen
	}
	v, err := w.load(w.st)
	if err != nil {
		if sig := [2]int64{fi.Size(), fi.ModTime().UnixNano()}; sig != w.failed {
			w.log.Warn("TLS "+w.what+" changed but cannot be loaded, keeping the loaded one", "file", w.st.Location, "err", err)
			w.failed = sig
		}
		return w.cur, w.gen
	}
	w.cur, w.size, w.mtime, w.failed = v, fi.Size(), fi.ModTime(), [2]int64{}
	w.gen++
	w.log.Info("TLS "+w.what+" reloaded", "file", w.st.Location)
	return w.cur, w.gen
}
