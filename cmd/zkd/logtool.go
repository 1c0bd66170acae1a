package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
)

// runLog implements `zkd log dump|check FILE...`.
func runLog(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: zkd log dump [--json] FILES | zkd log check FILES")
	}
	fs := flag.NewFlagSet("log "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "one JSON object per transaction")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("zkd log %s: name at least one log file", args[0])
	}
	switch args[0] {
	case "dump":
		for _, f := range fs.Args() {
			if err := dumpLog(f, *asJSON, stdout, stderr); err != nil {
				return err
			}
		}
		return nil
	case "check":
		bad := false
		for _, f := range fs.Args() {
			seg, err := storage.ReadSegment(storage.OS{}, f, true)
			switch {
			case err != nil:
				fmt.Fprintf(stdout, "%s: BAD: %v\n", f, err)
				bad = true
			case seg.Torn != nil:
				fmt.Fprintf(stdout, "%s: ok, %d transactions; partial entry at offset %d (%s): an append that never completed\n",
					f, len(seg.Entries), seg.Torn.Offset, seg.Torn.Reason)
			default:
				fmt.Fprintf(stdout, "%s: ok, %d transactions\n", f, len(seg.Entries))
			}
		}
		if bad {
			return errors.New("corrupt log files found")
		}
		return nil
	}
	return fmt.Errorf("unknown log command %q (want dump or check)", args[0])
}

func dumpLog(path string, asJSON bool, stdout, stderr io.Writer) error {
	seg, err := storage.ReadSegment(storage.OS{}, path, true)
	if err != nil {
		return err
	}
	progress := newProgress(stderr, len(seg.Entries))
	enc := json.NewEncoder(stdout)
	for i, e := range seg.Entries {
		if asJSON {
			if err := enc.Encode(txnJSON(e)); err != nil {
				return err
			}
		} else {
			fmt.Fprintln(stdout, txnLine(e.Txn))
		}
		progress.update(i + 1)
	}
	progress.done()
	if seg.Torn != nil {
		fmt.Fprintf(stderr, "%s: partial entry at offset %d (%s)\n", path, seg.Torn.Offset, seg.Torn.Reason)
	}
	if !asJSON {
		fmt.Fprintf(stdout, "EOF reached after %d txns.\n", len(seg.Entries))
	}
	return nil
}

// txnLine is the human-readable form of one transaction.
func txnLine(t *jute.Txn) string {
	h := t.Header
	return fmt.Sprintf("%s session %v cxid %#x zxid %v %v %s",
		time.UnixMilli(h.Time).UTC().Format("2006-01-02 15:04:05.000"), h.ClientID, h.Cxid, h.Zxid, h.Type, describe(t.Record))
}

func describe(rec jute.Record) string {
	switch r := rec.(type) {
	case *jute.CreateTxn:
		kind := "persistent"
		if r.Ephemeral {
			kind = "ephemeral"
		}
		return fmt.Sprintf("%s %s data=%q acl=%s parentCVersion=%d", r.Path, kind, r.Data, acls(r.ACL), r.ParentCVersion)
	case *jute.CreateContainerTxn:
		return fmt.Sprintf("%s container data=%q acl=%s parentCVersion=%d", r.Path, r.Data, acls(r.ACL), r.ParentCVersion)
	case *jute.CreateTTLTxn:
		return fmt.Sprintf("%s ttl=%dms data=%q acl=%s parentCVersion=%d", r.Path, r.TTL, r.Data, acls(r.ACL), r.ParentCVersion)
	case *jute.DeleteTxn:
		return r.Path
	case *jute.SetDataTxn:
		return fmt.Sprintf("%s data=%q version=%d", r.Path, r.Data, r.Version)
	case *jute.SetACLTxn:
		return fmt.Sprintf("%s acl=%s aversion=%d", r.Path, acls(r.ACL), r.Version)
	case *jute.CheckVersionTxn:
		return fmt.Sprintf("%s version=%d", r.Path, r.Version)
	case *jute.CreateSessionTxn:
		return fmt.Sprintf("timeout=%dms", r.Timeout)
	case *jute.CloseSessionTxn:
		return fmt.Sprintf("ephemerals=%v", r.Paths)
	case *jute.ErrorTxn:
		return r.Err.Error()
	case *jute.MultiTxn:
		parts := make([]string, len(r.Ops))
		for i, op := range r.Ops {
			parts[i] = op.Type.String() + " " + describe(op.Record)
		}
		return "[" + strings.Join(parts, "; ") + "]"
	}
	return ""
}

func acls(list []jute.ACL) string {
	parts := make([]string, len(list))
	for i, a := range list {
		parts[i] = fmt.Sprintf("%s:%s:%d", a.ID.Scheme, a.ID.ID, a.Perms)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

type txnRecordJSON struct {
	File     string          `json:"file"`
	Offset   int64           `json:"offset"`
	Time     int64           `json:"time"`
	Session  string          `json:"session"`
	Cxid     int32           `json:"cxid"`
	Zxid     string          `json:"zxid"`
	Type     string          `json:"type"`
	Record   jute.Record     `json:"record,omitempty"`
	Digest   *jute.TxnDigest `json:"digest,omitempty"`
	Describe string          `json:"text"`
}

func txnJSON(e storage.Entry) txnRecordJSON {
	h := e.Txn.Header
	return txnRecordJSON{
		File: e.File, Offset: e.Offset, Time: h.Time, Session: h.ClientID.String(), Cxid: h.Cxid,
		Zxid: h.Zxid.String(), Type: h.Type.String(), Record: e.Txn.Record, Digest: e.Txn.Digest,
		Describe: describe(e.Txn.Record),
	}
}

// progress prints "n/total" on stderr when it is a terminal.
type progress struct {
	w       io.Writer
	total   int
	enabled bool
	last    time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok && total > 10000 {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			p.enabled = true
		}
	}
	return p
}

func (p *progress) update(n int) {
	if !p.enabled || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%d/%d (%d%%)", n, p.total, n*100/max(p.total, 1))
}

func (p *progress) done() {
	if p.enabled {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
