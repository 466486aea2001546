package views

import (
	"strconv"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// browserName names the browser and system of a user agent in a few words (auth.BrowserName),
// for the list of devices; the full string is kept in the database and the event log.
func browserName(ua string) string { return auth.BrowserName(ua) }

func devicePath(d store.Device) string {
	return "/account/security/devices/" + strconv.FormatInt(d.ID, 10) + "/remove"
}

func lastSignIn(d store.Device) string { return d.LastSignInAt.Format("2 Jan 2006 15:04 UTC") }
