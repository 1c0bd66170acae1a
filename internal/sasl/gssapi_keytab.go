package sasl

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
)

// keytabRecheck is how often, at most, a keytab file is checked for changes.
const keytabRecheck = time.Second

// reloadingKeytab is a keytab file that is read again when its size or
// modification time changes, checked at most once a second, so that an
// operator can rotate a service key without restarting the server. A file
// that cannot be read or parsed keeps the last good keytab in use.
type reloadingKeytab struct {
	path string
	log  *slog.Logger

	mu        sync.Mutex // guards the fields below
	kt        *keytab.Keytab
	size      int64
	mtime     time.Time
	lastCheck time.Time
}

// loadKeytab reads the keytab at path; it fails if the file is missing or
// not a keytab.
func loadKeytab(path string, log *slog.Logger) (*reloadingKeytab, error) {
	r := &reloadingKeytab{path: path, log: log}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keytab: %w", err)
	}
	kt, err := keytab.Load(path)
	if err != nil {
		return nil, fmt.Errorf("keytab %s: %w", path, err)
	}
	r.kt, r.size, r.mtime, r.lastCheck = kt, fi.Size(), fi.ModTime(), time.Now()
	return r, nil
}

// current returns the keytab, re-read first if the file changed.
func (r *reloadingKeytab) current() *keytab.Keytab {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.lastCheck) < keytabRecheck {
		return r.kt
	}
	r.lastCheck = now
	fi, err := os.Stat(r.path)
	if err != nil {
		r.log.Warn("keytab unreadable; keeping the keys loaded before", "keytab", r.path, "err", err)
		return r.kt
	}
	if fi.Size() == r.size && fi.ModTime().Equal(r.mtime) {
		return r.kt
	}
	kt, err := keytab.Load(r.path)
	if err != nil {
		r.log.Warn("keytab changed but does not parse; keeping the keys loaded before", "keytab", r.path, "err", err)
		return r.kt
	}
	r.kt, r.size, r.mtime = kt, fi.Size(), fi.ModTime()
	r.log.Info("keytab changed on disk; reloaded", "keytab", r.path, "entries", len(kt.Entries))
	return r.kt
}
