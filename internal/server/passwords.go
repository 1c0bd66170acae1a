package server

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/session"
	"github.com/zkd/zkd/internal/storage"
)

// loadPasswords decides how this start keys session passwords, given the
// sessions restored from disk:
//
//   - zkd.sessionSecretFile set: its secret, on every server of an ensemble;
//   - otherwise an ensemble member uses ZooKeeper's derivation, which Java
//     servers of a mixed ensemble check too (and warns that it is derivable);
//   - otherwise a standalone server keeps a secret in its dataDir (one per
//     process with -in-memory).
//
// Sessions already live when this data first met its secret keep ZooKeeper's
// derivation (storage.LoadSessionSecret).
func (s *Server) loadPasswords(live map[jute.SessionID]int32) (*session.Passwords, error) {
	var shared []byte
	if path := s.cfg.SessionSecretFile(); path != "" {
		var err error
		if shared, err = storage.ReadSessionSecret(path); err != nil {
			return nil, fmt.Errorf("%s: %w", config.SessionSecretFileKey, err)
		}
	}
	switch {
	case s.inMemory:
		if shared == nil {
			shared = make([]byte, session.SecretLen)
			rand.Read(shared)
		}
		return session.NewPasswords(shared, nil), nil
	case shared == nil && !s.cfg.Standalone():
		s.log.Warn("session passwords are ZooKeeper's, which anyone who sees a session id can compute; in an ensemble of zkd servers only, set "+
			config.SessionSecretFileKey+" to the same 32-byte file on every server", "key", config.SessionSecretFileKey)
		return session.NewPasswords(nil, nil), nil
	}
	sec, err := storage.LoadSessionSecret(s.cfg.DataDir, shared, slices.Sorted(maps.Keys(live)))
	if err != nil {
		return nil, fmt.Errorf("load session secret: %w", err)
	}
	s.log.Info("session passwords keyed by a secret", "shared", shared != nil, "created", sec.Created,
		"sessions_with_zookeeper_passwords", len(sec.Legacy))
	return session.NewPasswords(sec.Secret, sec.Legacy), nil
}
