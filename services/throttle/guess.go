package throttle

import (
	"context"

	"github.com/weftid/weftid/store"
)

// FailedGuess counts a wrong guess against each check and logs its event, in one transaction:
// every guess is throttled and every attempt recorded.
func (l *Limiter) FailedGuess(ctx context.Context, ev store.Event, checks ...Check) error {
	return l.store.InTx(ctx, func(tx *store.Tx) error {
		if err := l.Fail(ctx, tx, checks...); err != nil {
			return err
		}
		return tx.AddEvent(ctx, ev)
	})
}
