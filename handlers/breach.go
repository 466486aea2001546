package handlers

// The weekly breach re-check. It lives in handlers, beside the pages, because a hit does what
// an admin's forced reset does (revokeUserTokens, the event log, mail to admins) and must do it
// the same way; "Run now" on the Passwords page schedules it.
//
// Its schedule and progress are one row of the database (store.BreachJob), so a restart
// neither repeats nor skips a run, and an interrupted run resumes at the first prefix it had
// not finished. A run takes the distinct breach prefixes in order, a page at a time, asks the
// range service for each prefix once (Concurrency at a time), and compares the keyed HMAC of
// every returned SHA-1 with those stored for the users of that prefix.

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
)

// Breach job defaults.
const (
	BreachInterval       = 7 * 24 * time.Hour // between the starts of two runs
	breachRetryDelay     = 15 * time.Minute   // before a run stopped by an error resumes
	breachPagePrefixes   = 512                // distinct prefixes read from the database at a time
	breachSaveEvery      = 64                 // prefixes finished between two saves of the progress
	breachDefaultWorkers = 8
)

// BreachJobConfig is what the weekly job needs.
type BreachJobConfig struct {
	Store   *store.Store
	Mailer  Mailer
	Keys    auth.Keys
	HIBP    *auth.HIBP // nil: off, the job does nothing
	Log     *slog.Logger
	Now     func() time.Time
	BaseURL *url.URL // for the link in the mail to admins
	// Concurrency is how many ranges are asked for at once (default 8).
	Concurrency int
	// Tick is how often Run looks at the schedule (default a minute).
	Tick time.Duration
}

// BreachJob is the weekly breach re-check. Run drives it from serve; Step does one look at
// the schedule (what Run does every Tick), so tests drive it with their own clock.
type BreachJob struct {
	cfg  BreachJobConfig
	mu   sync.Mutex // one run at a time
	wake chan struct{}
}

