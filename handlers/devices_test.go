package handlers_test

// Device trust through the real app: a browser that signed in before keeps signing in while
// its account is locked by guesses from elsewhere; others are refused as before.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

const deviceCookieName = "weftid_device"

// devices lists a user's devices as stored.
func (e *env) devices(userID int64) []store.Device {
	e.t.Helper()
	ds, err := e.store.UserDevices(context.Background(), userID, e.clock.Now())
	if err != nil {
		e.t.Fatalf("UserDevices: %v", err)
	}
	return ds
}

// trustedBrowser signs in as email on a new browser and signs out again: it keeps only its
// device cookie.
func (e *env) trustedBrowser(email string) *client {
	e.t.Helper()
	c := e.newClient()
	c.signIn(email, testPassword)
	expectRedirect(e.t, c.post("/logout", nil), "/login?notice=signed_out")
	if c.cookieValue(deviceCookieName) == "" {
		e.t.Fatalf("no %s cookie after a finished sign-in", deviceCookieName)
	}
	return c
}

// lockOut guesses wrong 5 times at email from a browser of its own, as an attacker would,
// until the address is refused there.
func (e *env) lockOut(email string) {
	e.t.Helper()
	a := e.newClient()
	a.get("/login")
	for i := 1; i <= 5; i++ {
		if r := loginAttempt(a, email, fmt.Sprintf("wrong %d", i)); r.Status != http.StatusUnauthorized {
			e.t.Fatalf("attacker's guess %d: got %d, want 401\n%s", i, r.Status, r)
		}
	}
	if r := loginAttempt(a, email, testPassword); r.Status != http.StatusTooManyRequests {
		e.t.Fatalf("attacker's 6th attempt: got %d, want 429\n%s", r.Status, r)
	}
}

// expectRefused checks that c, with the right password, is throttled.
func expectRefused(t *testing.T, c *client, email, why string) {
	t.Helper()
	if c.token() == "" {
		c.get("/login")
	}
	r := loginAttempt(c, email, testPassword)
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("%s: got %d, want 429\n%s", why, r.Status, r)
	}
	expectAlert(t, r, msgThrottled)
}

// TestDeviceSignsInThroughLockout: (a) a browser that signed in before still signs in after
// another client guessed wrong 5 times at the same address, and (b) a browser without its
// device cookie is refused as before.
func TestDeviceSignsInThroughLockout(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("dora@example.com", "Dora", store.RoleUser, store.StatusActive)
	known := e.trustedBrowser(u.Email)
	e.lockOut(u.Email)

	expectRefused(t, e.newClient(), u.Email, "a new browser with the right password")
	known.signIn(u.Email, testPassword)
	checkEvent(t, e.lastEvent("user_signed_in"), "user_signed_in", u.ID, "")

	// Its own wrong guesses count against it alone: 5 lock it, and nobody else.
	expectRedirect(t, known.post("/logout", nil), "/login?notice=signed_out")
	for i := 1; i <= 5; i++ {
		if r := loginAttempt(known, u.Email, "wrong"); r.Status != http.StatusUnauthorized {
			t.Fatalf("the known browser's wrong guess %d: got %d, want 401", i, r.Status)
		}
	}
	expectRefused(t, known, u.Email, "the known browser after 5 wrong guesses of its own")
	checkEvent(t, e.lastEvent("login_failed"), "login_failed", 0, "throttled")
}

// TestDeviceSignsInFromFloodedIP: failures from the known browser's own address (a shared
// network), which throttle the IP, do not refuse it either.
func TestDeviceSignsInFromFloodedIP(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("ike@example.com", "Ike", store.RoleUser, store.StatusActive)
	known := e.trustedBrowser(u.Email)
	neighbour := e.newClient()
	neighbour.ip = known.ip
	neighbour.get("/login")
	for i := 0; i < 30; i++ {
		if r := loginAttempt(neighbour, fmt.Sprintf("guess%d@example.com", i), "wrong"); r.Status != http.StatusUnauthorized {
			t.Fatalf("neighbour's failure %d: got %d, want 401", i+1, r.Status)
		}
	}
	expectRefused(t, neighbour, u.Email, "the flooded IP without a device cookie")
	expectRedirect(t, loginAttempt(known, u.Email, testPassword), "/login/verify")
}

