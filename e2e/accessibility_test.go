package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The team standard, checked on every page: "Every page works at a phone's width and with the
// keyboard; form fields have labels; the strength meter is announced to screen readers
// (aria-live)." Every name in this file starts with a11y, so that it cannot clash with the
// helpers of the other files of the package.

// a11yViewport is one screen the pages are checked on.
type a11yViewport struct {
	name  string
	w, h  int64
	scale float64
	shots bool // save a screenshot of every page (layout_check_test.go)
}

// The phone is emulated with a device scale of 2 but without Chromium's "mobile" mode: in that
// mode a page that is too wide is zoomed out to fit, window.innerWidth grows with it, and the
// sideways scroll this test looks for would hide itself.
var a11yViewports = []a11yViewport{
	{name: "375px", w: 375, h: 740, scale: 2},
	{name: "390px", w: 390, h: 844, scale: 2, shots: true},
	{name: "1280px", w: 1280, h: 900, scale: 1, shots: true},
}

// a11yTabLimit is how many presses of Tab may pass before the first control of <main> has focus.
const a11yTabLimit = 15

// a11yReport is what a11yAudit reads from a page in one go.
type a11yReport struct {
	Path      string   `json:"path"`
	Inner     int      `json:"inner"`     // window.innerWidth
	Scroll    int      `json:"scroll"`    // document.documentElement.scrollWidth
	Wide      []string `json:"wide"`      // outermost elements past the right edge, not in a scroller
	WideCount int      `json:"wideCount"` // all elements past the right edge, not in a scroller
	Unlabeled []string `json:"unlabeled"` // form fields without an accessible name
	Nameless  []string `json:"nameless"`  // buttons and links without text or aria-label
	H1s       []string `json:"h1s"`
	Mains     int      `json:"mains"`
	Fields    int      `json:"fields"`  // form fields checked
	Actions   int      `json:"actions"` // buttons and links checked
	// The strength meter's region, on a page that has #new_password-meter.
	Meter     bool   `json:"meter"`
	MeterLive string `json:"meterLive"`
}

