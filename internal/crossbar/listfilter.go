package crossbar

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/audian/audian/internal/identity"
)

// Filters (Kazoo's crossbar_filter) apply to every list: filter_<path>=<v>
// keeps the items whose dotted path equals v, filter_not_<path>=<v> those
// where it does not, created_from and created_to bound the creation time
// in Gregorian seconds. They are ANDed.
//
// The store pages in id order and knows nothing of filters, so a filtered
// page is assembled here: the list is read from the cursor on, in batches
// no larger than the room left on the page, and the non-matching items
// are dropped. Because a batch never reaches past the page, the cursor of
// the last batch is exactly where the next page starts, and no item is
// skipped or repeated. The scan is bounded (maxFilterScan items,
// maxFilterFetches batches): when a sparse filter hits the bound, the page
// comes back short with a next_start_key, and the client goes on from
// there as from any page.
const (
	maxFilterScan    = 5000
	maxFilterFetches = 25
)

// listFilter is the parsed filter part of a query string.
type listFilter struct {
	eq, ne   []filterTerm
	from, to int64 // Gregorian seconds; 0 means unbounded
}

type filterTerm struct {
	path  []string
	value string
}

func (f *listFilter) active() bool {
	return len(f.eq) > 0 || len(f.ne) > 0 || f.from != 0 || f.to != 0
}

// parseFilter reads the filter parameters of q. Unknown parameters are
// ignored, as every Crossbar query parameter is.
func parseFilter(q url.Values) (*listFilter, error) {
	f := &listFilter{}
	v := identity.Violations{}
	for key, vals := range q {
		val := vals[len(vals)-1]
		switch {
		case strings.HasPrefix(key, "filter_not_"):
			f.ne = append(f.ne, filterTerm{strings.Split(strings.TrimPrefix(key, "filter_not_"), "."), val})
		case strings.HasPrefix(key, "filter_"):
			f.eq = append(f.eq, filterTerm{strings.Split(strings.TrimPrefix(key, "filter_"), "."), val})
		case key == "created_from" || key == "created_to":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n <= 0 {
				v.Add(key, "type", identity.Violation{Message: "Value did not match type(s): integer (Gregorian seconds)"})
				continue
			}
			if key == "created_from" {
				f.from = n
			} else {
				f.to = n
			}
		}
	}
	return f, v.Err()
}

// keep reports whether a document created at created passes the filter.
func (f *listFilter) keep(doc map[string]any, created time.Time) bool {
	if f.from != 0 || f.to != 0 {
		if created.IsZero() {
			return false
		}
		g := gregorian(created)
		if (f.from != 0 && g < f.from) || (f.to != 0 && g > f.to) {
			return false
		}
	}
	for _, t := range f.eq {
		if !matchesValue(lookupPath(doc, t.path), t.value) {
			return false
		}
	}
	for _, t := range f.ne {
		if matchesValue(lookupPath(doc, t.path), t.value) {
			return false
		}
	}
	return true
}

func lookupPath(doc map[string]any, path []string) any {
	var cur any = doc
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// matchesValue compares a document value with a query string value as
// Kazoo does: a missing value is "", scalars compare by their text form
// (numbers numerically), and an array matches when one element does.
func matchesValue(v any, want string) bool {
	switch x := v.(type) {
	case nil:
		return want == ""
	case string:
		return x == want
	case bool:
		return strconv.FormatBool(x) == want
	case []any:
		for _, e := range x {
			if matchesValue(e, want) {
				return true
			}
		}
		return false
	}
	if n, ok := number(v); ok {
		w, err := strconv.ParseFloat(want, 64)
		return err == nil && w == n
	}
	return false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// collect reads one filtered page from fetch (see the comment at the top
// of this file).
func collect[T any](fetch func(identity.Page) ([]T, string, error), p identity.Page, keep func(T) bool) ([]T, string, error) {
	want := p.Limit()
	out := make([]T, 0, want)
	after := p.After
	scanned := 0
	for fetches := 1; ; fetches++ {
		items, next, err := fetch(identity.Page{Size: want - len(out), After: after})
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			if keep(it) {
				out = append(out, it)
			}
		}
		scanned += len(items)
		if next == "" || len(out) == want || scanned >= maxFilterScan || fetches >= maxFilterFetches {
			return out, next, nil
		}
		after = next
	}
}

// listFiltered is listReply with filters. doc returns the document a
// filter looks into and the item's creation time; when it is nil, filters
// look into the rendered item and its "created" field.
func listFiltered[T any](c *call, fetch func(identity.Page) ([]T, string, error), render func(T) any,
	doc func(T) (map[string]any, time.Time)) (*reply, error) {
	f, err := parseFilter(c.r.URL.Query())
	if err != nil {
		return nil, err
	}
	keep := func(it T) bool {
		if doc != nil {
			d, created := doc(it)
			return f.keep(d, created)
		}
		d, _ := render(it).(map[string]any)
		var created time.Time
		if g, ok := number(d["created"]); ok {
			created = time.Unix(int64(g)-gregorianOffset, 0)
		}
		return f.keep(d, created)
	}
	p, all := page(c.r)
	var items []T
	var next string
	switch {
	case all:
		items, err = listAll(fetch)
		if err == nil && f.active() {
			kept := items[:0]
			for _, it := range items {
				if keep(it) {
					kept = append(kept, it)
				}
			}
			items = kept
		}
	case f.active():
		items, next, err = collect(fetch, p, keep)
	default:
		items, next, err = fetch(p)
	}
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		out = append(out, render(it))
	}
	// Encoded once: the same bytes are the reply's data and the input of
	// its revision.
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(raw)
	rep := &reply{data: rawJSON(raw), list: true, revision: hex.EncodeToString(sum[:])}
	if !all {
		rep.pageSize = len(out)
		rep.startKey = cursor(p.After)
		rep.nextKey = cursor(next)
	}
	return rep, nil
}

// sliceFetch pages over an in-memory list kept in its own order (a chain
// of ancestors), the cursor being the id of the last item returned.
func sliceFetch[T any](items []T, id func(T) string) func(identity.Page) ([]T, string, error) {
	return func(p identity.Page) ([]T, string, error) {
		start := 0
		if p.After != "" {
			// A cursor that names no item (the chain changed under the
			// client) ends the list rather than starting it over.
			start = len(items)
			for i, it := range items {
				if id(it) == p.After {
					start = i + 1
					break
				}
			}
		}
		rest := items[start:]
		if len(rest) <= p.Limit() {
			return rest, "", nil
		}
		rest = rest[:p.Limit()]
		return rest, id(rest[len(rest)-1]), nil
	}
}
