package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/audian/audian/internal/config"
	"github.com/audian/audian/internal/crossbar"
	"github.com/audian/audian/internal/identity"
)

const appsUsage = `Usage:
  audian apps import [flags] DIR   add or update the Monster UI apps found under DIR (each
                                   APP/metadata/app.json, with its icon/ and screenshots/)
                                   in the app catalogue; --api-url sets their api_url
`

// maxAppJSON bounds an app.json file.
const maxAppJSON = 1 << 20

// appsCmd is "audian apps import DIR": a system admin fills the app
// catalogue (Kazoo's crossbar_maintenance init_apps) from Monster apps'
// metadata, on the database the server settings name. Apps are matched by
// name, so importing again updates them and keeps what accounts installed.
func appsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprint(stderr, appsUsage)
		return errors.New("apps: expected the subcommand import")
	}
	var apiURL string
	cfg, fset, err := config.Load("audian apps import", args[1:], getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&apiURL, "api-url", "", "api_url to give the imported apps (e.g. https://api.example.com:8443/v2/)")
	})
	if err != nil {
		return err
	}
	if fset.NArg() != 1 {
		fmt.Fprint(stderr, appsUsage)
		return errors.New("apps import: expected one directory")
	}
	dir := fset.Arg(0)
	m, _, err := openOffline(ctx, cfg, stdout, stderr)
	defer m.Close()
	if err != nil {
		return err
	}
	var found, failed int
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "app.json" || filepath.Base(filepath.Dir(path)) != "metadata" {
			return nil
		}
		found++
		meta := filepath.Dir(path)
		app, err := importAppDir(ctx, m.Store, meta, apiURL)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "%s: %s\n", path, describeInvalid(err))
			return nil
		}
		fmt.Fprintf(stdout, "imported %s (%s)\n", app.Name, app.ID)
		return nil
	})
	switch {
	case err != nil:
		return err
	case found == 0:
		return fmt.Errorf("apps import: no APP/metadata/app.json under %s", dir)
	case failed > 0:
		return fmt.Errorf("apps import: %d of %d apps failed", failed, found)
	}
	return nil
}

// importAppDir imports the app whose metadata directory is meta.
func importAppDir(ctx context.Context, s identity.AppsStore, meta, apiURL string) (*identity.App, error) {
	raw, err := readLimited(filepath.Join(meta, "app.json"), maxAppJSON)
	if err != nil {
		return nil, err
	}
	return crossbar.ImportApp(ctx, s, raw, apiURL, func(_, name, fileName string) ([]byte, error) {
		sub := "screenshots"
		if name == "icon" {
			sub = "icon"
		}
		// fileName passed crossbar.ParseApp's check: a plain name, never a
		// path that leaves the app's metadata directory.
		data, err := readLimited(filepath.Join(meta, sub, fileName), identity.MaxAppFileSize)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, crossbar.ErrNoFile
		}
		return data, err
	})
}

// readLimited reads a file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return data, nil
}

// describeInvalid renders a validation error with its fields, for the terminal.
func describeInvalid(err error) string {
	var ie *identity.Error
	if !errors.As(err, &ie) || len(ie.Fields) == 0 {
		return err.Error()
	}
	var parts []string
	for field, rules := range ie.Fields {
		for rule, v := range rules {
			parts = append(parts, field+"."+rule+": "+v.Message)
		}
	}
	return ie.Message + ": " + strings.Join(parts, "; ")
}
