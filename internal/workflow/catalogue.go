package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Node is one step of a planned execution. Run receives the previous node's
// output (the first node receives the workflow's input) and returns its own
// output; it must return promptly once ctx is done.
type Node struct {
	ID  string
	Run func(ctx context.Context, in json.RawMessage) (json.RawMessage, error)
}

// Workflow is a catalogue entry. Plan validates the input and returns the
// nodes to run in order; an error from Plan is the caller's mistake (400).
type Workflow struct {
	Info WorkflowInfo
	Plan func(input json.RawMessage) ([]Node, error)
}

// InputError is a Plan error caused by the request's input.
type InputError struct{ Err error }

func (e *InputError) Error() string { return "invalid input: " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, a ...any) error {
	return &InputError{Err: fmt.Errorf(format, a...)}
}

// decodeInput decodes a workflow input strictly (unknown fields are an error,
// so that a typo is reported rather than ignored).
func decodeInput(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &InputError{Err: err}
	}
	if dec.More() {
		return inputErrorf("trailing data after the input object")
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on values that always marshal
	}
	return b
}

// Limits on the pipeline workflow's input.
const (
	maxPipelineNodes   = 50
	maxPipelineDelayMS = 60_000
	maxTextBytes       = 64 << 10
)

// Builtin returns the built-in catalogue: echo, pipeline and embed.
// embeddingURL is the xgen-embedding base URL; hc is used for its calls
// (nil: a client with a 30 s timeout).
func Builtin(embeddingURL string, hc *http.Client) []Workflow {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return []Workflow{echoWorkflow(), pipelineWorkflow(), embedWorkflow(strings.TrimRight(embeddingURL, "/"), hc)}
}

// ---- echo ----

type echoInput struct {
	Text *string `json:"text"`
	Mode string  `json:"mode"`
}

type textOutput struct {
	Text   string `json:"text"`
	Mode   string `json:"mode,omitempty"`
	Length int    `json:"length"`
}

func echoWorkflow() Workflow {
	return Workflow{
		Info: WorkflowInfo{
			ID:          "echo",
			Description: "Transforms text in one node: uppercase, reverse, or both.",
			Nodes:       []NodeInfo{{ID: "transform", Description: "applies mode to text"}},
			InputSchema: json.RawMessage(`{"type":"object","required":["text"],"additionalProperties":false,` +
				`"properties":{"text":{"type":"string","maxLength":65536},` +
				`"mode":{"type":"string","enum":["upper","reverse","both"],"default":"upper"}}}`),
			ExampleInput: json.RawMessage(`{"text":"hello outrigger","mode":"upper"}`),
		},
		Plan: func(raw json.RawMessage) ([]Node, error) {
			var in echoInput
			if err := decodeInput(raw, &in); err != nil {
				return nil, err
			}
			if in.Text == nil {
				return nil, inputErrorf("text is required")
			}
			if len(*in.Text) > maxTextBytes {
				return nil, inputErrorf("text longer than %d bytes", maxTextBytes)
			}
			switch in.Mode {
			case "":
				in.Mode = "upper"
			case "upper", "reverse", "both":
			default:
				return nil, inputErrorf("mode %q: want upper, reverse or both", in.Mode)
			}
			mode := in.Mode
			return []Node{{ID: "transform", Run: func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
				var in echoInput
				if err := json.Unmarshal(raw, &in); err != nil {
					return nil, err
				}
				var s string
				if in.Text != nil {
					s = *in.Text
				}
				if mode == "upper" || mode == "both" {
					s = strings.ToUpper(s)
				}
				if mode == "reverse" || mode == "both" {
					s = reverse(s)
				}
				return mustJSON(textOutput{Text: s, Mode: mode, Length: utf8.RuneCountInString(s)}), nil
			}}}, nil
		},
	}
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// ---- pipeline ----

type pipelineInput struct {
	Text    string `json:"text"`
	DelayMS *int   `json:"delay_ms"`
	Nodes   *int   `json:"nodes"`
	FailAt  int    `json:"fail_at"`
}

type stepIO struct {
	Text string `json:"text"`
	Step int    `json:"step"`
	Of   int    `json:"of"`
}

