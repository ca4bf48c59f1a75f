package httpsyntax

import (
	"path"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	const refused = "\x00refused"
	for _, c := range []struct{ in, want string }{
		// Unchanged: returned as they are.
		{"/", "/"},
		{"/release/users/42", "/release/users/42"},
		{"/a//b", "/a//b"}, // repeated slashes stay
		{"//", "//"},
		{"/a/b/", "/a/b/"},
		{"/a.b/.c/..d/...", "/a.b/.c/..d/..."},
		{"", ""},
		{"*", "*"},

		// Unreserved escapes decoded, in either case.
		{"/%66iles", "/files"},
		{"/%41%5a%61%7A%30%39%2D%2E%5F%7E", "/AZaz09-._~"},
		{"/%7e%7E%5f%2d", "/~~_-"},

		// Other escapes kept as sent, hex case included.
		{"/a%20b", "/a%20b"},
		{"/a%3Fb%3fc", "/a%3Fb%3fc"},
		{"/%e4%b8%AD", "/%e4%b8%AD"},
		{"/%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%40", "/%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%40"},
		{"/a/%25", "/a/%25"},
		{"/a/%252e", "/a/%252e"}, // one decoding only: %25 is '%', not the start of %2e
		{"/a%25%32%66", "/a%252f"},

		// Escapes of '/', '\' and NUL refuse the path.
		{"/a%2fb", refused},
		{"/a%2Fb", refused},
		{"/a%5cb", refused},
		{"/a%5Cb", refused},
		{"/a%00b", refused},
		{"/files/..%2f..%2fetc/passwd", refused},
		{"/a/%2e%2e%2fb", refused},
		{"/a/%2e%2e%5c", refused},
		{"/a/%00/../b", refused}, // NUL anywhere
		// ... unless the escape of '/' or '\' goes with a segment that ".." removes.
		{"/a/%2F/../b", "/a/b"},
		{"/a%2fb/../c", "/c"},
		{"/a/%5c/../b", "/a/b"},

		// Dot-segments, RFC 3986 section 5.2.4.
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/../x", "/x"},
		{"/../../release/x", "/release/x"},
		{"/release/../test/x", "/test/x"},
		{"/a/b/..", "/a/"},
		{"/a/b/.", "/a/b/"},
		{"/a/..", "/"},
		{"/..", "/"},
		{"/.", "/"},
		{"/a/b/../../..", "/"},
		{"/a//../b", "/a/b"}, // ".." drops the empty segment
		{"/a/.//b", "/a//b"},
		{"/a;b/../c", "/c"},
		{"/files/../../etc/passwd", "/etc/passwd"},
		{"/a/%2e%2e/b", "/b"},
		{"/a/%2E%2e/b", "/b"},
		{"/a/.%2e/b", "/b"},
		{"/a/%2e/b", "/a/b"},
		{"/a%2E%2E", "/a.."},
		{"/a%2e.%2E/b", "/a.../b"},
		{"/mg/5.2.4/./a/../b/c/./../../g", "/mg/5.2.4/g"},

		// A literal backslash is a slash.
		{"/a\\b", "/a/b"},
		{"/a/..\\b", "/b"},
		{"\\..\\x", "/x"},

		// Relative paths (no leading '/'), as the RFC has them.
		{"../a", "a"},
		{"./a", "a"},
		{".", ""},
		{"..", ""},
		{"a/../b", "/b"},
		{"a/b/../c", "a/c"},

		// A '%' that starts no escape stays...
		{"/a%zz", "/a%zz"},
		{"/a%", "/a%"},
		{"/a%2", "/a%2"},
		{"/a%2%2e", "/a%2."},
		{"/a/x%/../b", "/a/b"},
		{"/a%%%34%31", "/a%%2541"},
		// ... but never makes a new escape out of decoded characters.
		{"/a%%32%66", "/a%252f"},
		{"/a%%32e", "/a%252e"},
		{"/a%2%66", "/a%252f"},
		{"/a%%41%42", "/a%25AB"},
		{"/a%%34%31", "/a%2541"},
		{"/%%32%65%%32%65/x", "/%252e%252e/x"},
	} {
		got, ok := NormalizePath(c.in)
		if !ok {
			got = refused
		}
		if got != c.want {
			t.Errorf("NormalizePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizePathDoesNotAllocateWhenNormal(t *testing.T) {
	for _, p := range []string{"/release/users/42/orders", "/a.b/.c/...", "/"} {
		if n := testing.AllocsPerRun(100, func() { NormalizePath(p) }); n != 0 {
			t.Errorf("NormalizePath(%q): %v allocations", p, n)
		}
	}
}

func BenchmarkNormalizePath(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"normal", "/release/users/12345/orders/67890"},
		{"escapes", "/release/users/%41%42/orders/%20x"},
		{"dots", "/release/users/../files/./a/b/../c"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NormalizePath(c.path)
			}
		})
	}
}

