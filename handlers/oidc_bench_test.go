package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// benchLiveTokens is how many live access tokens the store holds during the benchmark.
const benchLiveTokens = 100_000

// BenchmarkIntrospection measures POST /oauth2/introspect over loopback HTTP against the real
// app on a real database (each dialect, onEachDialect) holding benchLiveTokens live access
// tokens (of 1,000 users), asked by a resource server (a service client, HTTP Basic) about a random one of them each time.
// Each answer is checked to be "active": true. The tokens are the opaque tokens op hands out
// (sealed "id:subject" under the provider's key), stored as the app stores them: the keyed hash
// of the id.
func BenchmarkIntrospection(b *testing.B) { onEachDialect(b, benchIntrospection) }

func benchIntrospection(b *testing.B, db string) {
	ctx := context.Background()
	st := storetest.OpenAt(b, db)
	secretKey := []byte("0123456789abcdef0123456789abcdef")
	keys := auth.NewKeys(secretKey)
	now := time.Now()

	const users = 1000
	uids := make([]int64, users)
	for i := range uids {
		u, err := st.CreateUser(ctx, store.User{Email: fmt.Sprintf("u%d@example.com", i), Name: "U", Role: store.RoleUser}, now)
		if err != nil {
			b.Fatal(err)
		}
		uids[i] = u.ID
	}
	const rsID, rsSecret = "resource-server", "resource-server-secret-0123456789"
	err := st.CreateOAuthClient(ctx, store.OAuthClient{ClientID: rsID, Name: "RS", Confidential: true, Service: true,
		SecretHash: keys.HashToken("oauth_client_secret", rsSecret), CreatedAt: now, UpdatedAt: now})
	if err != nil {
		b.Fatal(err)
	}
	var cryptoKey [32]byte
	copy(cryptoKey[:], keys.HashToken("oidc_crypto_key", ""))
	crypto := op.NewAESCrypto(cryptoKey)
	tokens := make([]string, benchLiveTokens)
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for i := range tokens {
			id := auth.NewToken()
			uid := uids[i%users]
			sub := strconv.FormatInt(uid, 10)
			t := store.OAuthAccessToken{
				OAuthGrant: store.OAuthGrant{GrantID: auth.NewToken(), ClientID: "app", Subject: sub, UserID: uid, Scopes: []string{"openid", "email"}},
				Audience:   []string{"app"}, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour),
			}
			if err := tx.CreateOAuthAccessToken(ctx, keys.HashToken("oauth_access", id), t); err != nil {
				return err
			}
			if tokens[i], err = op.CreateBearerToken(id, sub, crypto); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	mailer, err := mail.New(mail.Config{From: "weftid@localhost"}, discard)
	if err != nil {
		b.Fatal(err)
	}
	hasher, err := auth.NewHasher(testParams, 1, 16, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	u, _ := url.Parse(base)
	app := handlers.New(handlers.Config{BaseURL: u, Store: st, Mailer: mailer, Hasher: hasher, Keys: keys, Log: discard})
	go app.Listener(ln)
	b.Cleanup(func() { app.Shutdown() })
	waitForSAMLKey(b, "http://"+ln.Addr().String())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	endpoint := "http://" + ln.Addr().String() + "/oauth2/introspect"

	introspect := func(token string) error {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader("token="+url.QueryEscape(token)))
		req.Host = u.Host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(rsID, rsSecret)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"active":true`)) {
			return fmt.Errorf("introspection: %d %s", resp.StatusCode, body)
		}
		return nil
	}
	if err := introspect(tokens[0]); err != nil { // warm up, and prove the setup
		b.Fatal(err)
	}
	// The store is filled once; the sub-benchmark is what runs b.N times.
	b.Run("live=100000", func(b *testing.B) {
		b.SetParallelism(4) // 4 × GOMAXPROCS clients
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			for pb.Next() {
				if err := introspect(tokens[r.IntN(len(tokens))]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "introspections/s")
	})
}