// NewBreachJob makes the job; it does nothing until Run or Step.
func NewBreachJob(cfg BreachJobConfig) *BreachJob {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = breachDefaultWorkers
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Minute
	}
	return &BreachJob{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Enabled reports whether the job checks anything (a breach service is configured).
func (j *BreachJob) Enabled() bool { return j.cfg.HIBP.Enabled() }

// Run looks at the schedule every Tick, and at once when RunNow wakes it, until ctx ends.
func (j *BreachJob) Run(ctx context.Context) {
	if !j.Enabled() {
		return
	}
	t := time.NewTicker(j.cfg.Tick)
	defer t.Stop()
	for {
		if err := j.Step(ctx); err != nil && ctx.Err() == nil {
			j.cfg.Log.Warn("breach check stopped; it resumes later", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-j.wake:
		}
	}
}

// RunNow makes a run due now (or a stopped run resume now) and wakes Run.
func (j *BreachJob) RunNow(ctx context.Context) error {
	if err := j.cfg.Store.RequestBreachRun(ctx, j.cfg.Now()); err != nil {
		return err
	}
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return nil
}

// Step looks at the schedule once: on the first start it schedules the first run a week
// ahead; when a run is due it starts it, or resumes the one under way, and works until it is
// done, it fails (it resumes after a delay) or ctx ends (it resumes at the next Step).
func (j *BreachJob) Step(ctx context.Context) error {
	if !j.Enabled() {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.cfg.Now()
	st, err := j.cfg.Store.BreachJob(ctx)
	if err != nil {
		return err
	}
	if st.NextRunAt.IsZero() {
		return j.cfg.Store.ScheduleFirstBreachRun(ctx, now.Add(BreachInterval))
	}
	if now.Before(st.NextRunAt) {
		return nil
	}
	if !st.Running {
		started, err := j.cfg.Store.StartBreachRun(ctx, now)
		if err != nil || !started {
			return err
		}
		if st, err = j.cfg.Store.BreachJob(ctx); err != nil {
			return err
		}
		j.cfg.Log.Info("breach check started", "service", j.cfg.HIBP.String())
	} else {
		j.cfg.Log.Info("breach check resumed", "after_prefix", st.Cursor, "users_checked", st.UsersChecked)
	}
	runErr := j.run(ctx, st)
	// Save what was done even when ctx ended (a shutdown): the next start resumes from there.
	sctx := context.WithoutCancel(ctx)
	if runErr != nil {
		if ctx.Err() != nil {
			return errors.Join(runErr, ctx.Err())
		}
		return errors.Join(runErr, j.cfg.Store.StopBreachRun(sctx, runErr.Error(), j.cfg.Now().Add(breachRetryDelay)))
	}
	done := j.cfg.Now()
	err = j.cfg.Store.InTx(sctx, func(tx *store.Tx) error {
		cur, err := tx.BreachJob(sctx)
		if err != nil {
			return err
		}
		if err := tx.FinishBreachRun(sctx, done, st.RunStartedAt.Add(BreachInterval)); err != nil {
			return err
		}
		return tx.AddEvent(sctx, store.Event{At: done, Type: store.EventPasswordBreachCheckCompleted, Details: map[string]any{
			"users_checked": cur.UsersChecked, "hits": cur.Hits, "requests": cur.Requests,
			"started_at": st.RunStartedAt.Format(time.RFC3339),
		}})
	})
	if err == nil {
		j.cfg.Log.Info("breach check finished", "next_run", st.RunStartedAt.Add(BreachInterval))
	}
	return err
}

// breachPrefix is one prefix of a page and the users whose passwords have it.
type breachPrefix struct {
	prefix string
	users  []store.BreachCandidate
}

// breachResult is a finished prefix: the users whose HMAC matched a breached SHA-1.
type breachResult struct {
	index int
	hits  []breachHit
	err   error
}

type breachHit struct {
	user  store.BreachCandidate
	count int
}

// run works through the prefixes after the saved cursor, a page at a time.
func (j *BreachJob) run(ctx context.Context, st store.BreachJob) error {
	p := store.BreachProgress{Cursor: st.Cursor, DoneAhead: st.DoneAhead, UsersChecked: st.UsersChecked, Hits: st.Hits, Requests: st.Requests}
	for {
		cands, err := j.cfg.Store.BreachCandidates(ctx, p.Cursor, breachPagePrefixes)
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			return nil
		}
		var page []breachPrefix
		for _, c := range cands {
			if len(page) == 0 || page[len(page)-1].prefix != c.Prefix {
				page = append(page, breachPrefix{prefix: c.Prefix})
			}
			page[len(page)-1].users = append(page[len(page)-1].users, c)
		}
		if err := j.runPage(ctx, page, &p, st.RunStartedAt); err != nil {
			return err
		}
	}
}

// runPage asks for every prefix of page, Concurrency at a time, and applies the results in
// the order they come. The progress moves its cursor past each prefix once it and every
// prefix before it is done; those done out of order are kept in DoneAhead.
func (j *BreachJob) runPage(ctx context.Context, page []breachPrefix, p *store.BreachProgress, runStarted time.Time) error {
	done := make([]bool, len(page))
	for i, bp := range page {
		done[i] = slices.Contains(p.DoneAhead, bp.prefix) // finished before an interruption
	}
	// Prefixes finished before an interruption that lie beyond this page (users added since
	// pushed them out of it) stay recorded for the next page.
	var carry []string
	for _, prefix := range p.DoneAhead {
		if prefix > page[len(page)-1].prefix {
			carry = append(carry, prefix)
		}
	}
	mark := 0 // page[:mark] are done and the cursor is past them
	advance := func() {
		for mark < len(page) && done[mark] {
			mark++
		}
		if mark > 0 {
			p.Cursor = page[mark-1].prefix
		}
		p.DoneAhead = slices.Clone(carry)
		for i := mark; i < len(page); i++ {
			if done[i] {
				p.DoneAhead = append(p.DoneAhead, page[i].prefix)
			}
		}
	}
	advance()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	results := make(chan breachResult)
	var wg sync.WaitGroup
	for range j.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mac := j.cfg.Keys.BreachHasher()
			for i := range work {
				hits, err := j.checkPrefix(ctx, page[i], mac)
				select {
				case results <- breachResult{index: i, hits: hits, err: err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range page {
			if done[i] {
				continue
			}
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var failed error
	unsaved := 0
	for r := range results {
		if r.err != nil {
			if failed == nil {
				failed = r.err
				cancel() // stop handing out prefixes; what finished is still saved below
			}
			continue
		}
		prev, prevMark := *p, mark
		prev.DoneAhead = slices.Clone(p.DoneAhead)
		done[r.index] = true
		p.Requests++
		p.UsersChecked += len(page[r.index].users)
		advance()
		unsaved++
		if len(r.hits) == 0 && unsaved < breachSaveEvery {
			continue
		}
		if err := j.applyHits(context.WithoutCancel(ctx), r.hits, p, runStarted); err != nil {
			// Not applied: this prefix is not done, so the saved progress must not pass it.
			done[r.index], *p, mark = false, prev, prevMark
			if failed == nil {
				failed = err
				cancel()
			}
			continue
		}
		unsaved = 0
	}
	if unsaved > 0 {
		if err := j.cfg.Store.SaveBreachProgress(context.WithoutCancel(ctx), *p); err != nil && failed == nil {
			failed = err
		}
	}
	return failed
}

// checkPrefix asks for one range and returns the users whose stored HMAC is that of a
// breached SHA-1 in it.
func (j *BreachJob) checkPrefix(ctx context.Context, bp breachPrefix, mac func([20]byte) []byte) ([]breachHit, error) {
	hashes, err := j.cfg.HIBP.Range(ctx, bp.prefix)
	if err != nil {
		return nil, err
	}
	var hits []breachHit
	for _, h := range hashes {
		sum := mac(h.SHA1)
		for _, u := range bp.users {
			if hmac.Equal(sum, u.HMAC) {
				hits = append(hits, breachHit{user: u, count: h.Count})
			}
		}
	}
	return hits, nil
}

// applyHits flags each hit user, revokes their OAuth2 tokens and logs password_breach_detected
// with the system as actor, saving the progress in the same transaction; then it mails every
// active admin and super admin about each.
func (j *BreachJob) applyHits(ctx context.Context, hits []breachHit, p *store.BreachProgress, runStarted time.Time) error {
	now := j.cfg.Now()
	var flagged []int64
	err := j.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		flagged = flagged[:0]
		for _, hit := range hits {
			id := hit.user.UserID
			err := tx.FlagBreachedPassword(ctx, id, hit.user.HMAC, now)
			if errors.Is(err, store.ErrNotFound) {
				continue // the password changed since the page was read: nothing to flag
			}
			if err != nil {
				return err
			}
			if err := oidc.RevokeUserTokens(ctx, tx, store.Event{At: now, UserID: &id, Details: map[string]any{"reason": "password_breach_detected"}}); err != nil {
				return err
			}
			err = tx.AddEvent(ctx, store.Event{At: now, Type: store.EventPasswordBreachDetected, UserID: &id, Details: map[string]any{
				"breach_count": hit.count, "run_started_at": runStarted.Format(time.RFC3339),
			}})
			if err != nil {
				return err
			}
			flagged = append(flagged, id)
		}
		q := *p
		q.Hits += len(flagged)
		return tx.SaveBreachProgress(ctx, q)
	})
	if err != nil {
		return err
	}
	p.Hits += len(flagged)
	for _, id := range flagged {
		j.notifyAdmins(ctx, id)
	}
	return nil
}

// notifyAdmins mails every active admin and super admin that a user's password was found in a
// breach: who, and what weftid did. The mail does not carry the password or its hash.
func (j *BreachJob) notifyAdmins(ctx context.Context, userID int64) {
	if j.cfg.Mailer == nil {
		return
	}
	u, err := j.cfg.Store.UserByID(ctx, userID)
	if err != nil {
		j.cfg.Log.Error("breach notice not sent", "user_id", userID, "err", err)
		return
	}
	users, err := j.cfg.Store.ListUsers(ctx)
	if err != nil {
		j.cfg.Log.Error("breach notice not sent", "user_id", userID, "err", err)
		return
	}
	link := ""
	if j.cfg.BaseURL != nil {
		link = strings.TrimRight(j.cfg.BaseURL.String(), "/") + fmt.Sprintf("/users/%d", u.ID)
	}
	for _, admin := range users {
		if !admin.Active() || admin.Role.Rank() < store.RoleAdmin.Rank() {
			continue
		}
		intro := fmt.Sprintf("Hello %s,\n\nThe weekly breach check found the password of %s (%s) in a data breach disclosed since it was set.\n\n"+
			"weftid has revoked their OAuth2 tokens, and their next sign-in asks them to choose a new password. "+
			"You do not need to do anything; you may want to tell them.",
			admin.Name, u.Name, u.Email)
		msg := mail.Generic(admin.Email, "A password was found in a data breach", intro, "Open "+u.Name, link)
		if err := j.cfg.Mailer.Send(ctx, msg); err != nil {
			j.cfg.Log.Error("breach notice not sent", "user_id", userID, "admin_id", admin.ID, "err", err)
		}
	}
}