// rfcRemoveDotSegments is RFC 3986 section 5.2.4 word for word, with an input and an output
// buffer: the independent implementation the fuzz tests compare removeDotSegments with.
func rfcRemoveDotSegments(in string) string {
	var out strings.Builder
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"): // A
			in = in[3:]
		case strings.HasPrefix(in, "./"): // A
			in = in[2:]
		case strings.HasPrefix(in, "/./"): // B
			in = in[2:]
		case in == "/.": // B
			in = "/"
		case strings.HasPrefix(in, "/../") || in == "/..": // C
			if in == "/.." {
				in = "/"
			} else {
				in = in[3:]
			}
			o := out.String()
			o = o[:max(strings.LastIndexByte(o, '/'), 0)]
			out.Reset()
			out.WriteString(o)
		case in == "." || in == "..": // D
			in = ""
		default: // E
			i := strings.IndexByte(in[1:], '/') + 1
			if i == 0 {
				i = len(in)
			}
			out.WriteString(in[:i])
			in = in[i:]
		}
	}
	return out.String()
}

// escapes returns the values of the %-escapes of a normalized path, read from the left.
func escapes(p string) []byte {
	var vs []byte
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			vs = append(vs, unhex(p[i+1])<<4|unhex(p[i+2]))
			i += 2
		}
	}
	return vs
}

func addSeeds(f *testing.F) {
	for _, s := range []string{
		"/release/users/42", "/files/../../etc/passwd", "/files/..%2f..%2fetc/passwd", "/a/%2e%2e/b",
		"/a%%32%66", "/a%2%66", "/%%32%65%%32%65/x", "a/../b", "../a", "/a//../b", "/a\\..\\b", "/a%zz%",
		"/a/%2F/../b", "/%41%7e/./%00", "/mg/5.2.4/./a/../b/c/./../../g",
	} {
		f.Add(s)
	}
}

// FuzzNormalizePath checks the properties every result has: a fixed point, no dot-segment, no
// escape that decoding would change or that stands for '/', '\' or NUL, no '\'; and, for paths
// without '%' or '\', the result of the RFC's own algorithm.
func FuzzNormalizePath(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, p string) {
		out, ok := NormalizePath(p)
		if !ok {
			if !strings.Contains(p, "%") {
				t.Fatalf("%q refused without an escape", p)
			}
			return
		}
		if again, ok := NormalizePath(out); !ok || again != out {
			t.Fatalf("not a fixed point: %q -> %q -> %q (%v)", p, out, again, ok)
		}
		for _, seg := range strings.Split(out, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q -> %q has a dot-segment", p, out)
			}
		}
		for _, v := range escapes(out) {
			if v == '/' || v == '\\' || v == 0 || isUnreserved(v) {
				t.Fatalf("%q -> %q keeps an escape of %q", p, out, v)
			}
		}
		if strings.Contains(out, "\\") {
			t.Fatalf("%q -> %q keeps a backslash", p, out)
		}
		if len(out) > len(p) {
			t.Fatalf("%q -> %q grew", p, out)
		}
		if !strings.ContainsAny(p, "%\\") {
			if want := rfcRemoveDotSegments(p); out != want {
				t.Fatalf("%q -> %q, RFC 3986 5.2.4 says %q", p, out, want)
			}
		}
	})
}

// FuzzNormalizePathAgainstClean compares NormalizePath with path.Clean on the paths where
// RFC 3986 dot-segment removal and Clean agree: rooted paths of unreserved characters (so that
// decoding has nothing to do) with no empty segment (Clean merges "//", the RFC keeps it) and
// whose last segment is neither empty nor "." nor ".." (the RFC keeps a trailing '/' there,
// Clean drops it). "/" itself is in the domain. The fuzz input is mapped into that domain: its
// bytes pick from a small alphabet heavy in dots and slashes, then empty segments are dropped
// and a dot-segment at the end gets a segment after it.
func FuzzNormalizePathAgainstClean(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, raw string) {
		const alphabet = "..//ab-_~.Z9"
		var mapped strings.Builder
		for i := 0; i < len(raw); i++ {
			mapped.WriteByte(alphabet[int(raw[i])%len(alphabet)])
		}
		var segs []string
		for _, s := range strings.Split(mapped.String(), "/") {
			if s != "" {
				segs = append(segs, s)
			}
		}
		if n := len(segs); n > 0 && (segs[n-1] == "." || segs[n-1] == "..") {
			segs = append(segs, "x")
		}
		p := "/" + strings.Join(segs, "/")
		out, ok := NormalizePath(p)
		if want := path.Clean(p); !ok || out != want {
			t.Fatalf("NormalizePath(%q) = %q %v, path.Clean says %q", p, out, ok, want)
		}
	})
}
