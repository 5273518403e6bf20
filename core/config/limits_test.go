package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// nested is a = {b = {b = ... 1}} depth deep: the shape whose memory grew
// with the square of the depth in the TOML library.
func nested(depth int) []byte {
	return []byte("a = " + strings.Repeat("{b=", depth) + "1" + strings.Repeat("}", depth) + "\n")
}

// manySidecars is n [[sidecar]] tables; withPort gives each its own port.
func manySidecars(n int, withPort bool) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "[[sidecar]]\nname = \"s%d\"\n", i)
		if withPort {
			fmt.Fprintf(&b, "port = %d\n", 10000+i%50000)
		}
	}
	return b.Bytes()
}

// The 80 KB nested file is refused by the depth limit, with its line,
// before the library parses it; the everyday file is then set aside so
// the next launch starts from the defaults.
func TestDeepNestingRefused(t *testing.T) {
	data := nested(80 << 10 / 4)
	_, err := Parse("x.toml", data)
	var e *Error
	if !errors.As(err, &e) || e.Line != 1 || !strings.Contains(err.Error(), fmt.Sprintf("nested more than %d deep", MaxDepth)) {
		t.Fatalf("err = %v", err)
	}
	// Just under the limit is still parsed (and refused as an unknown key).
	_, err = Parse("x.toml", nested(MaxDepth-2))
	wantErr(t, err, `unknown key "a"`)

	path := writeTemp(t, string(data))
	st, err := Open(path, true)
	var ce *CorruptError
	if !errors.As(err, &ce) || !reflect.DeepEqual(st.Config(), Defaults()) {
		t.Fatalf("Open = %v", err)
	}
	if st, err := Open(path, true); err != nil || !reflect.DeepEqual(st.Config(), Defaults()) {
		t.Errorf("the next launch: %v", err)
	}
	for _, src := range [][]byte{[]byte(strings.Repeat("a.", 5000) + "b = 1\n"), []byte("[" + strings.Repeat("a.", 5000) + "b]\n"),
		[]byte("a = " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n")} {
		if _, err := Parse("x.toml", src); !errors.As(err, &e) || !strings.Contains(err.Error(), "nested more than") {
			t.Errorf("%.20s...: %v", src, err)
		}
	}
}

// TestLoaderRSS measures the peak memory of a process that loads the
// hostile files (Linux: VmHWM). The bound is memory, not time.
func TestLoaderRSS(t *testing.T) {
	if path := os.Getenv("OUTRIGGER_TEST_LOAD"); path != "" {
		_, _, err := Load(path)
		status, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(status), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
				fmt.Printf("loaded: %d bytes of error; peak %s kB\n", len(fmt.Sprint(err)), f[1])
			}
		}
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// The bound is 100 MB for the nested file; the largest file
	// allowed, full of sidecars, is a real load (about 40 MB, twice that
	// under the race detector).
	for name, tc := range map[string]struct {
		data  []byte
		bound int64
	}{
		"nested 80KB":    {nested(80 << 10 / 4), 100 << 20},
		"nested 2MB":     {nested(2 << 20 / 4), 100 << 20},
		"5MB huge value": {[]byte("mode = \"" + strings.Repeat("x", 5<<20) + "\"\n"), 100 << 20},
		"1MiB sidecars":  {manySidecars(MaxFileSize/30, false)[:MaxFileSize-64], 250 << 20},
	} {
		data := tc.data
		path := writeTemp(t, string(data))
		exe, _ := os.Executable()
		c := exec.Command(exe, "-test.run=^TestLoaderRSS$")
		c.Env = append(os.Environ(), "OUTRIGGER_TEST_LOAD="+path)
		out, err := c.Output()
		_, kb, ok := strings.Cut(string(out), "peak ")
		kb, _, _ = strings.Cut(kb, " kB")
		n, cerr := strconv.Atoi(kb)
		if err != nil || !ok || cerr != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		rss := int64(n) << 10
		t.Logf("%s: peak RSS %d MB", name, rss>>20)
		if rss > tc.bound {
			t.Errorf("%s: peak RSS %d MB, want under %d MB", name, rss>>20, tc.bound>>20)
		}
	}
}

