package ui

import (
	"fmt"
	"math"
	"time"
)

// humanBytes formats a byte count the way a person reads memory: "34.2 MB".
func humanBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	v := float64(b) / float64(div)
	suffix := []string{"KB", "MB", "GB", "TB", "PB"}[exp]
	if v >= 10 { // whole units: a sidecar's memory moving by a few KB does not flicker
		return fmt.Sprintf("%.0f %s", v, suffix)
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

// humanDuration formats an uptime calmly: "<1 min", "3 min", "2h 05m",
// "3d 4h". It changes at most once a minute, so an idle window is not
// repainted every second.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return "<1 min"
	case s < 3600:
		return fmt.Sprintf("%d min", s/60)
	case s < 86400:
		return fmt.Sprintf("%dh %02dm", s/3600, (s%3600)/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, (s%86400)/3600)
}

// countdown formats the time left until t: "in 3s", "in 1m 05s", "now".
func countdown(t time.Time, now time.Time) string {
	left := t.Sub(now)
	if left <= 0 {
		return "now"
	}
	secs := int64(math.Ceil(left.Seconds()))
	if secs < 60 {
		return fmt.Sprintf("in %ds", secs)
	}
	return fmt.Sprintf("in %dm %02ds", secs/60, secs%60)
}

// humanPercent formats a CPU share in whole percent, "<1%" below one (0
// included: in 10 ms ticks a running process's 0 means little, not none),
// so an idle sidecar's reading does not flicker.
func humanPercent(p float64) string {
	if p < 1 {
		return "<1%"
	}
	return fmt.Sprintf("%.0f%%", p)
}

// ago formats how long ago t was: "just now", "12s ago", "3m ago".
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 2*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh ago", int(d.Hours()))
}
