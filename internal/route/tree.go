package route

import (
	"bytes"
	"strings"
)

// tree is a radix tree of keys, built once. A lookup walks a request path down
// the tree once and then visits every key that is a prefix of the path,
// longest first, through each node's link to its nearest keyed ancestor.
type tree struct {
	nodes []node // nodes[0] is the root, key ""
}

type node struct {
	label  string  // edge label from the parent
	firsts []byte  // first byte of each child's label
	kids   []int32 // children, parallel to firsts
	vals   []int32 // values stored under this node's key; empty if it is no key
	up     int32   // nearest proper ancestor holding a key, or -1
	depth  int     // length of this node's key
}

// add stores v under key.
func (t *tree) add(key string, v int32) {
	if len(t.nodes) == 0 {
		t.nodes = append(t.nodes, node{up: -1})
	}
	n, pos := int32(0), 0
	for pos < len(key) {
		k := bytes.IndexByte(t.nodes[n].firsts, key[pos])
		if k < 0 {
			c := int32(len(t.nodes))
			t.nodes = append(t.nodes, node{label: key[pos:]})
			t.nodes[n].firsts = append(t.nodes[n].firsts, key[pos])
			t.nodes[n].kids = append(t.nodes[n].kids, c)
			n, pos = c, len(key)
			break
		}
		c := t.nodes[n].kids[k]
		lab := t.nodes[c].label
		m := commonPrefix(lab, key[pos:])
		if m < len(lab) {
			// Split the edge: a new node takes the common part.
			mid := int32(len(t.nodes))
			t.nodes = append(t.nodes, node{label: lab[:m], firsts: []byte{lab[m]}, kids: []int32{c}})
			t.nodes[c].label = lab[m:]
			t.nodes[n].kids[k] = mid
			c = mid
		}
		n, pos = c, pos+m
	}
	t.nodes[n].vals = append(t.nodes[n].vals, v)
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// finish sets depth and up on every node; call it after the last add.
func (t *tree) finish() {
	if len(t.nodes) == 0 {
		return
	}
	stack := []int32{0}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nd := &t.nodes[n]
		up := nd.up
		if len(nd.vals) > 0 {
			up = n
		}
		for _, c := range nd.kids {
			t.nodes[c].depth = nd.depth + len(t.nodes[c].label)
			t.nodes[c].up = up
			stack = append(stack, c)
		}
	}
}

// longest returns the node of the longest key that is a prefix of path, or -1.
// Shorter such keys follow through up.
func (t *tree) longest(path string) int32 {
	if len(t.nodes) == 0 {
		return -1
	}
	n, pos, last := int32(0), 0, int32(-1)
	for {
		nd := &t.nodes[n]
		if len(nd.vals) > 0 {
			last = n
		}
		if pos == len(path) {
			return last
		}
		k := bytes.IndexByte(nd.firsts, path[pos])
		if k < 0 {
			return last
		}
		c := nd.kids[k]
		lab := t.nodes[c].label
		if !strings.HasPrefix(path[pos:], lab) {
			return last
		}
		n, pos = c, pos+len(lab)
	}
}
