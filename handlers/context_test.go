package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/store/storetest"
)

// Every request runs under a context derived from Config.BaseContext, with a deadline: when main
// cancels the base context at the end of a graceful shutdown, work still running stops. The
// health check asks the database under the request's context, so it tells which one it got.
func TestRequestsRunUnderTheBaseContext(t *testing.T) {
	st := storetest.Open(t)
	hasher, err := auth.NewHasher(testParams, 1, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(baseURL)
	base, cancel := context.WithCancel(context.Background())
	app := handlers.New(handlers.Config{
		BaseURL: u, Store: st, Hasher: hasher, Keys: auth.NewKeys(make([]byte, 32)),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BaseContext: base,
	})
	get := func() int {
		t.Helper()
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/healthz", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != http.StatusOK {
		t.Fatalf("before cancelling: /healthz = %d, want 200", got)
	}
	cancel()
	if got := get(); got != http.StatusServiceUnavailable {
		t.Fatalf("after cancelling the base context: /healthz = %d, want 503 (the request's work was not cancelled)", got)
	}
}
