package workflow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook headers. The signature is "sha256=" followed by the hex
// HMAC-SHA256 of the raw body under WEBHOOK_SECRET; it is sent only when a
// secret is set. The body of every attempt is identical.
const (
	HeaderSignature = "X-Outrigger-Signature"
	HeaderTimestamp = "X-Outrigger-Timestamp" // Unix seconds of the attempt
	HeaderDelivery  = "X-Outrigger-Delivery"  // the execution id
	HeaderAttempt   = "X-Outrigger-Attempt"   // 1, 2, ...
	HeaderEvent     = "X-Outrigger-Event"     // "execution.<status>"
)

// Sign returns the X-Outrigger-Signature value for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header is the valid signature of body
// under secret (constant-time comparison).
func VerifySignature(secret string, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(gotMAC, mac.Sum(nil))
}

// maxWebhookBackoff caps the delay between attempts.
const maxWebhookBackoff = 30 * time.Second

// Webhook bounds. Between attempts a delivery holds no body: each attempt
// reads the result from the store again, and DefaultWebhookBudget caps the
// bytes of bodies that all attempts in flight hold at once. Past
// MaxPendingWebhooks deliveries, a new one fails at once.
const (
	DefaultWebhookBudget = 32 << 20
	MaxPendingWebhooks   = 1000
)

// deliver POSTs the stored result to the execution's callback URL, retrying
// with exponential backoff on network errors, 5xx, 408 and 429. It ends
// when delivered, when attempts run out, or when the Manager shuts down.
func (m *Manager) deliver(ex *Execution, log *slog.Logger) {
	defer m.hookWG.Done()
	defer m.hooks.Add(-1)
	log = log.With("callback_url", maskURL(ex.callbackURL))

	backoff := m.cfg.WebhookBackoff
	var lastErr error
	attempt := 0 // POSTs made: what webhook_attempts and X-Outrigger-Attempt count
retry:
	for attempt < m.cfg.WebhookAttempts {
		posted, again, err := m.attemptWebhook(ex, attempt+1)
		if posted {
			attempt++
		}
		if err == nil {
			log.Info("webhook delivered", "attempt", attempt)
			m.setWebhook(log, ex.id, "delivered", attempt, "")
			return
		}
		lastErr = err
		if !again || !posted || attempt == m.cfg.WebhookAttempts {
			break
		}
		log.Warn("webhook attempt failed; retrying", "attempt", attempt, "in", backoff, "err", err)
		m.setWebhook(log, ex.id, "pending", attempt, err.Error())
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-m.hookCtx.Done():
			t.Stop()
			lastErr = fmt.Errorf("shutdown before delivery (last error: %v)", err)
			break retry
		}
		backoff = min(backoff*2, maxWebhookBackoff)
	}
	log.Warn("webhook failed", "attempts", attempt, "err", lastErr)
	m.setWebhook(log, ex.id, "failed", attempt, lastErr.Error())
}

// attemptWebhook reads the result from the store and makes one attempt,
// within the webhook byte budget. posted says whether it got as far as the
// POST (a failure before it, such as shutdown while waiting for the budget,
// is no attempt); retry whether another may succeed.
func (m *Manager) attemptWebhook(ex *Execution, attempt int) (posted, retry bool, err error) {
	size, err := m.store.resultSize(m.hookCtx, ex.id)
	if err != nil {
		return false, false, fmt.Errorf("load result: %w", err)
	}
	// The result is held twice during an attempt: decoded, and as the body.
	weight := 2*size + 4<<10
	if err := m.hookBudget.acquire(m.hookCtx, weight); err != nil {
		return false, false, fmt.Errorf("shutdown before delivery: %w", err)
	}
	defer m.hookBudget.release(weight)
	res, err := m.store.resultByID(m.hookCtx, ex.id)
	if err != nil {
		return false, false, fmt.Errorf("load result: %w", err)
	}
	res.Webhook, res.WebhookAttempts, res.WebhookError = "", 0, ""
	body, err := json.Marshal(res)
	if err != nil {
		return false, false, err
	}
	status := res.Status
	res = Result{} // the body is all the attempt needs
	retry, err = m.postWebhook(ex, status, body, attempt)
	return true, retry, err
}

func (m *Manager) setWebhook(log *slog.Logger, id int64, status string, attempts int, errMsg string) {
	if err := m.store.setWebhook(id, status, attempts, errMsg); err != nil {
		log.Error("store: webhook state", "err", err)
	}
}

// maskURL hides a callback URL's user info (user names are often tokens
// too): it is never logged nor stored.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "redacted@" + raw[i+1:]
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	u.User = url.User("redacted")
	return u.String()
}

// budget is a byte budget shared by goroutines; acquire waits for room.
type budget struct {
	mu      sync.Mutex
	free    int64
	max     int64
	changed chan struct{} // closed and replaced on every release
}

func newBudget(n int64) *budget { return &budget{free: n, max: n, changed: make(chan struct{})} }

// acquire takes n bytes (at most the whole budget, so that one oversized
// body can still go, alone).
func (b *budget) acquire(ctx context.Context, n int64) error {
	n = min(n, b.max)
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return nil
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *budget) release(n int64) {
	n = min(n, b.max)
	b.mu.Lock()
	b.free += n
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// postWebhook makes one attempt; retry says whether another may succeed.
func (m *Manager) postWebhook(ex *Execution, status string, body []byte, attempt int) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(m.hookCtx, m.cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ex.callbackURL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "xgen-workflow")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(time.Now().Unix(), 10))
	req.Header.Set(HeaderDelivery, strconv.FormatInt(ex.id, 10))
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	req.Header.Set(HeaderEvent, "execution."+status)
	if m.cfg.WebhookSecret != "" {
		req.Header.Set(HeaderSignature, Sign(m.cfg.WebhookSecret, body))
	}
	resp, err := m.cfg.WebhookClient.Do(req)
	if err != nil {
		// A *url.Error carries the URL, user name included: keep only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = fmt.Errorf("POST %s: %w", maskURL(ex.callbackURL), uerr.Err)
		}
		return !errors.Is(m.hookCtx.Err(), context.Canceled), err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return false, fmt.Errorf("receiver replied %s: redirects are not followed for a webhook", resp.Status)
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
	return retry, fmt.Errorf("receiver replied %s", resp.Status)
}
