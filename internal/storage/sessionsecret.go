package storage

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/zkd/zkd/internal/jute"
)

// Files in the dataDir (beside myid, outside version-2) that key session
// passwords. ZooKeeper knows neither and ignores them.
const (
	// SessionSecretFile holds SessionSecretLen random bytes, mode 0600.
	SessionSecretFile = "zkd-session-secret"
	// SessionLegacyFile lists the sessions that keep ZooKeeper's password
	// derivation, and the fingerprint of the secret the list was made for.
	SessionLegacyFile = "zkd-session-legacy"
	// SessionSecretLen is the size of a session secret file.
	SessionSecretLen = 32
)

// ReadSessionSecret reads a session secret file: exactly SessionSecretLen
// bytes of any value.
func ReadSessionSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read session secret: %w", err)
	}
	if len(b) != SessionSecretLen {
		return nil, fmt.Errorf("session secret %s holds %d bytes, want exactly %d (make one with: head -c %d /dev/urandom > %s)",
			path, len(b), SessionSecretLen, SessionSecretLen, path)
	}
	return b, nil
}

// SessionSecret is what LoadSessionSecret found or made.
type SessionSecret struct {
	// Secret keys the passwords of new sessions.
	Secret []byte
	// Legacy are the live sessions that keep ZooKeeper's derivation.
	Legacy []jute.SessionID
	// Created is set when the dataDir's secret file was made now.
	Created bool
}

// LoadSessionSecret returns the session secret of dataDir, given the
// sessions live in its data. The secret is shared (read with
// ReadSessionSecret) when that is set, else dataDir's SessionSecretFile,
// which is made (random, 0600, written atomically) when missing.
//
// Legacy sessions: the first time a secret is used on this data (no
// SessionLegacyFile yet), every live session is legacy: it was created
// before, by Apache ZooKeeper or a zkd without a secret. Later only the
// recorded ones still live stay legacy. When the secret changes, sessions
// created under the old one get no password at all that works; the legacy
// ones keep theirs. The list is rewritten (atomically, before a new secret
// file) whenever it changes.
func LoadSessionSecret(dataDir string, shared []byte, live []jute.SessionID) (*SessionSecret, error) {
	out := &SessionSecret{}
	secretPath := filepath.Join(dataDir, SessionSecretFile)
	if shared != nil {
		if len(shared) != SessionSecretLen {
			return nil, fmt.Errorf("shared session secret holds %d bytes, want %d", len(shared), SessionSecretLen)
		}
		out.Secret = shared
	} else {
		s, err := ReadSessionSecret(secretPath)
		switch {
		case err == nil:
			out.Secret = s
		case errors.Is(err, iofs.ErrNotExist):
			out.Secret = make([]byte, SessionSecretLen)
			rand.Read(out.Secret)
			out.Created = true
		default:
			return nil, err
		}
	}
	fp := secretFingerprint(out.Secret)
	legacyPath := filepath.Join(dataDir, SessionLegacyFile)
	recordedFP, recorded, err := readLegacy(legacyPath)
	if err != nil {
		return nil, err
	}
	if recordedFP == "" {
		out.Legacy = slices.Clone(live) // first secret on this data
	} else {
		for _, id := range recorded {
			if slices.Contains(live, id) {
				out.Legacy = append(out.Legacy, id)
			}
		}
	}
	slices.Sort(out.Legacy)
	if recordedFP != fp || !slices.Equal(recorded, out.Legacy) {
		if err := writeFileAtomic(legacyPath, encodeLegacy(fp, out.Legacy), 0o644); err != nil {
			return nil, err
		}
	}
	if out.Created {
		if err := writeFileAtomic(secretPath, out.Secret, 0o600); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// secretFingerprint names a secret without revealing it.
func secretFingerprint(secret []byte) string {
	sum := sha256.Sum256(append([]byte("zkd session secret fingerprint\x00"), secret...))
	return hex.EncodeToString(sum[:8])
}

const legacyHeader = "# zkd: sessions that keep ZooKeeper's password derivation (created before this secret)\n"

func encodeLegacy(fp string, ids []jute.SessionID) []byte {
	var b bytes.Buffer
	b.WriteString(legacyHeader)
	b.WriteString("secret " + fp + "\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "0x%x\n", uint64(id))
	}
	return b.Bytes()
}

// readLegacy reads the legacy list; a missing file gives "" and nil.
func readLegacy(path string) (fp string, ids []jute.SessionID, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("read legacy session list: %w", err)
	}
	return decodeLegacy(path, b)
}

// decodeLegacy parses the content b of the legacy list at path.
func decodeLegacy(path string, b []byte) (fp string, ids []jute.SessionID, err error) {
	ids = []jute.SessionID{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if v, ok := strings.CutPrefix(line, "secret "); ok && fp == "" {
			fp = v
			continue
		}
		id, perr := strconv.ParseUint(strings.TrimPrefix(line, "0x"), 16, 64)
		if perr != nil || !strings.HasPrefix(line, "0x") {
			return "", nil, fmt.Errorf("legacy session list %s:%d: %q is not a session id like 0x1000001a2b30000 (delete the file to record the live sessions again)", path, n, line)
		}
		ids = append(ids, jute.SessionID(id))
	}
	if fp == "" {
		return "", nil, fmt.Errorf("legacy session list %s: no \"secret\" line (delete the file to record the live sessions again)", path)
	}
	slices.Sort(ids)
	return fp, ids, nil
}

// writeFileAtomic makes data the durable content of path, a file of mode
// perm (see replaceWith).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + tmpSuffix
	os.Remove(tmp) // a leftover may have another mode, which O_CREATE keeps
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := replaceWith(OS{}, f, path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
