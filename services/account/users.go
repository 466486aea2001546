package account

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/weftid/weftid/store"
)

// UsersPageSize is the most users a search of the user list returns; Capped says when more match.
const UsersPageSize = 200

// UserSearch is a search of the user list as it was run, and what it found.
type UserSearch struct {
	// Filter is the search as run: the text trimmed to at most 200 characters, a role or status
	// that is not one dropped.
	Filter store.UserFilter
	Users  []store.UserSummary
	Capped bool // more users match than Users holds
}

// SearchUsers lists the users that match f (name or email, role, status), with their factors,
// at most UsersPageSize of them.
func (s *Service) SearchUsers(ctx context.Context, f store.UserFilter) (UserSearch, error) {
	f.Q = strings.TrimSpace(f.Q)
	if utf8.RuneCountInString(f.Q) > 200 {
		f.Q = string([]rune(f.Q)[:200])
	}
	if !f.Role.Valid() {
		f.Role = ""
	}
	if f.Status != store.StatusActive && f.Status != store.StatusInactive {
		f.Status = ""
	}
	f.Limit = UsersPageSize + 1
	users, err := s.store.SearchUsers(ctx, f)
	r := UserSearch{Filter: f, Users: users}
	if len(users) > UsersPageSize {
		r.Users, r.Capped = users[:UsersPageSize], true
	}
	return r, err
}
