package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"outrigger/core/filelock"
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
CREATE INDEX IF NOT EXISTS execution_meta_finished ON execution_meta(finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS execution_meta_webhook_pending ON execution_meta(id) WHERE webhook_status = 'pending';
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
	lock *os.File // held (filelock.TryLock) from OpenStore to Close: one Store per file

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt // prepared once: SQLite parsing is a large part of a write

	// failWrite, when set (tests), is asked before every write and fails it
	// with the error it returns.
	failWrite func(query string, args []any) error
	// betweenReads, when set (tests), runs in resultByID after the
	// execution's row is read and before its nodes are.
	betweenReads func()
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
	// auto_vacuum takes effect on a new database only: pruned pages are then
	// given back to the file system by incremental_vacuum.
	q := "?_busy_timeout=10000&_auto_vacuum=INCREMENTAL&_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=1&_txlock=immediate"
	if readOnly {
		q = "?_busy_timeout=10000&_foreign_keys=1&_query_only=1"
	}
	return path + q
}

// OpenStore opens (creating when needed) the database at path, then marks
// every execution left queued or running by a previous process as
// interrupted. It returns how many it marked.
//
// Only one Store at a time may have the file open (a lock on path+".lock",
// dropped by Close or when the process dies): a second one would mark the
// first one's live executions interrupted. It is refused with an error.
//
// The folder is created 0700 and the database 0600 (SQLite gives its -wal
// and -shm files the database's mode): executions hold user data. Opening
// does work bounded by the number of unfinished executions, not by the
// database's size; the full integrity check runs in the background
// (backgroundCheck).
func OpenStore(ctx context.Context, path string) (*Store, int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, 0, err
	}
	lock, err := lockDB(path)
	if err != nil {
		return nil, 0, err
	}
	s, n, err := openLocked(ctx, path)
	if err != nil {
		lock.Close()
		return nil, 0, err
	}
	s.lock = lock
	return s, n, nil
}

// lockDB takes the lock that makes a Store the only one on path.
func lockDB(path string) (*os.File, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	held, err := filelock.TryLock(f)
	switch {
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	case !held:
		f.Close()
		return nil, fmt.Errorf("%s is in use by another process (another xgen-workflow with this DATA_DIR?)", path)
	}
	return f, nil
}

