package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"strings"

	"outrigger/internal/workflow/jsoncheck"
)

// Embed returns a deterministic unit vector of length dim for text: the
// same text gives the same vector on every run and machine. The bytes come
// from SHA-256(counter || text) for counter = 0, 1, 2, ... (big-endian
// uint32), read as big-endian uint32 words, each mapped linearly onto
// [-1, 1]; the result is L2-normalised. Arithmetic is float64 with explicit
// conversions, which forbid the compiler from fusing multiply-adds (it may
// do so on arm64 otherwise), so results are bit-identical across
// architectures.
func Embed(text string, dim int) []float32 {
	raw := make([]float64, dim)
	buf := make([]byte, 4+len(text))
	copy(buf[4:], text)
	var sum [sha256.Size]byte
	for i := range raw {
		if i%8 == 0 { // 32 bytes = 8 words per hash
			binary.BigEndian.PutUint32(buf, uint32(i/8))
			sum = sha256.Sum256(buf)
		}
		u := binary.BigEndian.Uint32(sum[(i%8)*4:])
		raw[i] = float64(float64(u)/math.MaxUint32*2) - 1
	}
	var norm float64
	for _, v := range raw {
		norm += float64(v * v)
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dim)
	for i, v := range raw {
		if norm > 0 {
			v /= norm
		}
		out[i] = float32(v)
	}
	return out
}

type embedRequest struct {
	Input json.RawMessage `json:"input"`
	Dim   *int            `json:"dim"`
}

type embedding struct {
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

type embedResponse struct {
	Model string      `json:"model"`
	Dim   int         `json:"dim"`
	Data  []embedding `json:"data"`
}

func newHandler(cfg config, logger *log.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/health", only("GET", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "model": modelName, "dim": cfg.dim})
	}))
	mux.Handle("/docs", only("GET", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, docsHTML, modelName, cfg.dim, maxDim, maxInputs, maxBody, maxValues)
	}))
	mux.Handle("/embed", only("POST", func(w http.ResponseWriter, r *http.Request) {
		handleEmbed(w, r, cfg.dim, logger)
	}))
	mux.Handle("/{$}", only("GET", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"service":   "xgen-embedding",
			"stand_in":  true,
			"version":   version,
			"model":     modelName,
			"dim":       cfg.dim,
			"endpoints": []string{"GET /health", "GET /docs", "POST /embed"},
		})
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return mux
}

// only answers 405 with a JSON body (rather than the mux's plain text) for
// any other method; GET also allows HEAD.
func only(method string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == "GET" && r.Method == "HEAD") {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+method)
			return
		}
		h(w, r)
	})
}

func handleEmbed(w http.ResponseWriter, r *http.Request, defaultDim int, logger *log.Logger) {
	texts, dim, status, err := parseEmbed(http.MaxBytesReader(w, r.Body, maxBody), defaultDim)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	if err := writeEmbeddings(w, texts, dim); err != nil {
		logger.Printf("reply to %s not delivered (client not reading?): %v", r.RemoteAddr, err)
	}
}

// writeEmbeddings writes the embedResponse for texts one vector at a time,
// so that a request holds one vector and a small buffer, not the whole
// reply (the bytes are those json.Encoder writes for an embedResponse).
func writeEmbeddings(w http.ResponseWriter, texts []string, dim int) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	model, _ := json.Marshal(modelName)
	fmt.Fprintf(bw, `{"model":%s,"dim":%d,"data":[`, model, dim)
	for i, t := range texts {
		if i > 0 {
			bw.WriteByte(',')
		}
		b, err := json.Marshal(embedding{Index: i, Embedding: Embed(t, dim)})
		if err != nil {
			return err
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// parseEmbed validates a request body and returns the texts and dimension,
// or the HTTP status and error to report.
func parseEmbed(body io.Reader, defaultDim int) ([]string, int, int, error) {
	var req embedRequest
	b, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, 0, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over %d bytes", tooBig.Limit)
		}
		return nil, 0, http.StatusBadRequest, fmt.Errorf("reading the body: %v", err)
	}
	// Decoding would turn every invalid sequence into U+FFFD, and so
	// different inputs into one vector: refuse them instead.
	if err := jsoncheck.Text(b); err != nil {
		return nil, 0, http.StatusBadRequest, fmt.Errorf("body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&req); err != nil {
		return nil, 0, http.StatusBadRequest, fmt.Errorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, 0, http.StatusBadRequest, errors.New("invalid JSON: data after the request object")
	}
	dim := defaultDim
	if req.Dim != nil {
		dim = *req.Dim
	}
	if dim < 1 || dim > maxDim {
		return nil, 0, http.StatusBadRequest, fmt.Errorf("dim must be in 1..%d, got %d", maxDim, dim)
	}
	var texts []string
	raw := strings.TrimSpace(string(req.Input))
	switch {
	case raw == "" || raw == "null":
		return nil, 0, http.StatusBadRequest, errors.New(`"input" is required: a string or an array of strings`)
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(req.Input, &s); err != nil {
			return nil, 0, http.StatusBadRequest, fmt.Errorf("input: %v", err)
		}
		texts = []string{s}
	default:
		if err := json.Unmarshal(req.Input, &texts); err != nil {
			return nil, 0, http.StatusBadRequest, errors.New(`"input" must be a string or an array of strings`)
		}
	}
	if len(texts) == 0 {
		return nil, 0, http.StatusBadRequest, errors.New(`"input" is empty`)
	}
	if len(texts) > maxInputs {
		return nil, 0, http.StatusBadRequest, fmt.Errorf(`"input" has %d texts; at most %d per request`, len(texts), maxInputs)
	}
	if len(texts)*dim > maxValues {
		return nil, 0, http.StatusRequestEntityTooLarge, fmt.Errorf(`%d texts × dim %d = %d numbers; at most %d per request (send fewer texts or a smaller dim)`,
			len(texts), dim, len(texts)*dim, maxValues)
	}
	for i, t := range texts {
		if t == "" {
			return nil, 0, http.StatusBadRequest, fmt.Errorf("input[%d] is empty", i)
		}
	}
	return texts, dim, http.StatusOK, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

const docsHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xgen-embedding API</title></head>
<body>
<h1>xgen-embedding</h1>
<p>Outrigger's stand-in for the xgen-embedding service. Model <code>%s</code>:
deterministic hash embeddings (the same text always gives the same unit vector),
default dimension %d.</p>
<h2>GET /health</h2>
<p>200 <code>{"status":"ok","model":...,"dim":...}</code> once the model is loaded
(before that the port is not bound).</p>
<h2>POST /embed</h2>
<p>Body: <code>{"input": "text" | ["a", "b"], "dim": 384}</code>; <code>dim</code> is optional,
1..%d. At most %d texts and %d bytes per request, and at most %d numbers
(texts × dim) per reply (413 beyond). Text must be valid UTF-8 (400 otherwise).</p>
<p>Response: <code>{"model":..., "dim":N, "data":[{"index":0,"embedding":[...]}]}</code>.
Errors are JSON <code>{"error":"..."}</code> with status 400, 405 or 413; requests
whose Host is not loopback, from another browser origin, or with a body that is
not application/json get 403 or 415.</p>
<h2>GET /</h2>
<p>Service information as JSON.</p>
</body></html>
`