// a11yAudit reads everything the standard asks of a page, except the keyboard. An element counts
// when it is rendered, or folded in a closed <details> (opening it shows the element, so it must
// be named too); elements hidden otherwise (hidden, display: none) do not.
const a11yAudit = `(() => {
	const inner = window.innerWidth;
	const root = document.documentElement;
	const describe = e => {
		let s = e.tagName.toLowerCase();
		if (e.id) s += "#" + e.id;
		if (typeof e.className === "string" && e.className.trim()) s += "." + e.className.trim().split(/\s+/).join(".");
		for (const a of ["type", "name", "href", "action", "aria-label"]) {
			const v = e.getAttribute(a);
			if (v !== null && !(a === "type" && e.tagName !== "INPUT")) s += "[" + a + "=" + JSON.stringify(v.slice(0, 40)) + "]";
		}
		const text = (e.innerText || "").trim().replace(/\s+/g, " ");
		if (text && !["INPUT", "SELECT", "TEXTAREA"].includes(e.tagName)) s += " " + JSON.stringify(text.slice(0, 40));
		return s;
	};
	const displayed = (e, upTo) => {
		for (let x = e; x && x !== upTo; x = x.parentElement) {
			if (x.hidden || getComputedStyle(x).display === "none") return false;
		}
		return true;
	};
	// "" when e is not shown, "visible", or "folded" in a closed <details>.
	const shown = e => {
		if (e.checkVisibility({visibilityProperty: true})) return "visible";
		const d = e.closest("details:not([open])");
		if (d && d.checkVisibility({visibilityProperty: true}) && displayed(e, d)) return "folded";
		return "";
	};
	const note = (e, how) => describe(e) + (how === "folded" ? " (folded in a closed <details>)" : "");

	// 1. Sideways scroll, and what sticks out. An element inside a box that scrolls sideways
	// (.table-scroll) scrolls there, not the page; but an absolutely positioned element escapes
	// every scroller up to its containing block (its offsetParent), and a fixed one all of them.
	const scrolls = e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
	const inScroller = e => {
		let escape = null; // the containing block that an ancestor must be, or be above, to clip
		for (let x = e; x && x !== document.body && x !== root; x = x.parentElement) {
			if (x === escape) escape = null;
			if (x !== e && escape === null && scrolls(x)) return true;
			const pos = getComputedStyle(x).position;
			if (pos === "fixed") return false;
			if (pos === "absolute" && escape === null) {
				escape = x.offsetParent;
				if (!escape || escape === document.body) return false;
			}
		}
		return false;
	};
	const past = Array.from(document.body.querySelectorAll("*")).filter(e => {
		const r = e.getBoundingClientRect();
		return (r.width > 0 || r.height > 0) && r.right > inner + 1 && !inScroller(e);
	});
	const pastSet = new Set(past);
	const wide = past.filter(e => !pastSet.has(e.parentElement)).slice(0, 12).map(e => {
		const r = e.getBoundingClientRect();
		const pos = getComputedStyle(e).position;
		let s = describe(e) + " right=" + Math.round(r.right) + " width=" + Math.round(r.width);
		if (pos === "absolute" || pos === "fixed") {
			const cb = e.offsetParent;
			s += " (position: " + pos + ", containing block " + (cb ? cb.tagName.toLowerCase() + (cb.id ? "#" + cb.id : "") : "the viewport") + ")";
		}
		return s;
	});

	// 2. Form fields have an accessible name.
	const textWithout = (label, field) => {
		const c = label.cloneNode(true);
		c.querySelectorAll("input, select, textarea").forEach(x => x.remove());
		return c.textContent.trim();
	};
	const fieldName = e => {
		if ((e.getAttribute("aria-label") || "").trim()) return "aria-label";
		const by = (e.getAttribute("aria-labelledby") || "").trim();
		if (by && by.split(/\s+/).some(id => (document.getElementById(id)?.textContent || "").trim())) return "aria-labelledby";
		for (const l of Array.from(e.labels || [])) {
			if (textWithout(l, e)) return l.contains(e) ? "wrapping label" : "label[for]";
		}
		return "";
	};
	const unlabeled = [];
	let fields = 0;
	for (const e of document.querySelectorAll("input, select, textarea")) {
		if (e.tagName === "INPUT" && ["hidden", "submit", "button", "reset", "image"].includes(e.type)) continue;
		const how = shown(e);
		if (!how) continue;
		fields++;
		if (!fieldName(e)) {
			const labels = Array.from(e.labels || []).map(l => JSON.stringify(l.textContent.trim()));
			unlabeled.push(note(e, how) + (e.placeholder ? " placeholder=" + JSON.stringify(e.placeholder) : "") +
				(labels.length ? " labels=" + labels.join(",") : " (no <label>, aria-label or aria-labelledby)"));
		}
	}

	// 3. Buttons and links have text or an aria-label.
	const nameless = [];
	let actions = 0;
	for (const e of document.querySelectorAll("a[href], button, [role=button], [role=link], input[type=submit], input[type=button], input[type=reset]")) {
		const how = shown(e);
		if (!how) continue;
		actions++;
		const by = (e.getAttribute("aria-labelledby") || "").trim();
		const name = (e.getAttribute("aria-label") || "").trim() ||
			(by ? by.split(/\s+/).map(id => (document.getElementById(id)?.textContent || "").trim()).join(" ").trim() : "") ||
			(e.tagName === "INPUT" ? (e.value || "").trim() : e.textContent.trim()) ||
			Array.from(e.querySelectorAll("img[alt]"), i => i.alt.trim()).join(" ").trim();
		if (!name) nameless.push(note(e, how));
	}

	const region = document.getElementById("new_password-meter");
	return {
		path: location.pathname + location.search,
		inner,
		scroll: root.scrollWidth,
		wide,
		wideCount: past.length,
		unlabeled,
		nameless,
		h1s: Array.from(document.querySelectorAll("h1"), h => h.textContent.trim().replace(/\s+/g, " ")),
		mains: document.querySelectorAll("main").length,
		fields,
		actions,
		meter: !!region,
		meterLive: region ? (region.getAttribute("aria-live") ?? "(none)") : "",
	};
})()`

// a11yFocus is where the focus is after a press of Tab.
type a11yFocus struct {
	Desc     string `json:"desc"`
	Skip     bool   `json:"skip"`     // the focus is on the "Skip to content" link to #main
	InMain   bool   `json:"inMain"`   // the focus is inside <main>
	IsFirst  bool   `json:"isFirst"`  // the focus is on the first control or link of <main>
	First    string `json:"first"`    // that control or link
	Scrolled bool   `json:"scrolled"` // the page scrolled sideways to show the focus
	// In document order, which tab order is while no tabindex is positive: the first element
	// that Tab can reach, and whether it is the skip link.
	DocFirst     string `json:"docFirst"`
	DocFirstSkip bool   `json:"docFirstSkip"`
	Positive     int    `json:"positive"` // elements with a positive tabindex
}

