package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Pruning removes finished executions (with their nodes) older than the
// retention period, then the oldest finished ones while the database's used
// size is over its cap. It deletes pruneBatch executions per transaction on
// the shared writer, so a request's write waits for one small batch at
// most, and readers (WAL) never wait. Executions still running and webhooks
// still pending are never pruned.
const (
	pruneBatch  = 50
	vacuumPages = 2000 // pages given back to the file system per pass
	// pruneGrace: neither rule takes an execution that finished this
	// recently (its /deploy reply or first /results read may be under way),
	// however short Keep is. Under the cap executions go one per
	// transaction, oldest first, so that no more goes than needed.
	pruneGrace = 5 * time.Second
)

// pruneLoop prunes at start, every interval, and after executions finish
// (kick), until ctx is done.
func (s *Store) pruneLoop(ctx context.Context, log *slog.Logger, keep time.Duration, maxBytes int64, interval time.Duration, kick <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.Prune(ctx, time.Now(), keep, maxBytes)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("pruning the database", "err", err)
		case n > 0:
			log.Info("pruned finished executions", "count", n, "keep", keep, "max_bytes", maxBytes)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

// Prune deletes what the retention rules say must go and returns how many
// executions it deleted. keep ≤ 0 keeps them for ever; maxBytes ≤ 0 sets no
// size cap.
func (s *Store) Prune(ctx context.Context, now time.Time, keep time.Duration, maxBytes int64) (int, error) {
	// finishedBefore is the one cutoff of both rules: an execution that
	// finished less than age (and never less than pruneGrace) ago stays.
	finishedBefore := func(age time.Duration) int64 { return ms(now.Add(-max(age, pruneGrace))) }
	total := 0
	if keep > 0 {
		cutoff := finishedBefore(keep)
		for ctx.Err() == nil {
			n, err := s.deleteBatch(`DELETE FROM execution_meta WHERE id IN (SELECT id FROM execution_meta
				WHERE finished_at IS NOT NULL AND finished_at < ? AND webhook_status != 'pending'
				ORDER BY finished_at LIMIT ?)`, cutoff, pruneBatch)
			total += n
			if err != nil || n < pruneBatch {
				if err != nil {
					return total, err
				}
				break
			}
		}
	}
	if maxBytes > 0 {
		for ctx.Err() == nil {
			used, err := s.UsedBytes(ctx)
			if err != nil {
				return total, err
			}
			if used <= maxBytes {
				break
			}
			n, err := s.deleteBatch(`DELETE FROM execution_meta WHERE id IN (SELECT id FROM execution_meta
				WHERE finished_at IS NOT NULL AND finished_at < ? AND webhook_status != 'pending'
				ORDER BY finished_at LIMIT 1)`, finishedBefore(0))
			total += n
			if err != nil {
				return total, err
			}
			if n == 0 {
				break // only unfinished executions left
			}
		}
	}
	if total > 0 {
		if _, err := s.exec(fmt.Sprintf("PRAGMA incremental_vacuum(%d)", vacuumPages)); err != nil {
			return total, err
		}
	}
	return total, ctx.Err()
}

func (s *Store) deleteBatch(query string, args ...any) (int, error) {
	res, err := s.exec(query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// UsedBytes is the size of the database's pages in use (the file may be
// larger by its free pages, which later writes reuse).
func (s *Store) UsedBytes(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT (p.page_count - f.freelist_count) * z.page_size
		FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() z`).Scan(&n)
	return n, err
}