// Many [[sidecar]] tables are handled in linear time (a map per name), and
// the error stays small however many problems there are.
func TestManySidecars(t *testing.T) {
	const n = 20000
	c, _, err := load("x.toml", manySidecars(n, true))
	if err == nil || !strings.Contains(err.Error(), "already the port") {
		// ports repeat every 50 000: none here, so it must load
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(c.Sidecars) != n+2 {
		t.Errorf("%d sidecars", len(c.Sidecars))
	}
	_, _, err = load("x.toml", manySidecars(n, false))
	if err == nil || len(err.Error()) > 20<<10 || !strings.Contains(err.Error(), fmt.Sprintf("and %d more problems", n-MaxErrors)) {
		t.Fatalf("error of %d bytes: %.300s", len(fmt.Sprint(err)), err)
	}
	big := bytes.Repeat([]byte("x"), MaxFileSize+1)
	_, err = Parse("x.toml", big)
	wantErr(t, err, "x.toml: is ", "more than the")
	_, err = Parse("x.toml", []byte("mode = \""+strings.Repeat("é", 300000)+"\"\n"))
	if err == nil || len(err.Error()) > 1024 {
		t.Errorf("a huge bad value is quoted whole: %d bytes", len(fmt.Sprint(err)))
	}
}

// BenchmarkManySidecars: valid files (each with a port) and refused ones
// (no port: one problem per table), up to the size limit. Time per table
// stays flat; before the map per name, 10 000 valid tables took 0.58 s
// and 30 000 took 5 s.
func BenchmarkManySidecars(b *testing.B) {
	for _, withPort := range []bool{true, false} {
		for _, n := range []int{1000, 10000, 25000} {
			data := manySidecars(n, withPort)
			b.Run(fmt.Sprintf("port=%v/%d", withPort, n), func(b *testing.B) {
				for b.Loop() {
					_, _, _ = load("x.toml", data)
				}
			})
		}
	}
}

func BenchmarkNested80KB(b *testing.B) {
	data := nested(80 << 10 / 4)
	for b.Loop() {
		_, _ = Parse("x.toml", data)
	}
}

// FuzzLoad: the loader never panics; every error it returns names a line,
// or says why it cannot; what it accepts survives Marshal → Parse.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte("mode = \"standalone\"\n[[sidecar]]\nname = \"a\"\nport = 1\nenv = { \"x y\" = \"\\u00e9\\n\" }\n"))
	f.Add([]byte("sidecar = [{ name = \"a\", port = 2, restart = { jitter = 0.5 } }]\n"))
	f.Add([]byte("[[sidecar]]\nname = \"a\"\nport = 3\n[sidecar.liveness]\nperiod = \"1s\"\n[sidecar.env]\nK = 1\n"))
	f.Add(nested(MaxDepth - 1))
	f.Add(nested(MaxDepth + 1))
	f.Add(manySidecars(50, false))
	f.Add([]byte("mode = \"" + strings.Repeat("x", 500) + "\"\n"))
	// The files the e2e run and the mode tests write, and one the app saved.
	f.Add([]byte("mode = \"service\"\n\n[[sidecar]]\nname = \"xgen-workflow\"\nport = 18001\n\n[[sidecar]]\nname = \"xgen-embedding\"\nport = 18002\n"))
	f.Add([]byte("# my settings\nmode = \"standalone\"\nservice = \"svc\"\n\n[[sidecar]]\nname = \"xgen-workflow\"\nenabled = false\n\n" +
		"[[sidecar]]\nname = \"svc\"\nport = 9001\ndepends_on = [\"dep\"]\nstop_timeout = \"3s\"\nliveness = { disabled = true }\n\n" +
		"[[sidecar]]\nname = \"dep\"\nport = 9002\n"))
	if saved, err := Marshal(fullFile()); err == nil {
		f.Add(saved)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("f.toml", src)
		if err != nil {
			for _, e := range flatten(err) {
				var ce *Error
				if !errors.As(e, &ce) {
					t.Fatalf("not a config.Error: %v", e)
				}
				if ce.Line == 0 && !strings.Contains(ce.Msg, "not read") && !strings.Contains(ce.Msg, "not written in the file") &&
					!strings.Contains(ce.Msg, "more problems") {
					t.Fatalf("no line and no reason: %q\n%q", ce, src)
				}
			}
			return
		}
		data, err := Marshal(file)
		if err != nil {
			return
		}
		back, err := Parse("f.toml", data)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(file, back) {
			t.Fatalf("round trip differs\n%#v\n%#v\n%s", file, back, data)
		}
	})
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
