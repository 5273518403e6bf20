package control

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"outrigger/core/diagnostics"
)

// diagnostics is GET /v1/diagnostics: the report a user attaches to a bug
// (core/diagnostics), with the live statuses and output rings, as
// application/zip. It is built in memory first, so a failure is a JSON
// error rather than a cut-off zip; the report is a few megabytes at most
// (1 000 lines per log).
func (s *Server) diagnostics(w http.ResponseWriter, r *http.Request) {
	if s.d.Diagnostics == nil {
		fail(w, http.StatusServiceUnavailable, CodeUnavailable, "this instance cannot write a diagnostics report")
		return
	}
	o := s.d.Diagnostics()
	o.Sidecars = s.d.Sup
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var buf bytes.Buffer
	if err := diagnostics.Write(&buf, o); err != nil {
		s.log.Error("control API: diagnostics report", "err", err)
		fail(w, http.StatusServiceUnavailable, CodeFailed, "could not write the report: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+diagnostics.FileName(o.Now)+`"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	boundWrites(w, s.stall)
	if _, err := buf.WriteTo(w); err != nil {
		s.log.Warn("control API: the diagnostics report was not delivered (the client stopped reading or left)", "err", err)
	}
}