func pipelineWorkflow() Workflow {
	return Workflow{
		Info: WorkflowInfo{
			ID: "pipeline",
			Description: "Runs `nodes` steps in order; each waits delay_ms, then appends |i to the text. " +
				"fail_at makes step i fail (to see a failed execution).",
			Nodes:        []NodeInfo{{ID: "step-i", Description: "waits delay_ms, appends |i; repeated `nodes` times as step-1 … step-n"}},
			DynamicNodes: true,
			InputSchema: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{` +
				`"text":{"type":"string","default":""},` +
				`"delay_ms":{"type":"integer","minimum":0,"maximum":60000,"default":200},` +
				`"nodes":{"type":"integer","minimum":1,"maximum":50,"default":3},` +
				`"fail_at":{"type":"integer","minimum":0,"description":"1-based step that fails; 0: none"}}}`),
			ExampleInput: json.RawMessage(`{"text":"go","delay_ms":200,"nodes":3}`),
		},
		Plan: func(raw json.RawMessage) ([]Node, error) {
			var in pipelineInput
			if err := decodeInput(raw, &in); err != nil {
				return nil, err
			}
			delay, n := 200, 3
			if in.DelayMS != nil {
				delay = *in.DelayMS
			}
			if in.Nodes != nil {
				n = *in.Nodes
			}
			if delay < 0 || delay > maxPipelineDelayMS {
				return nil, inputErrorf("delay_ms %d: want 0..%d", delay, maxPipelineDelayMS)
			}
			if n < 1 || n > maxPipelineNodes {
				return nil, inputErrorf("nodes %d: want 1..%d", n, maxPipelineNodes)
			}
			if len(in.Text) > maxTextBytes {
				return nil, inputErrorf("text longer than %d bytes", maxTextBytes)
			}
			d := time.Duration(delay) * time.Millisecond
			nodes := make([]Node, n)
			for i := range nodes {
				step := i + 1
				fail := in.FailAt == step
				nodes[i] = Node{ID: fmt.Sprintf("step-%d", step), Run: func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
					var prev stepIO
					if err := json.Unmarshal(raw, &prev); err != nil {
						return nil, err
					}
					if err := sleepCtx(ctx, d); err != nil {
						return nil, err
					}
					if fail {
						return nil, fmt.Errorf("step %d failed as asked (fail_at)", step)
					}
					return mustJSON(stepIO{Text: fmt.Sprintf("%s|%d", prev.Text, step), Step: step, Of: n}), nil
				}}
			}
			return nodes, nil
		},
	}
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// ---- embed ----

type embedInput struct {
	Text string `json:"text"`
}

// EmbedOutput is the embed workflow's final output.
type EmbedOutput struct {
	Model  string    `json:"model"`
	Dim    int       `json:"dim"`
	Norm   float64   `json:"norm"`
	Prefix []float64 `json:"prefix"`
}

type embedRequest struct {
	Input any `json:"input"`
}

type embedResponse struct {
	Model string `json:"model"`
	Dim   int    `json:"dim"`
	Data  []struct {
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
}

func embedWorkflow(baseURL string, hc *http.Client) Workflow {
	return Workflow{
		Info: WorkflowInfo{
			ID: "embed",
			Description: "Normalises text, then asks the xgen-embedding sidecar (EMBEDDING_URL/embed) " +
				"for its vector; returns model, dim, L2 norm and the first 8 values.",
			Nodes: []NodeInfo{
				{ID: "prepare", Description: "trims and collapses whitespace; rejects empty text"},
				{ID: "embed", Description: "POST EMBEDDING_URL/embed, summarise the vector"},
			},
			InputSchema: json.RawMessage(`{"type":"object","required":["text"],"additionalProperties":false,` +
				`"properties":{"text":{"type":"string","minLength":1,"maxLength":65536}}}`),
			ExampleInput: json.RawMessage(`{"text":"a sentence to embed"}`),
		},
		Plan: func(raw json.RawMessage) ([]Node, error) {
			var in embedInput
			if err := decodeInput(raw, &in); err != nil {
				return nil, err
			}
			if strings.TrimSpace(in.Text) == "" {
				return nil, inputErrorf("text is empty")
			}
			if len(in.Text) > maxTextBytes {
				return nil, inputErrorf("text longer than %d bytes", maxTextBytes)
			}
			return []Node{
				{ID: "prepare", Run: func(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
					var in embedInput
					if err := json.Unmarshal(raw, &in); err != nil {
						return nil, err
					}
					t := strings.Join(strings.Fields(in.Text), " ")
					return mustJSON(textOutput{Text: t, Length: utf8.RuneCountInString(t)}), nil
				}},
				{ID: "embed", Run: func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
					var in textOutput
					if err := json.Unmarshal(raw, &in); err != nil {
						return nil, err
					}
					out, err := callEmbed(ctx, hc, baseURL, in.Text)
					if err != nil {
						return nil, err
					}
					return mustJSON(out), nil
				}},
			}, nil
		},
	}
}

// embedAttempts and embedBackoff: the embedding sidecar may still be loading
// its model (refusing connections or answering 503) when a run starts.
const (
	embedAttempts = 3
	embedBackoff  = 250 * time.Millisecond
)

func callEmbed(ctx context.Context, hc *http.Client, baseURL, text string) (EmbedOutput, error) {
	if baseURL == "" {
		return EmbedOutput{}, errors.New("EMBEDDING_URL is not set")
	}
	var (
		out   EmbedOutput
		err   error
		retry bool
	)
	for attempt := 1; ; attempt++ {
		out, retry, err = embedOnce(ctx, hc, baseURL, text)
		if err == nil || !retry || attempt == embedAttempts {
			return out, err
		}
		if serr := sleepCtx(ctx, embedBackoff*time.Duration(attempt)); serr != nil {
			return out, err
		}
	}
}

// embedOnce makes one call; retry says whether the failure may be passing.
func embedOnce(ctx context.Context, hc *http.Client, baseURL, text string) (_ EmbedOutput, retry bool, _ error) {
	body := mustJSON(embedRequest{Input: text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/embed", bytes.NewReader(body))
	if err != nil {
		return EmbedOutput{}, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return EmbedOutput{}, ctx.Err() == nil, fmt.Errorf("embedding sidecar: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return EmbedOutput{}, false, fmt.Errorf("embedding sidecar: reading reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable ||
			resp.StatusCode == http.StatusGatewayTimeout
		return EmbedOutput{}, retry, fmt.Errorf("embedding sidecar: %s: %s", resp.Status, strings.TrimSpace(string(truncate(b, 200))))
	}
	var er embedResponse
	if err := json.Unmarshal(b, &er); err != nil {
		return EmbedOutput{}, false, fmt.Errorf("embedding sidecar: bad reply: %w", err)
	}
	if len(er.Data) == 0 {
		return EmbedOutput{}, false, errors.New("embedding sidecar: reply has no data")
	}
	v := er.Data[0].Embedding
	if er.Dim != 0 && er.Dim != len(v) {
		return EmbedOutput{}, false, fmt.Errorf("embedding sidecar: dim %d but vector has %d values", er.Dim, len(v))
	}
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	prefix := v[:min(8, len(v))]
	return EmbedOutput{Model: er.Model, Dim: len(v), Norm: math.Sqrt(sum), Prefix: append([]float64(nil), prefix...)}, false, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
