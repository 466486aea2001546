package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// usageText is the top of `weftid help`; the flags follow it, listed from their definitions.
const usageText = `weftid is a self-hosted identity server: one binary, one SQLite file.

Usage:
  weftid [serve] [flags]        run the server; on an empty database it prints a one-time
                                /setup link for the first super admin
  weftid user add --email E --name N --role R [flags]
                                create a user; the password is read from one line of stdin
  weftid backup [flags] DEST    write a consistent copy of the database, also while it runs
  weftid restore --from URL [--at RFC3339] DEST
                                restore the database from its continuous replica (serve
                                --replicate) to a new file: its latest state, or as it was at
                                the moment --at names
  weftid events verify [flags]  check the event log's hash chain (exits 1 naming the first
                                bad event)
  weftid version                print the version
  weftid help                   print this help (also -h, --help; "weftid CMD -h" lists
                                the flags of CMD)

A password set by setup or user add is checked against the public Have I Been Pwned range API
(only the first 5 hex digits of its SHA-1 leave the machine). Offline, use --hibp-url off, or
--hibp-url file:///dir with a downloaded copy of the ranges.

Flags of serve, user add, backup and events verify (each has an environment variable, named in
brackets; --replicate, --replicate-interval and --metrics-addr are used by serve only):
`

// isHelp reports whether arg asks for the help text.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// usage writes the help text: the commands, then every flag with its default.
func usage(w io.Writer) {
	fmt.Fprint(w, usageText)
	common := flag.NewFlagSet("weftid", flag.ContinueOnError)
	flags(common)
	common.SetOutput(w)
	common.PrintDefaults()
	fmt.Fprint(w, "\nFlags of user add only:\n")
	user := flag.NewFlagSet("weftid user add", flag.ContinueOnError)
	userFlags(user)
	user.SetOutput(w)
	user.PrintDefaults()
	fmt.Fprint(w, "\nFlags of restore (it has no others):\n")
	rs := flag.NewFlagSet("weftid restore", flag.ContinueOnError)
	restoreFlags(rs)
	rs.SetOutput(w)
	rs.PrintDefaults()
}

// userFlags registers the flags that only `user add` has.
func userFlags(fs *flag.FlagSet) (email, name, role *string) {
	email = fs.String("email", "", "email address")
	name = fs.String("name", "", "full name")
	role = fs.String("role", "user", "super_admin, admin or user")
	return email, name, role
}

// parseFlags parses a command's flags. -h or --help prints them to stdout and returns
// flag.ErrHelp, which run turns into success; any other mistake is an error that says so
// (without the flag package's usage dump on stderr).
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "Flags of %s:\n", fs.Name())
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	} else if err != nil {
		return fmt.Errorf("%w (weftid help lists the commands and flags)", err)
	}
	return err
}
