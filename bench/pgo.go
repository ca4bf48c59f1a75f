package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// pgoMain records the profile that profile-guided optimization builds the module with: the
// request path of (b) and (c) (plugin's BenchmarkRequest: every callback of the request on a
// host that costs next to nothing), natively, into plugin/default.pgo, where go build finds it
// for the module (-pgo=auto uses default.pgo of the main package's folder).
//
// In that benchmark the plugin is the package under test, so its functions are named by import
// path; in the module they are package main's. The profile's names are rewritten to match, or
// the compiler would find no profile for the plugin's own code.
func pgoMain(args []string) error {
	fs := flag.NewFlagSet("pgo", flag.ExitOnError)
	out := fs.String("o", "plugin/default.pgo", "profile to write")
	benchtime := fs.String("benchtime", "5s", "length of each benchmark (b and c)")
	fs.Parse(args)
	dir, err := os.MkdirTemp("", "apigw-pgo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	raw := filepath.Join(dir, "cpu.prof")
	// -pgo=off: the profile must not depend on the one it replaces.
	cmd := exec.Command("go", "test", "-pgo=off", "-run", "^$", "-bench", "^BenchmarkRequest$", "-benchtime", *benchtime,
		"-cpuprofile", raw, "-o", filepath.Join(dir, "plugin.test"), "./plugin")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go test: %v", err)
	}
	prof, err := os.ReadFile(raw)
	if err != nil {
		return err
	}
	const pluginPkg = "github.com/apigw-wasm/apigw-wasm/plugin."
	renamed, n, err := renameProfileFunctions(prof, pluginPkg, "main.")
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no function of %s in the profile", strings.TrimSuffix(pluginPkg, "."))
	}
	if err := os.WriteFile(*out, renamed, 0o644); err != nil {
		return err
	}
	logf("wrote %s (%d bytes; %d names of the plugin renamed to package main)", *out, len(renamed), n)
	return nil
}

// renameProfileFunctions replaces the prefix from with to in every string of a pprof profile's
// string table (field 6 of the Profile message, where function and file names live) and
// returns the profile gzipped, with the number of strings changed. Other fields are copied as
// they are.
func renameProfileFunctions(prof []byte, from, to string) ([]byte, int, error) {
	if zr, err := gzip.NewReader(bytes.NewReader(prof)); err == nil {
		if prof, err = io.ReadAll(zr); err != nil {
			return nil, 0, err
		}
	}
	var out []byte
	n := 0
	for b := prof; len(b) > 0; {
		key, kn := binary.Uvarint(b)
		if kn <= 0 {
			return nil, 0, errors.New("profile: bad field key")
		}
		field, wire := key>>3, key&7
		var size int
		switch wire {
		case 0:
			_, vn := binary.Uvarint(b[kn:])
			if vn <= 0 {
				return nil, 0, errors.New("profile: bad varint")
			}
			size = kn + vn
		case 1:
			size = kn + 8
		case 5:
			size = kn + 4
		case 2:
			l, ln := binary.Uvarint(b[kn:])
			if ln <= 0 || uint64(len(b)-kn-ln) < l {
				return nil, 0, errors.New("profile: bad length")
			}
			size = kn + ln + int(l)
			if s := string(b[kn+ln : size]); field == 6 && strings.HasPrefix(s, from) {
				s = to + s[len(from):]
				out = binary.AppendUvarint(out, key)
				out = binary.AppendUvarint(out, uint64(len(s)))
				out = append(out, s...)
				b = b[size:]
				n++
				continue
			}
		default:
			return nil, 0, fmt.Errorf("profile: wire type %d", wire)
		}
		if size > len(b) {
			return nil, 0, errors.New("profile: truncated")
		}
		out = append(out, b[:size]...)
		b = b[size:]
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(out)
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	return z.Bytes(), n, nil
}