// a11yFocusRead describes document.activeElement, and the first form control or link of <main>
// that is shown (what a press of Tab should reach).
const a11yFocusRead = `(() => {
	const describe = e => {
		if (!e) return "(nothing)";
		let s = e.tagName.toLowerCase();
		if (e.id) s += "#" + e.id;
		const name = e.getAttribute("name");
		if (name) s += "[name=" + name + "]";
		const href = e.getAttribute("href");
		if (href) s += "[href=" + href + "]";
		const text = (e.innerText || "").trim().replace(/\s+/g, " ");
		if (text && !["INPUT", "SELECT", "TEXTAREA", "BODY"].includes(e.tagName)) s += " " + JSON.stringify(text.slice(0, 40));
		return s;
	};
	const main = document.querySelector("main");
	const tabbable = within => Array.from(within.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]"))
		.filter(e => !(e.tagName === "INPUT" && e.type === "hidden") && !e.disabled && e.tabIndex >= 0 &&
			e.checkVisibility({visibilityProperty: true}));
	const first = main && tabbable(main)[0];
	const isSkip = e => {
		const id = (e?.getAttribute("href") || "").replace(/^#/, "");
		return !!e && e.tagName === "A" && e.textContent.trim() === "Skip to content" && !!id && document.getElementById(id) === main;
	};
	const a = document.activeElement;
	const docFirst = tabbable(document.body)[0];
	return {
		desc: describe(a),
		skip: isSkip(a),
		inMain: !!main && !!a && main.contains(a) && a !== main,
		isFirst: !!first && a === first,
		first: describe(first),
		scrolled: window.scrollX !== 0,
		docFirst: describe(docFirst),
		docFirstSkip: isSkip(docFirst),
		positive: document.querySelectorAll("[tabindex]:not([tabindex^='-']):not([tabindex='0'])").length,
	};
})()`

