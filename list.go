package audian

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// ListOptions narrows a list.
type ListOptions struct {
	// PageSize is how many items each request fetches (the server's
	// default is 50, its maximum 1000). The iterator fetches pages until
	// the list ends or the loop stops.
	PageSize int
	// Filters are Crossbar filters, such as "filter_priv_level": "admin"
	// or "filter_not_enabled": "false", and created_from/created_to in
	// Gregorian seconds.
	Filters map[string]string
}

func (o *ListOptions) query() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(o.PageSize))
	}
	for k, v := range o.Filters {
		q.Set(k, v)
	}
	return q
}

// list iterates over a paginated list, following next_start_key.
func list[T any](c *Client, ctx context.Context, path func(context.Context) (string, error), q url.Values) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		p, err := path(ctx)
		if err != nil {
			yield(zero, err)
			return
		}
		start := ""
		for {
			page := url.Values{}
			for k, v := range q {
				page[k] = v
			}
			if start != "" {
				page.Set("start_key", start)
			}
			var items []T
			env, err := c.call(ctx, "GET", p, page, nil, &items)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			// A cursor that does not move would loop forever.
			if env.NextStartKey == "" || env.NextStartKey == start {
				return
			}
			start = env.NextStartKey
		}
	}
}

// Collect gathers an iterator's items into a slice, stopping at the
// first error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
