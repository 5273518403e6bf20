package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// DBFile is the database's file name under DATA_DIR.
const DBFile = "workflow.db"

const schema = `
CREATE TABLE IF NOT EXISTS execution_meta (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	interaction_id   TEXT    NOT NULL,
	workflow_id      TEXT    NOT NULL,
	status           TEXT    NOT NULL,
	input            TEXT    NOT NULL,
	output           TEXT,
	error            TEXT    NOT NULL DEFAULT '',
	callback_url     TEXT    NOT NULL DEFAULT '',
	webhook_status   TEXT    NOT NULL DEFAULT '',
	webhook_attempts INTEGER NOT NULL DEFAULT 0,
	webhook_error    TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	started_at       INTEGER,
	finished_at      INTEGER
);
CREATE INDEX IF NOT EXISTS execution_meta_interaction ON execution_meta(interaction_id, id);
CREATE INDEX IF NOT EXISTS execution_meta_status ON execution_meta(status);
CREATE TABLE IF NOT EXISTS execution_io (
	execution_id INTEGER NOT NULL REFERENCES execution_meta(id) ON DELETE CASCADE,
	idx          INTEGER NOT NULL,
	node_id      TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	input        TEXT,
	output       TEXT,
	error        TEXT    NOT NULL DEFAULT '',
	started_at   INTEGER,
	finished_at  INTEGER,
	PRIMARY KEY (execution_id, idx)
);
PRAGMA user_version = 1;
`

// Store is the SQLite database of executions (execution_meta) and node
// inputs/outputs (execution_io). Writes go through one connection, so
// writers never contend for the lock; reads use a separate read-only pool
// and, thanks to WAL, never wait for a writer.
type Store struct {
	path string
	w    *sql.DB
	r    *sql.DB

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt // prepared once: SQLite parsing is a large part of a write
}

type stmtKey struct {
	write bool
	query string
}

