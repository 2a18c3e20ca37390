// Command audian is the audian authentication server.
//
//	audian serve               run the server (HTTPS on :8443, SQLite in ./audian-data)
//	audian bootstrap           create the first account, admin user and API key
//	audian signing-key rotate  make a new key sign tokens
//	audian version             print the version
//
// and the client commands built on the Go SDK (cli.go): login, logout,
// accounts, users, keys, tokens, audit, completion.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runIO(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

const usage = `audian is an authentication server speaking the Kazoo Crossbar v2 API.

Usage:
  audian serve [flags]       run the server; audian serve --help lists the settings
  audian bootstrap [flags]   create the first account, its admin user and an API key
  audian signing-key rotate [flags]
                             make a new key sign tokens (old keys keep verifying)
  audian apps import [flags] DIR
                             add Monster UI apps (APP/metadata/app.json) to the app catalogue
  audian version             print the version
` + clientUsage

// run is main without the process: tests call it with their own
// arguments, environment and outputs.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// runIO is run with its standard input too (the client commands read
// secrets from it).
func runIO(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], getenv, stdout, stderr)
	case "bootstrap":
		err = bootstrapCmd(ctx, args[1:], getenv, stdout, stderr)
	case "signing-key":
		err = signingKeyCmd(ctx, args[1:], getenv, stdout, stderr)
	case "apps":
		err = appsCmd(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "audian", Version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		if isClientCommand(args[0]) {
			err = clientCmd(ctx, args, getenv, stdin, stdout, stderr)
			break
		}
		fmt.Fprintf(stderr, "audian: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "audian:", err)
		return 1
	}
	return 0
}
