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
	"strconv"
	"strings"
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

// deliver POSTs the stored result to the execution's callback URL, retrying
// with exponential backoff on network errors, 5xx, 408 and 429. It ends
// when delivered, when attempts run out, or when the Manager shuts down.
func (m *Manager) deliver(ex *Execution, log *slog.Logger) {
	defer m.hookWG.Done()
	log = log.With("callback_url", ex.callbackURL)

	res, err := m.store.resultByID(m.hookCtx, ex.id)
	if err != nil {
		log.Error("webhook: load result", "err", err)
		m.setWebhook(log, ex.id, "failed", 0, "load result: "+err.Error())
		return
	}
	res.Webhook, res.WebhookAttempts, res.WebhookError = "", 0, ""
	body, err := json.Marshal(res)
	if err != nil {
		m.setWebhook(log, ex.id, "failed", 0, err.Error())
		return
	}

	backoff := m.cfg.WebhookBackoff
	var lastErr error
	attempt := 0
retry:
	for attempt < m.cfg.WebhookAttempts {
		attempt++
		again, err := m.postWebhook(ex, res.Status, body, attempt)
		if err == nil {
			log.Info("webhook delivered", "attempt", attempt)
			m.setWebhook(log, ex.id, "delivered", attempt, "")
			return
		}
		lastErr = err
		if !again || attempt == m.cfg.WebhookAttempts {
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

func (m *Manager) setWebhook(log *slog.Logger, id int64, status string, attempts int, errMsg string) {
	if err := m.store.setWebhook(id, status, attempts, errMsg); err != nil {
		log.Error("store: webhook state", "err", err)
	}
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
		return !errors.Is(m.hookCtx.Err(), context.Canceled), err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
	return retry, fmt.Errorf("receiver replied %s", resp.Status)
}
