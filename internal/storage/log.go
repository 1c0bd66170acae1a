package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"log/slog"
	"path/filepath"

	"github.com/zkd/zkd/internal/jute"
)

// Log file constants (§2.1, §2.2).
const (
	logMagic      = 0x5A4B4C47 // "ZKLG"
	logVersion    = 2
	logHeaderSize = 16
	entryOverhead = 8 + 4 + 1
	endOfRecord   = 0x42
)

// DefaultPreAllocSize is ZooKeeper's default preallocation step (64 MiB).
const DefaultPreAllocSize = 64 << 20

// LogOptions configure a Log.
type LogOptions struct {
	FS FS
	// PreAllocSize is the preallocation step in bytes; 0 means the default,
	// negative disables preallocation.
	PreAllocSize int64
	// ForceSync makes Commit fsync (zookeeper.forceSync, default yes).
	ForceSync bool
	// Logger receives the warning for an entry Apache ZooKeeper could not
	// read back; nil means slog.Default().
	Logger *slog.Logger
}

// ZooKeeperMaxEntry is the largest log entry payload Apache ZooKeeper 3.8
// reads back with its default jute.maxbuffer (0xfffff) and
// zookeeper.jute.maxbuffer.extrasize (equal to it): 2,097,150 bytes.
// Measured: it restarts on a log whose closeSession payload is this long
// and refuses one byte more ("Unreasonable length = 2097151"). A longer
// entry needs -Djute.maxbuffer of at least its length on the ZooKeeper
// JVM that reads it.
const ZooKeeperMaxEntry = 2 * jute.DefaultMaxBuffer

// ErrTxnTooLarge reports a transaction longer than [jute.MaxTxnSize]: the
// log refuses it and writes nothing.
var ErrTxnTooLarge = errors.New("transaction too large for the log")

// Log appends transactions to log segments in a directory. It is not safe
// for concurrent use.
type Log struct {
	fs       FS
	dir      string
	preAlloc int64
	force    bool
	logger   *slog.Logger
	// maxTxn is the longest payload Append accepts: jute.MaxTxnSize
	// (tests lower it).
	maxTxn int

	cur      File
	bw       *bufio.Writer
	pos      int64 // logical end of data in cur (buffered bytes included)
	size     int64 // allocated size of cur
	synced   int64 // offset up to which cur holds committed entries
	unsynced []File
	lastZxid jute.Zxid
	// committedZxid is the last zxid made durable; a failed commit rolls
	// lastZxid back to it.
	committedZxid jute.Zxid
	enc           *jute.Encoder
	// broken is set once a failed write could not be undone; every later
	// operation fails with it.
	broken error
	// Appended counts entries appended to the current segment.
	Appended int
}

