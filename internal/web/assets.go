package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed static
var staticFS embed.FS

// StaticPrefix is where the assets are served.
const StaticPrefix = "/static/"

// asset is one embedded file under its content-hashed name, so that it
// can be cached for a year and a new build never meets a stale copy.
type asset struct {
	body  []byte
	ctype string
}

var (
	assets     = map[string]asset{}  // hashed name -> file
	assetNames = map[string]string{} // plain name -> hashed name
)

func init() {
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		ctype := mime.TypeByExtension(ext)
		if ext == ".js" {
			ctype = "text/javascript; charset=utf-8"
		}
		assets[hashed] = asset{body: body, ctype: ctype}
		assetNames[name] = hashed
		return nil
	})
	if err != nil {
		panic("web: reading embedded assets: " + err.Error())
	}
}

// AssetPath returns the URL path of the embedded asset name ("app.css"),
// or "" when there is no such asset.
func AssetPath(name string) string {
	if h, ok := assetNames[name]; ok {
		return StaticPrefix + h
	}
	return ""
}

// ServeAsset answers GET /static/{name} for the hashed names only.
func ServeAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}
