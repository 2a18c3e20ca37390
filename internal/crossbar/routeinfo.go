package crossbar

import "sort"

// RouteInfo is one method of one route, as the authorization matrix test
// sees the API.
type RouteInfo struct {
	Method string
	Path   string // the route pattern, e.g. /v2/accounts/{account_id}/users
	Public bool   // served without credentials
}

// Routes lists every method of every route of the API, sorted by path and
// method, so that a test can prove each one is covered by the
// authorization matrix: a route added without a row fails that test.
func (a *API) Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range a.routes() {
		for m, ep := range rt.methods {
			out = append(out, RouteInfo{Method: m, Path: rt.path, Public: ep.access == public})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}
