package workflows

import (
	"strings"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"outrigger/internal/workflow/wfapi"
	"outrigger/internal/workflow/wftest"
)

const gwToken = "panel-gw-token-91e2"

// shownTexts is every label and entry text laid out in the panel.
func shownTexts(p *Panel) []string {
	var out []string
	for _, o := range test.LaidOutObjects(p.Object()) {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *widget.Entry:
			out = append(out, x.Text)
		}
	}
	return out
}

func noTokenShown(t *testing.T, p *Panel) {
	t.Helper()
	for _, s := range shownTexts(p) {
		if strings.Contains(s, gwToken) {
			t.Errorf("the panel shows the token: %q", s)
		}
	}
}

// Connected mode: the panel runs a workflow end to end through a TLS
// gateway that wants the token, says which endpoint it talks to, and
// tells a refused token and an untrusted certificate apart, never showing
// the token.
func TestPanelThroughGateway(t *testing.T) {
	g := wftest.NewGateway(t, engine(t), gwToken)
	good := Endpoint{URL: g.URL, Token: gwToken, What: "the gateway", TokenFrom: "gateway_token", HTTP: wfapi.NewHTTPClient(g.Pool)}
	var cur atomic.Value
	cur.Store(good)
	p, w := showPanel(t, func(w fyne.Window) *Panel {
		return NewEndpoint(func() Endpoint { return cur.Load().(Endpoint) }, w, nil)
	})
	onUI(func() { w.Resize(fyne.NewSize(1024, 600)) })
	defer func() {
		if t.Failed() {
			onUI(func() {
				t.Logf("engine %q, state %q, error %q, result %q, events %+v; gateway accepted %d, refused %d",
					p.w.engine.Text, p.w.state.Text, p.w.err.Text, p.w.resultHead.Text, p.events, g.Accepted(), g.Refused())
			})
		}
	}()

	onUI(func() {
		want := "Talking to the gateway at " + g.URL + " · token from gateway_token"
		if p.w.where.Text != want {
			t.Errorf("endpoint line = %q, want %q", p.w.where.Text, want)
		}
	})
	pick(t, p, "pipeline", `{"text":"gw","delay_ms":20,"nodes":3}`)
	onUI(func() { test.Tap(p.w.run) })
	until(t, "the stream's end through the gateway", func() bool { return countTag(p.events, "end") == 1 })
	onUI(func() {
		if n := countTag(p.events, "data"); n != 3 {
			t.Errorf("%d data rows, want 3", n)
		}
		if last := p.events[len(p.events)-1]; !strings.HasPrefix(last.text, "completed") {
			t.Errorf("end row = %+v", last)
		}
	})
	until(t, "the stored result through the gateway", func() bool { return fetched(p, "Status: completed") })
	until(t, "the engine status through the gateway", func() bool { return strings.Contains(p.w.engine.Text, "4 max workers") })
	shot(t, w, "panel-gateway.png")
	onUI(func() { noTokenShown(t, p) })
	if g.Refused() != 0 || g.Accepted() < 4 {
		t.Errorf("gateway refused %d, accepted %d", g.Refused(), g.Accepted())
	}

	// Another token: the old run is cleared and the refusal is said plainly.
	bad := good
	bad.Token = gwToken + "-old"
	cur.Store(bad)
	onUI(func() {
		p.Refresh()
		if len(p.events) != 0 || p.runID != "" {
			t.Errorf("the run of the other token is still shown: %d rows, id %q", len(p.events), p.runID)
		}
	})
	until(t, "the refused token to be shown", func() bool {
		return p.w.engine.Text == "The gateway refused the token" && p.w.err.Visible() &&
			strings.Contains(p.w.err.Text, "the gateway refused the token (401 Unauthorized") &&
			strings.Contains(p.w.err.Text, "Check the gateway token")
	})
	onUI(func() { noTokenShown(t, p) })

	// The system's roots do not trust the test gateway.
	untrusted := good
	untrusted.HTTP = nil
	cur.Store(untrusted)
	onUI(p.Refresh)
	until(t, "the untrusted certificate to be shown", func() bool {
		return p.w.engine.Text == "Certificate not trusted" &&
			strings.Contains(p.w.err.Text, "certificate not trusted: 127.0.0.1:")
	})
	onUI(func() { noTokenShown(t, p) })

	// Plain http to a remote host: a warning, and the token is not sent.
	cur.Store(Endpoint{URL: "http://192.0.2.7:8000", Token: gwToken, What: "the gateway", TokenFrom: "gateway_token"})
	onUI(p.Refresh)
	until(t, "the plain-http refusal", func() bool { return p.w.engine.Text == "Not sent: plain http" })
	onUI(func() {
		if p.w.where.Importance != widget.WarningImportance || !strings.Contains(p.w.where.Text, "plain http") {
			t.Errorf("endpoint line %q (importance %v) does not warn", p.w.where.Text, p.w.where.Importance)
		}
		noTokenShown(t, p)
	})
}