// OpenLog prepares appending in dir (which it creates). The first Append
// starts a new segment.
func OpenLog(dir string, opts LogOptions) (*Log, error) {
	if opts.FS == nil {
		opts.FS = OS{}
	}
	switch {
	case opts.PreAllocSize == 0:
		opts.PreAllocSize = DefaultPreAllocSize
	case opts.PreAllocSize < 0:
		opts.PreAllocSize = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := opts.FS.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	return &Log{fs: opts.FS, dir: dir, preAlloc: opts.PreAllocSize, force: opts.ForceSync, logger: opts.Logger, maxTxn: jute.MaxTxnSize, enc: jute.NewEncoder(nil)}, nil
}

// Dir returns the log directory.
func (l *Log) Dir() string { return l.dir }

// Append buffers one transaction. It opens a new segment, named after the
// transaction's zxid, if none is open. A transaction longer than
// [jute.MaxTxnSize] fails with [ErrTxnTooLarge]; like any failed write it
// discards what was appended since the last Commit. One longer than
// [ZooKeeperMaxEntry] is written with a warning naming its zxid and size.
func (l *Log) Append(t *jute.Txn) error {
	if l.broken != nil {
		return l.broken
	}
	if t.Header.Zxid <= l.lastZxid && l.lastZxid != 0 {
		return fmt.Errorf("append zxid %v after %v: zxids must increase", t.Header.Zxid, l.lastZxid)
	}
	if l.cur == nil {
		if err := l.startSegment(t.Header.Zxid); err != nil {
			return err
		}
	}
	l.enc.Reset()
	l.enc.Long(0)
	l.enc.Int(0)
	t.Encode(l.enc)
	l.enc.Byte(endOfRecord)
	b := l.enc.Bytes()
	payload := b[12 : len(b)-1]
	if len(payload) > l.maxTxn {
		l.enc = jute.NewEncoder(nil)
		return l.rollback(fmt.Errorf("append zxid %v (%v) of %d bytes: %w (limit %d bytes)",
			t.Header.Zxid, t.Header.Type, len(payload), ErrTxnTooLarge, l.maxTxn))
	}
	if len(payload) > ZooKeeperMaxEntry {
		l.logger.Warn("transaction log entry is larger than Apache ZooKeeper reads back with its default jute.maxbuffer; "+
			"before starting ZooKeeper on this dataDir, give its JVM -Djute.maxbuffer of at least this size",
			"zxid", t.Header.Zxid, "type", t.Header.Type, "size", len(payload), "zookeeper_limit", ZooKeeperMaxEntry, "file", l.cur.Name())
	}
	binary.BigEndian.PutUint64(b, uint64(adler32.Checksum(payload)))
	binary.BigEndian.PutUint32(b[8:], uint32(len(payload)))
	if err := l.preallocate(int64(len(b))); err != nil {
		return err
	}
	if _, err := l.bw.Write(b); err != nil {
		return l.rollback(fmt.Errorf("append to %s: %w", l.cur.Name(), err))
	}
	l.pos += int64(len(b))
	l.lastZxid = t.Header.Zxid
	l.Appended++
	if cap(b) > encoderKeep {
		// Do not hold on to the buffer of a rare large entry.
		l.enc = jute.NewEncoder(nil)
	}
	return nil
}

// encoderKeep is the largest encoding buffer a Log keeps between appends.
const encoderKeep = 4 << 20

func (l *Log) startSegment(zxid jute.Zxid) error {
	name := filepath.Join(l.dir, LogName(zxid))
	f, err := l.fs.Create(name)
	if err != nil {
		return fmt.Errorf("create log segment: %w", err)
	}
	var hdr [logHeaderSize]byte
	binary.BigEndian.PutUint32(hdr[0:], logMagic)
	binary.BigEndian.PutUint32(hdr[4:], logVersion)
	if _, err := f.Write(hdr[:]); err != nil {
		f.Close()
		l.fs.Remove(name)
		return fmt.Errorf("write header of %s: %w", name, err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		f.Close()
		return fmt.Errorf("sync log dir: %w", err)
	}
	l.cur = f
	l.bw = bufio.NewWriterSize(&writerAt{f: f, off: logHeaderSize}, 256<<10)
	l.pos, l.size, l.synced = logHeaderSize, logHeaderSize, logHeaderSize
	l.Appended = 0
	l.unsynced = append(l.unsynced, f)
	return nil
}

// preallocate extends the segment with zeros ahead of the write position
// (§2.8), so that appends do not change the file size and fdatasync has no
// metadata to flush.
func (l *Log) preallocate(n int64) error {
	if l.preAlloc == 0 || l.pos+n+4096 < l.size {
		return nil
	}
	newSize := l.size + l.preAlloc
	if l.pos+n+4096 >= newSize {
		newSize = (l.pos + n + l.preAlloc) / l.preAlloc * l.preAlloc
	}
	if err := l.bw.Flush(); err != nil {
		return l.rollback(fmt.Errorf("append to %s: %w", l.cur.Name(), err))
	}
	if _, err := l.cur.WriteAt([]byte{0}, newSize-1); err != nil {
		return l.rollback(fmt.Errorf("preallocate %s: %w", l.cur.Name(), err))
	}
	l.size = newSize
	return nil
}

// Commit makes every appended transaction durable: it flushes the buffer
// and fdatasyncs ([DataSync]) each segment written since the last Commit. On failure the
// current segment is cut back to the last committed entry, so nothing
// uncommitted is ever replayed.
func (l *Log) Commit() error {
	if l.broken != nil {
		return l.broken
	}
	if l.cur != nil {
		if err := l.bw.Flush(); err != nil {
			return l.rollback(fmt.Errorf("write %s: %w", l.cur.Name(), err))
		}
	}
	if l.force {
		// fdatasync is enough: it makes the data durable and, if a segment
		// grew, its size; what it skips (timestamps) no reader needs.
		// Preallocation keeps most commits from changing the size at all.
		for _, f := range l.unsynced {
			if err := DataSync(f); err != nil {
				return l.rollback(fmt.Errorf("sync %s: %w", f.Name(), err))
			}
		}
	}
	for _, f := range l.unsynced {
		if f != l.cur {
			f.Close()
		}
	}
	l.unsynced = l.unsynced[:0]
	if l.cur != nil {
		l.unsynced = append(l.unsynced, l.cur)
		l.synced = l.pos
	}
	l.committedZxid = l.lastZxid
	return nil
}

// rollback discards what was appended since the last commit.
func (l *Log) rollback(cause error) error {
	l.lastZxid = l.committedZxid
	if l.cur == nil {
		return cause
	}
	l.bw.Reset(&writerAt{f: l.cur, off: l.synced})
	l.pos = l.synced
	// Cut the segment back to its committed end and make the cut durable,
	// so that no byte of the failed batch can be replayed later.
	if err := l.cur.Truncate(l.synced); err != nil {
		return l.breakLog(cause, err)
	}
	if err := l.cur.Sync(); err != nil {
		return l.breakLog(cause, err)
	}
	l.size = l.synced
	return cause
}

// ErrLogBroken reports that the log could not be cut back after a failed
// write: what that write left on disk is unknown, so the log takes no more
// writes until the server restarts (restore then decides what is there).
var ErrLogBroken = errors.New("transaction log is broken")

func (l *Log) breakLog(cause, err error) error {
	l.broken = fmt.Errorf("%w: could not cut %s back to offset %d after %v: %v", ErrLogBroken, l.cur.Name(), l.synced, cause, err)
	return l.broken
}

// LastZxid returns the zxid of the last appended transaction.
func (l *Log) LastZxid() jute.Zxid { return l.lastZxid }

// SetLastZxid tells a fresh Log the last zxid already on disk.
func (l *Log) SetLastZxid(z jute.Zxid) { l.lastZxid, l.committedZxid = z, z }

// Roll ends the current segment; the next Append starts a new one. Call
// it after Commit.
func (l *Log) Roll() error {
	if l.cur == nil {
		return nil
	}
	if l.broken != nil {
		l.cur.Close()
		l.cur, l.bw = nil, nil
		return l.broken
	}
	err := l.Commit()
	if l.cur != nil {
		l.cur.Close()
	}
	l.cur, l.bw = nil, nil
	l.unsynced = l.unsynced[:0]
	return err
}

// Close commits and closes the log.
func (l *Log) Close() error { return l.Roll() }

// writerAt adapts a File to sequential writes from an offset: segments
// are longer than their data because of preallocation, so appends write at
// a position rather than at the end of the file.
type writerAt struct {
	f   File
	off int64
}

func (w *writerAt) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	return n, err
}