// stmt returns query prepared on the writer (write) or the reader pool.
func (s *Store) stmt(ctx context.Context, write bool, query string) (*sql.Stmt, error) {
	k := stmtKey{write, query}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stmts[k]; st != nil {
		return st, nil
	}
	db := s.r
	if write {
		db = s.w
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[k] = st
	return st, nil
}

func dsn(path string, readOnly bool) string {
	q := "?_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=1&_txlock=immediate"
	if readOnly {
		q = "?_busy_timeout=10000&_foreign_keys=1&_query_only=1"
	}
	return path + q
}

// OpenStore opens (creating when needed) the database at path, then marks
// every execution left queued or running by a previous process as
// interrupted. It returns how many it marked.
func OpenStore(ctx context.Context, path string) (*Store, int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, err
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, 0, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, 0, fmt.Errorf("open %s: %w", path, err)
	}
	var check string
	if err := w.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil || check != "ok" {
		w.Close()
		if err == nil {
			err = errors.New(check)
		}
		return nil, 0, fmt.Errorf("open %s: integrity check: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, 0, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s := &Store{path: path, w: w, r: r, stmts: map[stmtKey]*sql.Stmt{}}
	n, err := s.markInterrupted(ctx)
	if err != nil {
		s.Close()
		return nil, 0, err
	}
	return s, n, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes both pools (the last connection checkpoints the WAL).
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[stmtKey]*sql.Stmt{}
	s.mu.Unlock()
	return errors.Join(s.r.Close(), s.w.Close())
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// writeTimeout bounds one write. Writes are not tied to any request or
// execution context: the record of an execution's end must be written even
// when the execution was cancelled.
const writeTimeout = 15 * time.Second

func (s *Store) exec(query string, args ...any) (sql.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	st, err := s.stmt(ctx, true, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s *Store) markInterrupted(ctx context.Context) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	now := ms(time.Now())
	res, err := tx.ExecContext(ctx, `UPDATE execution_meta SET status = ?, finished_at = ?,
		error = CASE WHEN error = '' THEN 'the service stopped before the execution finished' ELSE error END
		WHERE status IN (?, ?)`, StatusInterrupted, now, StatusQueued, StatusRunning)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE execution_io SET status = ?, finished_at = ? WHERE status = ?`,
		StatusInterrupted, now, StatusRunning); err != nil {
		return 0, err
	}
	// A webhook still pending from a dead process is not retried after a restart.
	if _, err := tx.ExecContext(ctx, `UPDATE execution_meta SET webhook_status = 'failed',
		webhook_error = 'the service stopped before delivery' WHERE webhook_status = 'pending'`); err != nil {
		return 0, err
	}
	return int(n), tx.Commit()
}

// createExecution inserts a queued execution and returns its id.
func (s *Store) createExecution(interactionID, workflowID string, input json.RawMessage, callbackURL string, at time.Time) (int64, error) {
	webhook := ""
	if callbackURL != "" {
		webhook = "pending"
	}
	res, err := s.exec(`INSERT INTO execution_meta
		(interaction_id, workflow_id, status, input, callback_url, webhook_status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		interactionID, workflowID, StatusQueued, string(input), callbackURL, webhook, ms(at))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (s *Store) markRunning(id int64, at time.Time) error {
	_, err := s.exec(`UPDATE execution_meta SET status = ?, started_at = ? WHERE id = ?`, StatusRunning, ms(at), id)
	return err
}

func (s *Store) nodeStarted(id int64, idx int, nodeID string, input json.RawMessage, at time.Time) error {
	_, err := s.exec(`INSERT INTO execution_io (execution_id, idx, node_id, status, input, started_at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, idx, nodeID, StatusRunning, string(input), ms(at))
	return err
}

func (s *Store) nodeFinished(id int64, idx int, status string, output json.RawMessage, errMsg string, at time.Time) error {
	var out any
	if output != nil {
		out = string(output)
	}
	_, err := s.exec(`UPDATE execution_io SET status = ?, output = ?, error = ?, finished_at = ?
		WHERE execution_id = ? AND idx = ?`, status, out, errMsg, ms(at), id, idx)
	return err
}

func (s *Store) finishExecution(id int64, status string, output json.RawMessage, errMsg string, at time.Time) error {
	var out any
	if output != nil {
		out = string(output)
	}
	_, err := s.exec(`UPDATE execution_meta SET status = ?, output = ?, error = ?, finished_at = ? WHERE id = ?`,
		status, out, errMsg, ms(at), id)
	return err
}

func (s *Store) setWebhook(id int64, status string, attempts int, errMsg string) error {
	_, err := s.exec(`UPDATE execution_meta SET webhook_status = ?, webhook_attempts = ?, webhook_error = ? WHERE id = ?`,
		status, attempts, errMsg, id)
	return err
}

// Result returns the latest execution stored for interactionID, or
// ErrNotFound.
func (s *Store) Result(ctx context.Context, interactionID string) (Result, error) {
	st, err := s.stmt(ctx, false, `SELECT id FROM execution_meta WHERE interaction_id = ? ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return Result{}, err
	}
	var id int64
	if err := st.QueryRowContext(ctx, interactionID).Scan(&id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Result{}, ErrNotFound
		}
		return Result{}, err
	}
	return s.resultByID(ctx, id)
}

func (s *Store) resultByID(ctx context.Context, id int64) (Result, error) {
	var (
		r                 Result
		input, output     sql.NullString
		created           int64
		started, finished sql.NullInt64
	)
	meta, err := s.stmt(ctx, false, `SELECT id, interaction_id, workflow_id, status, input, output, error,
		webhook_status, webhook_attempts, webhook_error, created_at, started_at, finished_at
		FROM execution_meta WHERE id = ?`)
	if err != nil {
		return Result{}, err
	}
	err = meta.QueryRowContext(ctx, id).Scan(&r.ExecutionID, &r.InteractionID, &r.WorkflowID, &r.Status,
		&input, &output, &r.Error, &r.Webhook, &r.WebhookAttempts, &r.WebhookError, &created, &started, &finished)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Result{}, ErrNotFound
		}
		return Result{}, err
	}
	r.Input = rawOrNil(input)
	r.Output = rawOrNil(output)
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.StartedAt = timeOrNil(started)
	r.FinishedAt = timeOrNil(finished)
	r.DurationMS = duration(started, finished)

	nodes, err := s.stmt(ctx, false, `SELECT idx, node_id, status, input, output, error, started_at, finished_at
		FROM execution_io WHERE execution_id = ? ORDER BY idx`)
	if err != nil {
		return Result{}, err
	}
	rows, err := nodes.QueryContext(ctx, id)
	if err != nil {
		return Result{}, err
	}
	defer rows.Close()
	r.Nodes = []NodeResult{}
	for rows.Next() {
		var (
			n                 NodeResult
			in, out           sql.NullString
			started, finished sql.NullInt64
		)
		if err := rows.Scan(&n.Index, &n.NodeID, &n.Status, &in, &out, &n.Error, &started, &finished); err != nil {
			return Result{}, err
		}
		n.Input = rawOrNil(in)
		n.Output = rawOrNil(out)
		n.StartedAt = timeOrNil(started)
		n.FinishedAt = timeOrNil(finished)
		n.DurationMS = duration(started, finished)
		r.Nodes = append(r.Nodes, n)
	}
	return r, rows.Err()
}

func rawOrNil(s sql.NullString) json.RawMessage {
	if !s.Valid || s.String == "" {
		return nil
	}
	return json.RawMessage(s.String)
}

func timeOrNil(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func duration(started, finished sql.NullInt64) int64 {
	if !started.Valid || !finished.Valid {
		return 0
	}
	return finished.Int64 - started.Int64
}
