package views

import (
	"net/url"
	"strconv"
)

// Link is path with the filter's accepted values in its query, and before (the id the next page
// starts below) when it is not 0: the address of "Load more" and of the CSV export.
func (f EventsFilter) Link(path string, before int64) string {
	v := url.Values{}
	for k, s := range map[string]string{"type": string(f.Type), "user": f.User, "from": f.From, "to": f.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
