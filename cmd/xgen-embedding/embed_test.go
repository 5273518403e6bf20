package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEmbedDeterministicGolden(t *testing.T) {
	// Pinned values, cross-checked against an independent Python
	// implementation of the same recipe: a change here breaks every stored
	// vector, so it must be deliberate.
	want := []float32{-0.05312118, -0.08447067, 0.07559097, 0.070387304}
	got := Embed("hello world", 384)
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("Embed(hello world)[%d] = %v, want %v", i, got[i], w)
		}
	}
	again := Embed("hello world", 384)
	for i := range got {
		if got[i] != again[i] {
			t.Fatalf("not deterministic at %d", i)
		}
	}
}

func TestEmbedNormalisedAndDistinct(t *testing.T) {
	for _, dim := range []int{1, 3, 8, 9, 384, 4096} {
		for _, text := range []string{"a", "hello world", strings.Repeat("long ", 1000), "유니코드"} {
			v := Embed(text, dim)
			if len(v) != dim {
				t.Fatalf("len %d, want %d", len(v), dim)
			}
			var sum float64
			for _, x := range v {
				if x < -1 || x > 1 || math.IsNaN(float64(x)) {
					t.Fatalf("component %v out of range", x)
				}
				sum += float64(x) * float64(x)
			}
			if math.Abs(math.Sqrt(sum)-1) > 1e-5 {
				t.Errorf("dim %d %q: norm %v", dim, text[:min(len(text), 10)], math.Sqrt(sum))
			}
		}
	}
	a, b := Embed("cat", 384), Embed("cats", 384)
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	if dot > 0.5 {
		t.Errorf("different texts too similar: cosine %v", dot)
	}
}

func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newHandler(config{dim: 384}, log.New(io.Discard, "", 0)))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func embedOK(t *testing.T, srv *httptest.Server, body string) embedResponse {
	t.Helper()
	code, b := call(t, srv, "POST", "/embed", body)
	if code != 200 {
		t.Fatalf("POST /embed %s = %d %s", body, code, b)
	}
	var r embedResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEmbedEndpoint(t *testing.T) {
	srv := testServer(t)
	one := embedOK(t, srv, `{"input":"hello world"}`)
	if one.Model != modelName || one.Dim != 384 || len(one.Data) != 1 || len(one.Data[0].Embedding) != 384 {
		t.Fatalf("single: model %q dim %d, %d items", one.Model, one.Dim, len(one.Data))
	}
	// JSON round trip keeps float32 values exact.
	want := Embed("hello world", 384)
	for i, x := range one.Data[0].Embedding {
		if x != want[i] {
			t.Fatalf("component %d: %v over HTTP, %v direct", i, x, want[i])
		}
	}

	batch := embedOK(t, srv, `{"input":["a","hello world","a"],"dim":16}`)
	if batch.Dim != 16 || len(batch.Data) != 3 {
		t.Fatalf("batch: dim %d, %d items", batch.Dim, len(batch.Data))
	}
	for i, d := range batch.Data {
		if d.Index != i || len(d.Embedding) != 16 {
			t.Errorf("item %d: index %d len %d", i, d.Index, len(d.Embedding))
		}
	}
	for i := range 16 {
		if batch.Data[0].Embedding[i] != batch.Data[2].Embedding[i] {
			t.Fatal("same text in one batch gave different vectors")
		}
	}
	// The reply is written a vector at a time, byte for byte what encoding
	// the whole embedResponse gives.
	code, b := call(t, srv, "POST", "/embed", `{"input":["x","y"],"dim":3}`)
	var whole bytes.Buffer
	json.NewEncoder(&whole).Encode(embedResponse{Model: modelName, Dim: 3, Data: []embedding{{0, Embed("x", 3)}, {1, Embed("y", 3)}}})
	if code != 200 || string(b) != whole.String() {
		t.Fatalf("streamed reply %d %s, want %s", code, b, whole.String())
	}
	// The largest reply allowed: exactly maxValues numbers.
	if big := embedOK(t, srv, `{"input":[`+strings.Repeat(`"a",`, maxValues/512-1)+`"a"],"dim":512}`); len(big.Data)*big.Dim != maxValues {
		t.Fatalf("%d × %d, want %d numbers", len(big.Data), big.Dim, maxValues)
	}
}

func TestEmbedErrors(t *testing.T) {
	srv := testServer(t)
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"bad json", "POST", "/embed", `{"input":`, 400},
		{"not an object", "POST", "/embed", `[1,2]`, 400},
		{"trailing data", "POST", "/embed", `{"input":"a"} {}`, 400},
		{"no input", "POST", "/embed", `{}`, 400},
		{"null input", "POST", "/embed", `{"input":null}`, 400},
		{"empty string", "POST", "/embed", `{"input":""}`, 400},
		{"empty array", "POST", "/embed", `{"input":[]}`, 400},
		{"empty element", "POST", "/embed", `{"input":["a",""]}`, 400},
		{"numbers", "POST", "/embed", `{"input":[1,2]}`, 400},
		{"dim zero", "POST", "/embed", `{"input":"a","dim":0}`, 400},
		{"dim too big", "POST", "/embed", `{"input":"a","dim":4097}`, 400},
		{"dim not int", "POST", "/embed", `{"input":"a","dim":1.5}`, 400},
		{"too many", "POST", "/embed", `{"input":[` + strings.Repeat(`"a",`, maxInputs) + `"a"]}`, 400},
		{"too large", "POST", "/embed", `{"input":"` + strings.Repeat("x", maxBody) + `"}`, 413},
		{"reply too large", "POST", "/embed", `{"input":[` + strings.Repeat(`"a",`, maxInputs-1) + `"a"],"dim":4096}`, 413},
		{"reply one over", "POST", "/embed", `{"input":[` + strings.Repeat(`"a",`, maxValues/512) + `"a"],"dim":512}`, 413},
		{"invalid utf-8", "POST", "/embed", "{\"input\":\"a\xff\"}", 400},
		{"invalid utf-8 in list", "POST", "/embed", "{\"input\":[\"\xfe\",\"\xff\"]}", 400},
		{"lone surrogate", "POST", "/embed", `{"input":"\ud800"}`, 400},
		{"get embed", "GET", "/embed", "", 405},
		{"post health", "POST", "/health", "", 405},
		{"unknown path", "GET", "/nope", "", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, b := call(t, srv, c.method, c.path, c.body)
			if code != c.want {
				t.Fatalf("%s %s = %d %s, want %d", c.method, c.path, code, b, c.want)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
				t.Errorf("error body %q is not JSON {\"error\":...}", b)
			}
		})
	}
}