// TestDeviceCookieRotates: (d) each sign-in gives the browser a new device token for the same
// device, and the old token no longer counts.
func TestDeviceCookieRotates(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("flo@example.com", "Flo", store.RoleUser, store.StatusActive)
	known := e.trustedBrowser(u.Email)
	old := known.cookieValue(deviceCookieName)
	before := e.devices(u.ID)
	if len(before) != 1 {
		t.Fatalf("%d devices after the first sign-in, want 1", len(before))
	}

	e.clock.Advance(time.Hour)
	known.signIn(u.Email, testPassword)
	rotated := known.cookieValue(deviceCookieName)
	if rotated == "" || rotated == old {
		t.Fatalf("device cookie after the second sign-in = %q, want a new value (old %q)", rotated, old)
	}
	after := e.devices(u.ID)
	if len(after) != 1 || after[0].ID != before[0].ID || !after[0].LastSignInAt.Equal(e.clock.Now()) || !after[0].CreatedAt.Equal(before[0].CreatedAt) {
		t.Errorf("devices after the second sign-in = %+v, want device %d again, last sign-in now, created as before", after, before[0].ID)
	}

	e.lockOut(u.Email)
	stale := e.newClient()
	stale.setCookie(deviceCookieName, old)
	expectRefused(t, stale, u.Email, "a browser with the device's old token")
	expectRedirect(t, known.post("/logout", nil), "/login?notice=signed_out")
	expectRedirect(t, loginAttempt(known, u.Email, testPassword), "/login/verify")

	// Another user's device cookie counts for nothing at this address; signing in makes that
	// browser a device of its own for this user.
	other := e.createUser("gus@example.com", "Gus", store.RoleUser, store.StatusActive)
	gus := e.trustedBrowser(other.Email)
	expectRefused(t, gus, u.Email, "a browser with another user's device cookie")
	if n := len(e.devices(u.ID)); n != 1 {
		t.Errorf("%d devices of flo, want 1", n)
	}
}

// TestDeviceCodeGuessesCountApart: someone who knows the password and guesses codes until the
// account's code limit is reached does not refuse the code of a browser that signed in before.
func TestDeviceCodeGuessesCountApart(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("hal@example.com", "Hal", store.RoleUser, store.StatusActive)
	known := e.trustedBrowser(u.Email)
	e.clock.Advance(5 * time.Minute) // a fresh allowance of code mails

	thief := e.newClient()
	thief.startSignIn(u.Email, testPassword)
	e.waitCode(u.Email)
	for i := 1; i <= 10; i++ {
		r := thief.post("/login/verify", url.Values{"code": {"000000"}, "method": {"email"}})
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("thief's wrong code %d: got %d, want 401\n%s", i, r.Status, r)
		}
	}
	if r := thief.post("/login/verify", url.Values{"code": {"000000"}, "method": {"email"}}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("thief's 11th code: got %d, want 429", r.Status)
	}

	stranger := e.newClient()
	stranger.startSignIn(u.Email, testPassword)
	code := e.waitCode(u.Email)
	if r := stranger.post("/login/verify", url.Values{"code": {code}, "method": {"email"}}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a new browser's right code while the account's code limit is reached: got %d, want 429", r.Status)
	}
	known.signIn(u.Email, testPassword)
}

// TestSignOutEverywhereForgetsDevices: (c) an admin's Sign out everywhere removes the user's
// devices, so the old cookie no longer counts as trusted.
func TestSignOutEverywhereForgetsDevices(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	u := e.createUser("ivy@example.com", "Ivy", store.RoleUser, store.StatusActive)
	known := e.trustedBrowser(u.Email)

	expectRedirect(t, admin.post(fmt.Sprintf("/users/%d/sign-out-everywhere", u.ID), nil),
		fmt.Sprintf("/users/%d/danger?notice=signed_out_everywhere", u.ID))
	if n := len(e.devices(u.ID)); n != 0 {
		t.Errorf("%d devices after Sign out everywhere, want 0", n)
	}
	ev := e.lastEvent("user_signed_out_everywhere")
	if n, _ := ev.Details["devices"].(float64); n != 1 {
		t.Errorf("user_signed_out_everywhere details %v, want devices: 1", ev.Details)
	}
	e.lockOut(u.Email)
	expectRefused(t, known, u.Email, "the browser whose device was forgotten")
}

