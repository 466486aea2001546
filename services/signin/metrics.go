package signin

import (
	"errors"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/metrics"
)

// count records one step tried with method and its outcome. The method comes from a form, so
// only the known ones are labels: "code" is a code whose sign-in was not found (so its kind
// was not chosen), "other" a method that does not exist.
func (s *Service) count(method string, err error) {
	switch auth.Method(method) {
	case auth.MethodEmail, auth.MethodTOTP, auth.MethodBackup, auth.MethodPasskey:
	case "password":
	case "":
		method = "code"
	default:
		method = "other"
	}
	s.metrics.SignIn(method, outcome(err))
}

// outcome is how the metrics name the result of a step that returned err.
func outcome(err error) string {
	switch {
	case err == nil:
		return metrics.ResultSuccess
	case errors.Is(err, ErrFailed), errors.Is(err, ErrWrongCode), errors.Is(err, ErrWrongOTP), errors.Is(err, ErrPasskeyFailed):
		return metrics.ResultFailure
	case errors.Is(err, ErrThrottled), errors.Is(err, ErrTooManyTries), errors.Is(err, ErrTooManyCeremonies):
		return metrics.ResultThrottled
	case errors.Is(err, auth.ErrBusy):
		return metrics.ResultBusy
	case errors.Is(err, ErrIncomplete), errors.Is(err, ErrNoSignIn), errors.Is(err, ErrNotAtStep), errors.Is(err, ErrNoPasskey):
		return metrics.ResultRejected
	}
	return metrics.ResultError
}
