package views

import "github.com/weftid/weftid/store"

// OIDCDashboardApps are the dashboard's links to OpenID Connect apps: the name and home URL of
// each client the service lists for it (oidc.HomeApps).
func OIDCDashboardApps(clients []store.OAuthClient) []DashboardApp {
	var apps []DashboardApp
	for _, cl := range clients {
		apps = append(apps, DashboardApp{Name: cl.Name, URL: cl.HomeURL})
	}
	return apps
}
