package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
)

// runSnapshot implements `zkd snapshot dump|check FILE...`.
func runSnapshot(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: zkd snapshot dump [--json] [--detail] FILE | zkd snapshot check FILES")
	}
	fs := flag.NewFlagSet("snapshot "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	detail := fs.Bool("detail", false, "list every node with its Stat")
	extended := fs.Bool("extended-types", true, "read TTL owners as TTL nodes (zookeeper.extendedTypesEnabled)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("zkd snapshot %s: name at least one snapshot file", args[0])
	}
	switch args[0] {
	case "check":
		bad := false
		for _, f := range fs.Args() {
			_, _, info, err := readSnapshot(f, *extended)
			if err != nil {
				fmt.Fprintf(stdout, "%s: BAD: %v\n", f, err)
				bad = true
				continue
			}
			fmt.Fprintf(stdout, "%s: ok, %d nodes, %d bytes, digest %s\n", f, info.Nodes, info.Size, digestState(info))
		}
		if bad {
			return errors.New("corrupt snapshots found")
		}
		return nil
	case "dump":
		for _, f := range fs.Args() {
			if err := dumpSnapshot(f, *asJSON, *detail, *extended, stdout); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown snapshot command %q (want dump or check)", args[0])
}

func readSnapshot(path string, extended bool) (*tree.Tree, []tree.SessionTimeout, tree.SnapshotInfo, error) {
	zxid := storage.ParseName(filepath.Base(path), storage.SnapshotPrefix)
	if zxid < 0 {
		return nil, nil, tree.SnapshotInfo{}, fmt.Errorf("%s: not a snapshot file name (snapshot.<hex zxid>[.gz|.snappy])", path)
	}
	r, err := storage.OpenSnapshot(storage.OS{}, path)
	if err != nil {
		return nil, nil, tree.SnapshotInfo{}, err
	}
	defer r.Close()
	t, sessions, info, err := tree.ReadSnapshot(r, tree.ReadOptions{Zxid: zxid, ExtendedTypes: extended})
	if err != nil {
		return nil, nil, info, fmt.Errorf("%s: %w", path, err)
	}
	return t, sessions, info, nil
}

func digestState(info tree.SnapshotInfo) string {
	switch {
	case !info.HasDigest || info.DigestZxid == 0:
		return "absent"
	case info.DigestMismatch:
		return fmt.Sprintf("MISMATCH (trailer %d, content %d)", info.Digest, info.TreeDigest)
	case info.DigestZxid == 0 || info.Digest == info.TreeDigest:
		return "matches"
	}
	return fmt.Sprintf("for zxid %v (fuzzy snapshot)", info.DigestZxid)
}

type nodeJSON struct {
	Path string    `json:"path"`
	Data *string   `json:"data,omitempty"`
	Stat jute.Stat `json:"stat"`
	ACL  []string  `json:"acl,omitempty"`
}

type snapshotJSON struct {
	File       string     `json:"file"`
	Zxid       string     `json:"zxid"`
	Nodes      int        `json:"nodes"`
	Ephemerals int        `json:"ephemerals"`
	DataBytes  int64      `json:"approximate_data_size"`
	Sessions   []string   `json:"sessions"`
	Digest     string     `json:"digest"`
	Detail     []nodeJSON `json:"detail,omitempty"`
}

func dumpSnapshot(path string, asJSON, detail, extended bool, stdout io.Writer) error {
	t, sessions, info, err := readSnapshot(path, extended)
	if err != nil {
		return err
	}
	out := snapshotJSON{
		File: path, Zxid: t.LastZxid().String(), Nodes: t.NodeCount(), Ephemerals: t.EphemeralCount(),
		DataBytes: t.ApproximateDataSize(), Digest: digestState(info), Sessions: []string{},
	}
	for _, s := range sessions {
		out.Sessions = append(out.Sessions, fmt.Sprintf("%v timeout=%dms", s.ID, s.Timeout))
	}
	if detail {
		walkTree(t, "/", func(p string, n *tree.Node) {
			nj := nodeJSON{Path: p, Stat: n.PublicStat()}
			if n.Data != nil {
				d := string(n.Data)
				nj.Data = &d
			}
			nj.ACL = aclStrings(n.ACL)
			out.Detail = append(out.Detail, nj)
		})
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "%s\nzxid: %s\nznodes: %d\nephemerals: %d\napproximate data size: %d\ndigest: %s\nsessions: %d\n",
		path, out.Zxid, out.Nodes, out.Ephemerals, out.DataBytes, out.Digest, len(sessions))
	for _, s := range out.Sessions {
		fmt.Fprintf(stdout, "  %s\n", s)
	}
	for _, n := range out.Detail {
		s := n.Stat
		data := "null"
		if n.Data != nil {
			data = fmt.Sprintf("%q", *n.Data)
		}
		fmt.Fprintf(stdout, "%s\n  czxid=%v mzxid=%v pzxid=%v ctime=%d mtime=%d version=%d cversion=%d aversion=%d ephemeralOwner=%#x dataLength=%d numChildren=%d\n  acl=%v data=%s\n",
			n.Path, s.Czxid, s.Mzxid, s.Pzxid, s.Ctime, s.Mtime, s.Version, s.Cversion, s.Aversion, s.EphemeralOwner, s.DataLength, s.NumChildren, n.ACL, truncate(data, 80))
	}
	return nil
}

func walkTree(t *tree.Tree, path string, visit func(string, *tree.Node)) {
	n, ok := t.Get(path)
	if !ok {
		return
	}
	visit(path, &n)
	for _, c := range t.Children(n) {
		if path == "/" {
			walkTree(t, "/"+c, visit)
		} else {
			walkTree(t, path+"/"+c, visit)
		}
	}
}

func aclStrings(list []jute.ACL) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = fmt.Sprintf("%s:%s:%d", a.ID.Scheme, a.ID.ID, a.Perms)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
