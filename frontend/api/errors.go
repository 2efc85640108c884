package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/image"
)

// statusError is an error with the HTTP status Docker answers it with.
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// withStatus gives err the status code.
func withStatus(code int, err error) error { return &statusError{code, err} }

// badRequest is a 400 for a parameter or body the client got wrong.
func badRequest(format string, args ...any) error {
	return withStatus(http.StatusBadRequest, fmt.Errorf(format, args...))
}

// errNotModified is start of a running or stop of a stopped container
// (Docker's 304, which has no body).
var errNotModified = errors.New("not modified")

// statusOf maps an error of the core to Docker's status code.
func statusOf(err error) int {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.Is(err, errNotModified):
		return http.StatusNotModified
	case errors.Is(err, container.ErrNotFound), errors.Is(err, image.ErrImageUnknown):
		return http.StatusNotFound
	case errors.Is(err, container.ErrNameInUse), errors.Is(err, container.ErrRunning),
		errors.Is(err, container.ErrHasDependents), errors.Is(err, container.ErrAmbiguous),
		errors.Is(err, container.ErrStateImproper):
		return http.StatusConflict
	case errors.Is(err, container.ErrInvalidName), errors.Is(err, container.ErrInvalidVolume),
		errors.Is(err, container.ErrInvalidUser), errors.Is(err, container.ErrNoCommand),
		errors.Is(err, container.ErrInvalidNetwork), errors.Is(err, container.ErrInvalidIPC), errors.Is(err, container.ErrInvalidRestart),
		errors.Is(err, container.ErrInvalidCondition), errors.Is(err, container.ErrInvalidHealth):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// errorBody is Docker's error response.
type errorBody struct {
	Message string `json:"message"`
}

// writeError answers err as Docker does: its status and {"message": ...}.
func writeError(w http.ResponseWriter, err error) {
	code := statusOf(err)
	if code == http.StatusNotModified {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, errorBody{Message: err.Error()})
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
