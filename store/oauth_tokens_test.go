package store_test

import (
	"context"
	"testing"

	"github.com/weftid/weftid/store"
)

func TestRevokeUserTokensTouchesOnlyThatUser(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := createUser(t, s, "a@example.com", "A", store.RoleUser)
	b := createUser(t, s, "b@example.com", "B", store.RoleUser)
	db := store.RawDB(s)
	for i, uid := range []int64{a.ID, a.ID, b.ID} {
		if _, err := db.Exec(`INSERT INTO oauth_access_tokens (id_hash, grant_id, client_id, subject, user_id, scopes, audience, issued_at, expires_at)
			VALUES (?, 'g', 'c', 's', ?, 'openid', 'c', 1, 2)`, []byte{byte(i)}, uid); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO oauth_refresh_tokens (token_hash, grant_id, client_id, user_id, scopes, auth_time, expires_at)
			VALUES (?, 'g', 'c', ?, 'openid', 1, 2)`, []byte{byte(i)}, uid); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.RevokeUserTokens(ctx, a.ID)
	if err != nil || n != 4 {
		t.Fatalf("RevokeUserTokens(a) = %d, %v; want 4 (two access, two refresh)", n, err)
	}
	var left int
	db.QueryRow(`SELECT (SELECT count(*) FROM oauth_access_tokens WHERE user_id = ?) + (SELECT count(*) FROM oauth_refresh_tokens WHERE user_id = ?)`, b.ID, b.ID).Scan(&left)
	if left != 2 {
		t.Errorf("b has %d tokens after revoking a's, want 2", left)
	}
	if n, err := s.RevokeUserTokens(ctx, a.ID); err != nil || n != 0 {
		t.Errorf("second RevokeUserTokens(a) = %d, %v; want 0, nil", n, err)
	}
}