func TestInfoEndpoints(t *testing.T) {
	srv := testServer(t)
	code, b := call(t, srv, "GET", "/health", "")
	var h struct {
		Status, Model string
		Dim           int
	}
	if err := json.Unmarshal(b, &h); code != 200 || err != nil || h.Status != "ok" || h.Model != modelName || h.Dim != 384 {
		t.Errorf("/health = %d %s", code, b)
	}
	if code, b := call(t, srv, "GET", "/docs", ""); code != 200 || !strings.Contains(string(b), "POST /embed") {
		t.Errorf("/docs = %d %.100s", code, b)
	}
	var info map[string]any
	if code, b := call(t, srv, "GET", "/", ""); code != 200 || json.Unmarshal(b, &info) != nil || info["service"] != "xgen-embedding" {
		t.Errorf("/ = %d %s", code, b)
	}
}

func TestLoadConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := loadConfig(env(nil))
	if err != nil || c.host != "127.0.0.1" || c.port != 8002 || c.dim != 384 || c.loadDelay != 0 {
		t.Errorf("defaults: %+v %v", c, err)
	}
	c, err = loadConfig(env(map[string]string{"APP_HOST": "0.0.0.0", "APP_PORT": "9000", "MODEL_LOAD_SECONDS": "1.5", "EMBEDDING_DIM": "8"}))
	if err != nil || c.host != "0.0.0.0" || c.port != 9000 || c.dim != 8 || c.loadDelay.Milliseconds() != 1500 {
		t.Errorf("set: %+v %v", c, err)
	}
	for _, bad := range []map[string]string{
		{"APP_PORT": "x"}, {"APP_PORT": "70000"}, {"MODEL_LOAD_SECONDS": "-1"},
		{"MODEL_LOAD_SECONDS": "soon"}, {"EMBEDDING_DIM": "0"}, {"EMBEDDING_DIM": "5000"},
	} {
		if _, err := loadConfig(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
