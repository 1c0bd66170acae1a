package tree

// allNodes returns every node by path, for tests.
func (t *Tree) allNodes() map[string]*Node {
	out := make(map[string]*Node, t.count)
	t.live().walk(func(path []byte, r *record, _ *parsedBlob) {
		p := string(path)
		if p == "" {
			p = RootPath
		}
		n := t.node(t.find(p))
		out[p] = &n
	})
	return out
}

// childNames returns the names of the children of the node at path.
func (t *Tree) childNames(path string) map[string]struct{} {
	out := make(map[string]struct{})
	if n, ok := t.Get(path); ok {
		for _, c := range t.Children(n) {
			out[c] = struct{}{}
		}
	}
	return out
}
