package auth

import "strings"

// BrowserName names the browser and system of a user agent in a few words ("Firefox on
// Linux"), for the list of devices and the notices mailed about a sign-in or a change.
func BrowserName(ua string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	browser := "Unknown browser"
	switch {
	case has("Edg/", "EdgA/", "EdgiOS/"):
		browser = "Edge"
	case has("OPR/", "Opera"):
		browser = "Opera"
	case has("Firefox/", "FxiOS/"):
		browser = "Firefox"
	case has("Chrome/", "CriOS/", "Chromium/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	case ua == "":
		return browser
	}
	system := ""
	switch {
	case has("Android"):
		system = "Android"
	case has("iPhone", "iPad", "iPod"):
		system = "iOS"
	case has("Windows"):
		system = "Windows"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Mac OS X", "Macintosh"):
		system = "macOS"
	case has("Linux"):
		system = "Linux"
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}