// TestDeactivationForgetsDevices: a deactivated user's devices go with their sessions.
func TestDeactivationForgetsDevices(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	u := e.createUser("jo@example.com", "Jo", store.RoleUser, store.StatusActive)
	e.trustedBrowser(u.Email)
	expectRedirect(t, admin.post(fmt.Sprintf("/users/%d/deactivate", u.ID), nil), fmt.Sprintf("/users/%d/danger?notice=deactivated", u.ID))
	if n := len(e.devices(u.ID)); n != 0 {
		t.Errorf("%d devices after deactivation, want 0", n)
	}
}

// TestAccountSecurityDevices: (e) Account > Security lists the user's devices with their last
// sign-in, marks this browser, and removes one.
func TestAccountSecurityDevices(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("kim@example.com", "Kim", store.RoleUser, store.StatusActive)
	other := e.trustedBrowser(u.Email)
	e.clock.Advance(5 * time.Minute)
	c := e.newClient()
	c.signIn(u.Email, testPassword)

	r := c.get("/account/security")
	expectStatus(t, r, http.StatusOK)
	for _, want := range []string{`id="devices"`, other.ip, c.ip, e.clock.Now().Format("2 Jan 2006 15:04 UTC")} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("Account > Security does not show %q", want)
		}
	}
	if n := strings.Count(r.Body, "(this browser)"); n != 1 {
		t.Errorf("%q appears %d times, want once", "(this browser)", n)
	}
	ds := e.devices(u.ID)
	if len(ds) != 2 || ds[0].IP != c.ip || ds[1].IP != other.ip {
		t.Fatalf("devices = %+v, want this browser's then the other's", ds)
	}
	removePath := fmt.Sprintf("/account/security/devices/%d/remove", ds[1].ID)
	if !strings.Contains(r.Body, `action="`+removePath+`"`) {
		t.Errorf("no Remove form for device %d", ds[1].ID)
	}

	// Someone else's device is not found; a form without the CSRF token is refused.
	stranger := e.createUser("lou@example.com", "Lou", store.RoleUser, store.StatusActive)
	e.trustedBrowser(stranger.Email)
	sd := e.devices(stranger.ID)
	expectStatus(t, c.post(fmt.Sprintf("/account/security/devices/%d/remove", sd[0].ID), nil), http.StatusNotFound)
	expectStatus(t, c.postRaw(removePath, url.Values{}, nil), http.StatusForbidden)

	expectRedirect(t, c.post(removePath, nil), "/account/security?notice=device_removed")
	ev := e.lastEvent("device_removed")
	checkEvent(t, ev, "device_removed", u.ID, "")
	if got, _ := ev.Details["device_id"].(float64); int64(got) != ds[1].ID {
		t.Errorf("device_removed details %v, want device_id %d", ev.Details, ds[1].ID)
	}
	if left := e.devices(u.ID); len(left) != 1 || left[0].ID != ds[0].ID {
		t.Errorf("devices after Remove = %+v, want only this browser's", left)
	}
	if len(e.devices(stranger.ID)) != 1 {
		t.Error("another user's device went too")
	}
	r = c.get("/account/security?notice=device_removed")
	if strings.Contains(r.Body, other.ip) {
		t.Error("the removed device is still listed")
	}

	// The removed browser's cookie no longer counts.
	e.lockOut(u.Email)
	expectRefused(t, other, u.Email, "the removed browser")
}

// TestDeviceCookieAttributes: under https the device cookie is __Host- prefixed, Secure,
// HttpOnly, SameSite=Lax, and lasts 180 days.
func TestDeviceCookieAttributes(t *testing.T) {
	e := newEnvWith(t, envOptions{baseURL: "https://id.example.com"})
	u := e.createUser("max@example.com", "Max", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	r := c.post("/login/verify", url.Values{"code": {e.waitCode(u.Email)}, "method": {"email"}})
	expectRedirect(t, r, "/dashboard")
	ck := r.cookie("__Host-" + deviceCookieName)
	if ck == nil {
		t.Fatalf("no __Host-%s cookie; got %v", deviceCookieName, r.Cookies)
	}
	if !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("device cookie: Secure=%v HttpOnly=%v Path=%q Domain=%q SameSite=%v; want Secure, HttpOnly, /, no Domain, Lax",
			ck.Secure, ck.HttpOnly, ck.Path, ck.Domain, ck.SameSite)
	}
	if want := e.clock.Now().Add(180 * 24 * time.Hour); !ck.Expires.Equal(want) {
		t.Errorf("device cookie expires %v, want %v (180 days)", ck.Expires, want)
	}
}
