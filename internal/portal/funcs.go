package portal

import (
	"html/template"
	"strings"
	"time"
)

// funcs are the portal's template helpers, beside internal/web's.
var funcs = template.FuncMap{
	// ago says how long ago t was, coarsely, for lists.
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		d := time.Since(t)
		switch {
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return plural(int(d.Minutes()), "minute") + " ago"
		case d < 48*time.Hour:
			return plural(int(d.Hours()), "hour") + " ago"
		}
		return plural(int(d.Hours()/24), "day") + " ago"
	},
	"days": func(n int) string { return plural(n, "day") },
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"browser": browserName,
	"short":   func(id string) string { return id[:min(8, len(id))] },
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return itoa(n) + " " + unit + "s"
}

// browserName turns a User-Agent into something a person recognises.
func browserName(ua string) string {
	var b, os string
	switch {
	case strings.Contains(ua, "Edg/"):
		b = "Edge"
	case strings.Contains(ua, "Firefox/"):
		b = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/"):
		b = "Chrome"
	case strings.Contains(ua, "Safari/"):
		b = "Safari"
	case strings.HasPrefix(ua, "curl/"):
		b = "curl"
	}
	switch {
	case strings.Contains(ua, "Android"):
		os = "Android"
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad"):
		os = "iOS"
	case strings.Contains(ua, "Mac OS X"):
		os = "macOS"
	case strings.Contains(ua, "Windows"):
		os = "Windows"
	case strings.Contains(ua, "Linux"):
		os = "Linux"
	}
	switch {
	case b != "" && os != "":
		return b + " on " + os
	case b != "":
		return b
	case os != "":
		return os
	case ua == "":
		return "Unknown browser"
	}
	if len(ua) > 40 {
		return ua[:40] + "…"
	}
	return ua
}