func openLocked(ctx context.Context, path string) (*Store, int, error) {
	if err := ensurePrivate(path); err != nil {
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
	if err := boundedCheck(ctx, w); err != nil {
		w.Close()
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

// ensurePrivate creates the database file 0600, or makes an existing one
// (and its -wal and -shm) 0600: SQLite creates -wal and -shm with the
// database's mode.
func ensurePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// startupRows is how many of the newest executions the start-up check
// reads (with their nodes): the pages a restart is about to use.
const startupRows = 100

// boundedCheck is the start-up check: the schema is readable and the newest
// executions and their nodes decode. It costs the same at 1 MB and 100 GB
// (PRAGMA quick_check reads every page: 5 s at 2.8 GB).
func boundedCheck(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT m.id, m.status, length(m.input), length(m.output),
		(SELECT count(*) FROM execution_io io WHERE io.execution_id = m.id)
		FROM execution_meta m ORDER BY m.id DESC LIMIT ?`, startupRows)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, nodes int64
		var status string
		var in, out sql.NullInt64
		if err := rows.Scan(&id, &status, &in, &out, &nodes); err != nil {
			return err
		}
	}
	return rows.Err()
}

// backgroundCheck runs PRAGMA quick_check on a reader while the service
// serves, and logs the outcome: a damaged page found there is reported
// without holding up the start.
func (s *Store) backgroundCheck(ctx context.Context, log *slog.Logger) {
	var res string
	err := s.r.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		log.Error("database integrity check could not run", "path", s.path, "err", err)
	case res != "ok":
		log.Error("database integrity check found damage; move the file aside to start afresh", "path", s.path, "result", res)
	default:
		log.Debug("database integrity check ok", "path", s.path)
	}
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes both pools (the last connection checkpoints the WAL), then
// lets another Store open the file.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[stmtKey]*sql.Stmt{}
	s.mu.Unlock()
	err := errors.Join(s.r.Close(), s.w.Close())
	if s.lock != nil {
		s.lock.Close() // closing the descriptor drops the lock
		s.lock = nil
	}
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// writeTimeout bounds one write. Writes are not tied to any request or
// execution context: the record of an execution's end must be written even
// when the execution was cancelled.
const writeTimeout = 15 * time.Second

func (s *Store) exec(query string, args ...any) (sql.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if s.failWrite != nil {
		if err := s.failWrite(query, args); err != nil {
			return nil, err
		}
	}
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
	// Nodes first, found through their executions' primary key: a scan of
	// execution_io would grow with the database.
	if _, err := tx.ExecContext(ctx, `UPDATE execution_io SET status = ?, finished_at = ?
		WHERE status = ? AND execution_id IN (SELECT id FROM execution_meta WHERE status IN (?, ?))`,
		StatusInterrupted, now, StatusRunning, StatusQueued, StatusRunning); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE execution_meta SET status = ?, finished_at = ?,
		error = CASE WHEN error = '' THEN 'the service stopped before the execution finished' ELSE error END
		WHERE status IN (?, ?)`, StatusInterrupted, now, StatusQueued, StatusRunning)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
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

// latestStatus is the status of the latest execution stored for
// interactionID, or ErrNotFound.
func (s *Store) latestStatus(interactionID string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	st, err := s.stmt(ctx, false, `SELECT status FROM execution_meta WHERE interaction_id = ? ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return "", err
	}
	var status string
	if err := st.QueryRowContext(ctx, interactionID).Scan(&status); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", ErrNotFound
		}
		return "", err
	}
	return status, nil
}

// resultSize is about how many bytes the execution's result takes (its
// inputs and outputs), read from the record headers, not the data.
func (s *Store) resultSize(ctx context.Context, id int64) (int64, error) {
	st, err := s.stmt(ctx, false, `SELECT coalesce(octet_length(input), 0) + coalesce(octet_length(output), 0) +
		(SELECT coalesce(sum(coalesce(octet_length(input), 0) + coalesce(octet_length(output), 0)), 0)
		 FROM execution_io WHERE execution_id = ?) FROM execution_meta WHERE id = ?`)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := st.QueryRowContext(ctx, id, id).Scan(&n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, ErrNotFound
		}
		return 0, err
	}
	return n, nil
}

// Result returns the latest execution stored for interactionID, or
// ErrNotFound.
func (s *Store) Result(ctx context.Context, interactionID string) (Result, error) {
	var r Result
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		st, err := s.stmt(ctx, false, `SELECT id FROM execution_meta WHERE interaction_id = ? ORDER BY id DESC LIMIT 1`)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.StmtContext(ctx, st).QueryRowContext(ctx, interactionID).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		r, err = s.resultIn(ctx, tx, id)
		return err
	})
	return r, err
}

func (s *Store) resultByID(ctx context.Context, id int64) (Result, error) {
	var r Result
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		r, err = s.resultIn(ctx, tx, id)
		return err
	})
	return r, err
}

// readTx runs fn in one read transaction: its queries all see the same
// snapshot (WAL), so a write between two of them (a node stored, pruning)
// never shows as an execution's row without its nodes, or the reverse.
func (s *Store) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// resultIn reads execution id and its nodes within tx.
func (s *Store) resultIn(ctx context.Context, tx *sql.Tx, id int64) (Result, error) {
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
	err = tx.StmtContext(ctx, meta).QueryRowContext(ctx, id).Scan(&r.ExecutionID, &r.InteractionID, &r.WorkflowID, &r.Status,
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
	if s.betweenReads != nil {
		s.betweenReads()
	}

	nodes, err := s.stmt(ctx, false, `SELECT idx, node_id, status, input, output, error, started_at, finished_at
		FROM execution_io WHERE execution_id = ? ORDER BY idx`)
	if err != nil {
		return Result{}, err
	}
	rows, err := tx.StmtContext(ctx, nodes).QueryContext(ctx, id)
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