// TestEveryPageAtPhoneWidthAndLabelled visits every page a super admin can open, the pages of
// an admin and of a user, and the signed-out pages (each sign-in step), at 375, 390 and 1280 px,
// and checks the team standard on each: nothing scrolls sideways, no control sticks out of its
// box (and a screenshot is saved, at 390 and 1280 px: layout_check_test.go), form fields have labels, buttons and links have names, one h1 and a <main>,
// the keyboard reaches <main> (at 375 px, on a few pages), and the strength meter is a polite
// live region. It collects every failure and reports them all at the end.
func TestEveryPageAtPhoneWidthAndLabelled(t *testing.T) {
	const (
		superEmail = "frances@example.com"
		adminEmail = "hedy@example.com"
		userEmail  = "alan@example.com"
		password   = "correct horse battery staple 42"
	)
	began := time.Now()
	lap := admLap(t, began)
	srv := startServer(t)
	srv.addUser(t, superEmail, "Frances Allen", "super_admin", password)
	srv.addUser(t, adminEmail, "Hedy Lamarr", "admin", password)
	srv.addUser(t, userEmail, "Alan Turing", "user", password)
	lap("server started, 3 users added")

	// It visits about a hundred page states, each audited and most photographed: more than
	// testTimeout on a busy machine.
	ctx := newBrowserFor(t, 4*time.Minute)
	a11ySelfCheck(t, ctx)
	laySelfCheck(t, ctx)
	// The set-up below clicks the main navigation, which is folded in a Menu on a phone.
	(&a11yChecker{t: t}).viewport(ctx, a11yViewports[len(a11yViewports)-1])

	// The user turns TOTP on and registers a passkey in a browser of their own, so that their
	// profile shows both (with Revoke) and their sign-in asks for TOTP.
	userTab := admTab(t, ctx, "user")
	addAuthenticator(t, userTab)
	pwSignIn(t, userTab, srv, userEmail, password)
	setupTOTP(t, userTab, srv)
	registerPasskey(t, userTab, srv, "Work laptop, Chrome on Linux")
	lap("the user set up TOTP and a passkey")

	// The super admin signs in with the password and the code sent by mail.
	pwSignIn(t, ctx, srv, superEmail, password)
	// An invited user, whose Profile tab shows the invitation and "Send a new invitation".
	lifInvite(t, ctx, srv, "Cleo New", "cleo@example.com")
	ids := a11yUserIDs(t, ctx, srv)
	userID, superID := ids[userEmail], ids[superEmail]
	if userID == 0 || superID == 0 || ids[adminEmail] == 0 {
		t.Fatalf("Users does not list the three users: %v", ids)
	}
	// A passkey, so that Account > Security lists one with its rename field. Then start a TOTP
	// setup, so that /account/security/totp shows its page (it needs a pending key).
	addAuthenticator(t, ctx)
	registerPasskey(t, ctx, srv, "Laptop")
	do(t, ctx, "click Set up TOTP",
		chromedp.Click(chromedp.CSS(totpSetupButton)),
		waitPath("/account/security/totp"),
		chromedp.WaitVisible(chromedp.CSS(totpQR)),
	)
	lap("the super admin signed in")
	oidcClientID, _ := registerOIDCApp(t, ctx, srv, "Wiki", "https://wiki.example.com/cb")
	// A SAML service provider, so that Applications > SAML lists one and the dashboard offers it.
	teamWiki := startSAMLSP(t, srv)
	registerSAMLApp(t, ctx, srv, "Team wiki", teamWiki)
	samlAppPath := currentPath(t, ctx)
	lap("a SAML service provider registered")
	// A group with the super admin in it, which alone may open Team wiki: the group pages, and
	// the page that refuses the user.
	groupPath := grpCreate(t, ctx, srv, "Finance", "Pays people")
	grpAddMember(t, ctx, srv, groupPath, superEmail)
	grpRestrict(t, ctx, srv, samlAppPath, "Finance")
	lap("a group that alone may open Team wiki")
	faRegister(t, ctx, srv, "Team docs", "docs.example.com")
	proxyAppPath := currentPath(t, ctx)

	signedIn := []a11yPage{
		{path: "/dashboard"},
		{path: "/account/security"},
		{path: "/account/security/totp"},
		{path: "/account/password", keyboard: true},
		{path: "/users"},
		{path: "/users/new"},
		{path: fmt.Sprintf("/users/%d/profile", userID)},
		{path: fmt.Sprintf("/users/%d/danger", userID), keyboard: true},
		{path: fmt.Sprintf("/users/%d/events", userID)},
		{path: fmt.Sprintf("/users/%d/groups", userID)},
		{path: fmt.Sprintf("/users/%d/apps", userID)},
		{path: fmt.Sprintf("/users/%d/groups", superID)},
		{path: fmt.Sprintf("/users/%d/apps", superID)},
		{path: "/groups"},
		{path: "/groups/new"},
		{path: groupPath},
		{path: fmt.Sprintf("/users/%d/profile", superID)},
		{path: fmt.Sprintf("/users/%d/danger", superID)},
		{path: fmt.Sprintf("/users/%d/events", superID)},
		{path: fmt.Sprintf("/users/%d/profile", ids["cleo@example.com"])},
		// The new invitation link, shown once after "Send a new invitation" (a POST's answer).
		{path: fmt.Sprintf("/users/%d/resend-invitation", ids["cleo@example.com"]), reach: func(t *testing.T, ctx context.Context) {
			do(t, ctx, "send Cleo a new invitation",
				chromedp.Navigate(srv.url(fmt.Sprintf("/users/%d/profile", ids["cleo@example.com"]))),
				chromedp.Click(chromedp.CSS(lifResend)),
				chromedp.WaitVisible(chromedp.CSS(`#invite-link`)),
			)
		}},
		{path: "/account/profile"},
		{path: "/settings/security/idle-users"},
		{path: "/events"},
		{path: "/settings/security"},
		{path: "/settings/security/authentication"},
		{path: "/settings/security/passwords"},
		{path: "/applications"},
		{path: "/applications/oidc/new"},
		{path: "/applications/oidc/" + oidcClientID},
		// RP-initiated logout: the confirmation, and the page for an address the app did not register.
		{path: "/oauth2/end_session?client_id=" + oidcClientID},
		{path: "/oauth2/end_session?post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F&client_id=" + oidcClientID},
		{path: "/applications/saml"},
		{path: "/applications/saml/new"},
		{path: samlAppPath},
		{path: "/applications/proxy/new"},
		{path: proxyAppPath},
		{path: "/saml/continue/unknown", status: 404},
		{path: "/saml/slo", status: 400},
		{path: "/nope", status: 404},
	}
	// An admin and a user see fewer pages, and other things on them.
	adminTab := admTab(t, ctx, "admin")
	pwSignIn(t, adminTab, srv, adminEmail, password)
	asAdmin := []a11yPage{
		{path: "/dashboard"},
		{path: "/users"},
		{path: fmt.Sprintf("/users/%d/profile", userID)},
		{path: fmt.Sprintf("/users/%d/danger", userID)},
		{path: "/events"},
		{path: "/applications"},
		{path: "/account/security"},
		{path: "/groups"},
		{path: groupPath},
	}
	asUser := []a11yPage{
		{path: "/dashboard"},
		{path: "/account/profile", keyboard: true},
		{path: "/account/security"},
		{path: "/account/password"},
		{path: "/users", status: 403},
		{path: "/groups", status: 403},
		// Team wiki lets in only Finance: opening it shows weftid's no-access page.
		{path: "/saml/sso", reach: func(t *testing.T, ctx context.Context) {
			do(t, ctx, "open Team wiki", chromedp.Navigate(teamWiki.root+"/app"), chromedp.WaitVisible(chromedp.CSS(grpDenied)))
		}},
	}
	c := &a11yChecker{t: t, srv: srv}
	for _, vp := range a11yViewports {
		for _, role := range []struct {
			as    string
			tab   context.Context
			pages []a11yPage
		}{{"super_admin", ctx, signedIn}, {"admin", adminTab, asAdmin}, {"user", userTab, asUser}} {
			c.viewport(role.tab, vp)
			for _, p := range role.pages {
				if p.status == 0 {
					p.status = 200
				}
				p.as = role.as
				c.visit(role.tab, vp, p)
			}
		}
		lap("signed-in pages at " + vp.name)
	}

	// Signed out, in a browser context of its own: no cookies.
	anon := admTab(t, ctx, "signed out")
	for i, vp := range a11yViewports {
		c.viewport(anon, vp)
		c.visit(anon, vp, a11yPage{path: "/login", status: 200, keyboard: true})
		c.visit(anon, vp, a11yPage{path: "/nope", status: 404})
		// The second step of a sign-in of the user with TOTP: the TOTP form, the backup code
		// folded, the passkey button. Reached by signing in; then reloaded at the next width.
		p := a11yPage{path: "/login/verify", status: 200}
		if i == 0 {
			p.reach = func(t *testing.T, ctx context.Context) { passwordOnly(t, ctx, srv, userEmail, password) }
		}
		c.visit(anon, vp, p)
	}
	// The second step of a sign-in of the admin, who has no TOTP: the code sent by mail.
	anonEmail := admTab(t, ctx, "signed out, code by mail")
	for i, vp := range a11yViewports {
		c.viewport(anonEmail, vp)
		p := a11yPage{path: "/login/verify", status: 200}
		if i == 0 {
			p.reach = func(t *testing.T, ctx context.Context) { passwordOnly(t, ctx, srv, adminEmail, password) }
		}
		c.visit(anonEmail, vp, p)
	}
	// The password reset pages: "Forgot password", the reset link's page, and the "Password
	// Reset Required" step of a user an admin flagged (the super admin flags the admin).
	anonReset := admTab(t, ctx, "signed out, resets")
	var resetLink string
	for i, vp := range a11yViewports {
		c.viewport(anonReset, vp)
		c.visit(anonReset, vp, a11yPage{path: "/password/forgot", status: 200})
		if i == 0 {
			do(t, anonReset, "ask for a reset link",
				fill(`#email`, adminEmail),
				chromedp.Click(chromedp.CSS(`form[action="/password/forgot"] button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(noticeSel)),
			)
			resetLink = strings.TrimPrefix(rstResetLink(t, anonReset, srv, adminEmail), srv.url(""))
		}
		c.visit(anonReset, vp, a11yPage{path: resetLink, status: 200})
		c.visit(anonReset, vp, a11yPage{path: "/password/reset/mistyped", status: 404})
		p := a11yPage{path: "/login/reset-password", status: 200}
		if i == 0 {
			p.reach = func(t *testing.T, rctx context.Context) {
				do(t, ctx, "force the admin's password reset",
					chromedp.Navigate(srv.url(fmt.Sprintf("/users/%d/danger", ids[adminEmail]))),
					chromedp.Click(chromedp.CSS(rstForceOpen)),
					chromedp.Click(chromedp.CSS(rstForceYes)),
					chromedp.WaitVisible(chromedp.CSS(noticeSel)),
				)
				do(t, rctx, "sign in as the flagged admin",
					chromedp.Navigate(srv.url("/login")),
					fill(loginEmail, adminEmail),
					fill(loginPassword, password),
					chromedp.Click(chromedp.CSS(loginSubmit)),
					waitPath("/login/reset-password"),
				)
			}
		}
		c.visit(anonReset, vp, p)
	}
	lap("signed-out pages at both widths")

	t.Logf("%d page visits checked, %d failures", c.checked, len(c.failures))
	for _, f := range c.failures {
		t.Error(f)
	}
	lap("done")
}
