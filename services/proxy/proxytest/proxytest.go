// Package proxytest fills a store with live proxy sessions, for the benchmarks of the
// forward-auth check: users, their weftid sessions, and one proxy session each at one app.
package proxytest

import (
	"context"
	"fmt"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/proxy"
	"github.com/weftid/weftid/store"
)

// Host is the proxied app's host the sessions are for.
const Host = "wiki.example.test"

// Seed registers an app at Host and makes n live proxy sessions there (n users, each signed in
// once), in one transaction; it returns the values of their cookies.
func Seed(ctx context.Context, st *store.Store, keys auth.Keys, n int) ([]string, error) {
	now := time.Now()
	tokens := make([]string, n)
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateProxyApp(ctx, store.ProxyApp{Name: "Wiki", Host: Host, CreatedAt: now}); err != nil {
			return err
		}
		for i := range tokens {
			u, err := tx.CreateUser(ctx, store.User{Email: fmt.Sprintf("user%d@example.com", i), Name: fmt.Sprintf("User %d", i), Role: store.RoleUser}, now)
			if err != nil {
				return err
			}
			sess := store.Session{IDHash: keys.HashToken("session", auth.NewToken()), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(auth.SessionTTL)}
			if err := tx.CreateSession(ctx, sess); err != nil {
				return err
			}
			tokens[i] = auth.NewToken()
			err = tx.CreateProxySession(ctx, store.ProxySession{IDHash: proxy.SessionIDHash(keys, tokens[i]), SessionHash: sess.IDHash, Host: Host, CreatedAt: now, ExpiresAt: sess.ExpiresAt})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return tokens, err
}
