// Command weftid is a self-hosted identity server: one binary, one SQLite file (or one
// PostgreSQL database that several instances share).
//
//	weftid [serve] [flags]          run the server (prints a /setup link on an empty database)
//	weftid user add --email E --name N --role R   create a user; the password is read from stdin
//	weftid backup FILE              write a consistent copy of the database while it runs
//	weftid restore --from URL DEST  restore the database from its continuous replica (--at: as it was then)
//	weftid events verify            check the event log's hash chain (exit 1 naming the first bad event)
//	weftid version                  print the version
//	weftid help                     list the commands and flags (also -h, --help)
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/audit"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the module's.
var version = ""

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "weftid:", err)
		os.Exit(1)
	}
}

// config is every setting; each flag has an environment variable.
type config struct {
	addr, db, baseURL, smtp, mailFrom, hibpURL, secretKeyFile, trustedProxies string
	samlMetadataAllowedHosts                                                  string
	// replication and metrics (main_ops.go)
	opsConfig
}

// flags registers the settings on fs with their environment defaults.
func flags(fs *flag.FlagSet) *config {
	cfg := &config{}
	env := func(name, def string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return def
	}
	fs.StringVar(&cfg.addr, "addr", env("WEFTID_ADDR", "127.0.0.1:8080"), "listen address (WEFTID_ADDR)")
	fs.StringVar(&cfg.db, "db", env("WEFTID_DB", "weftid.db"), "SQLite database file, or a postgres:// URL (WEFTID_DB)")
	fs.StringVar(&cfg.baseURL, "base-url", env("WEFTID_BASE_URL", "http://localhost:8080"), "public URL: WebAuthn origin, links in mail, SSO issuer (WEFTID_BASE_URL)")
	fs.StringVar(&cfg.smtp, "smtp", env("WEFTID_SMTP", ""), "SMTP server, smtp://user:pass@host:port[?starttls] or smtps://...; empty writes mail to the log (WEFTID_SMTP)")
	fs.StringVar(&cfg.mailFrom, "mail-from", env("WEFTID_MAIL_FROM", "weftid@localhost"), "From address of mail (WEFTID_MAIL_FROM)")
	fs.StringVar(&cfg.hibpURL, "hibp-url", env("WEFTID_HIBP_URL", "https://api.pwnedpasswords.com"), "Have I Been Pwned range API, file:///dir, or off (WEFTID_HIBP_URL)")
	fs.StringVar(&cfg.secretKeyFile, "secret-key-file", env("WEFTID_SECRET_KEY_FILE", ""), "secret key file; default next to a SQLite database, required with PostgreSQL (WEFTID_SECRET_KEY_FILE)")
	fs.StringVar(&cfg.trustedProxies, "trusted-proxies", env("WEFTID_TRUSTED_PROXIES", ""), "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed (WEFTID_TRUSTED_PROXIES)")
	fs.StringVar(&cfg.samlMetadataAllowedHosts, "saml-metadata-allowed-hosts", env("WEFTID_SAML_METADATA_ALLOWED_HOSTS", ""),
		"comma-separated hosts whose SAML metadata URL may be fetched from a loopback or private address (WEFTID_SAML_METADATA_ALLOWED_HOSTS)")
	opsFlags(fs, &cfg.opsConfig, env)
	return cfg
}

// errKeyFileRequired refuses a PostgreSQL database without --secret-key-file: there is no
// "next to the database", and every instance must read the same file.
var errKeyFileRequired = errors.New("--secret-key-file (WEFTID_SECRET_KEY_FILE) is required with a PostgreSQL database: " +
	"every instance on it must read the same key file")

func (cfg *config) keyFile() string {
	if cfg.secretKeyFile != "" {
		return cfg.secretKeyFile
	}
	return filepath.Join(filepath.Dir(cfg.db), "weftid.key")
}

// run runs one command. Asking for help (weftid help, -h, --help, or -h after a command) prints
// it to stdout and is not an error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	if len(args) > 0 && isHelp(args[0]) {
		usage(stdout)
		return nil
	}
	err := command(ctx, args, stdin, stdout, log)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func command(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, log)
	case "user":
		if len(args) == 0 || args[0] != "add" {
			return errors.New("usage: weftid user add --email E --name N --role super_admin|admin|user (password on stdin)")
		}
		return userAdd(ctx, args[1:], stdin, stdout)
	case "backup":
		return backup(ctx, args, stdout)
	case "events":
		if len(args) == 0 || args[0] != "verify" {
			return errors.New("usage: weftid events verify [--db FILE]")
		}
		return eventsVerify(ctx, args[1:], stdout)
	case "restore":
		return restore(ctx, args, stdout, log)
	case "replicate": // the replicator process serve --replicate starts
		return replicate(ctx, args, stdin, stdout, log)
	case "version":
		fmt.Fprintln(stdout, "weftid", buildVersion())
		return nil
	}
	return fmt.Errorf("unknown command %q: use serve, user add, backup, restore, events verify or version (weftid help says more)", cmd)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func parse(name string, args []string, stdout io.Writer) (*flag.FlagSet, *config, error) {
	fs := flag.NewFlagSet("weftid "+name, flag.ContinueOnError)
	cfg := flags(fs)
	return fs, cfg, parseFlags(fs, args, stdout)
}

func openStore(ctx context.Context, cfg *config) (*store.Store, auth.Keys, error) {
	postgres := store.IsPostgresURL(cfg.db)
	if postgres && cfg.secretKeyFile == "" {
		return nil, auth.Keys{}, errKeyFileRequired
	}
	st, err := store.Open(ctx, cfg.db)
	if err != nil {
		return nil, auth.Keys{}, err
	}
	secret, err := auth.LoadOrCreateSecret(cfg.keyFile())
	if err == nil && postgres {
		// Instances sharing the database must share the key: the first one records its
		// fingerprint, and one started with another key refuses to start.
		err = st.CheckSecretKey(ctx, auth.NewKeys(secret).HashToken("secret_key_check", "weftid"), time.Now())
	}
	if err != nil {
		st.Close()
		return nil, auth.Keys{}, err
	}
	return st, auth.NewKeys(secret), nil
}

func serve(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	_, cfg, err := parse("serve", args, stdout)
	if err != nil {
		return err
	}
	base, err := url.Parse(cfg.baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("--base-url %q must be an absolute http(s) URL", cfg.baseURL)
	}
	hibp, err := breach.NewClient(cfg.hibpURL, buildVersion())
	if err != nil {
		return err
	}
	if err := checkOps(cfg); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, keys, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	mailer, err := mail.New(mail.Config{SMTPURL: cfg.smtp, From: cfg.mailFrom}, log)
	if err != nil {
		return err
	}
	workers := runtime.NumCPU()
	hasher, err := auth.NewHasher(auth.DefaultArgon2, workers, 64*workers, 10*time.Second)
	if err != nil {
		return err
	}
	var proxies []string
	for _, p := range strings.Split(cfg.trustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			proxies = append(proxies, p)
		}
	}
	// Metrics and replication: deferred after st.Close and before the runner's Stop, the
	// replicator makes its final sync once the requests and jobs have stopped writing, and
	// before the store closes (main_ops.go).
	ops, err := startOps(cfg, st, hasher, log)
	if err != nil {
		return err
	}
	defer ops.stop()
	// Background work runs under runner, which a signal does not cancel: its Stop, deferred
	// after st.Close and so run before it, cancels and waits for that work once the app has
	// shut down (a breach run under way saves how far it got), before the store closes.
	runner := jobs.New(context.WithoutCancel(ctx), log)
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := runner.Stop(stopCtx); err != nil {
			log.Warn("background work still running at shutdown", "err", err)
		}
	}()
	// Scheduled jobs that must run once take a lease in the database, in this instance's name.
	holder := jobs.NewHolder()
	lease := func(name string) jobs.Lease { return jobs.Lease{Store: st, Name: name, Holder: holder} }
	breaches := breach.New(breach.Config{Store: st, Mailer: mailer, Keys: keys, Client: hibp, Log: log, BaseURL: base, Holder: holder})
	ops.metrics.WatchBreach(breaches.Status)
	// Requests outlive the signal by the graceful shutdown's grace period, then are cancelled.
	requests, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	app := handlers.New(handlers.Config{
		BaseContext: requests,
		BaseURL:     base, Store: st, Mailer: mailer, Hasher: hasher, Keys: keys, Log: log,
		TrustedProxies: proxies,
		HIBP:           hibp, Breach: breaches, Jobs: runner, Metrics: ops.metrics,
		// Hosts whose metadata URL may lead to a loopback or private address.
		SAMLMetadataAllowedHosts: strings.Split(cfg.samlMetadataAllowedHosts, ","),
	})

	link, err := account.CreateSetupLink(ctx, st, keys, cfg.baseURL, time.Now())
	if err != nil {
		return err
	}
	if link != "" {
		fmt.Fprintf(stdout, "\nNo users yet. Create the first super admin within the hour at:\n\n    %s\n\n", link)
	}

	// Every minute: expired rows go, the throttles' closed windows are logged as
	// login_throttled summaries, and (SQLite) the WAL is checkpointed and truncated, so neither
	// the database nor its WAL keeps the size of a burst. While Litestream replicates, it owns
	// checkpoints: a TRUNCATE here would wait on its read transaction, holding writers back. Like
	// the daily chain check and the breach check, it runs on one instance at a time when several
	// share a database: the one that holds its lease. (The idle-user job needs none: each run
	// claims its due time in the transaction that does it, so one instance does each run.)
	runner.EveryOnce(lease("cleanup"), time.Minute, func(ctx context.Context) {
		now := time.Now()
		if err := st.DeleteExpired(ctx, now); err != nil && ctx.Err() == nil {
			log.Warn("cleanup failed", "err", err)
		}
		if _, err := throttle.Summarize(ctx, st, now); err != nil && ctx.Err() == nil {
			log.Warn("throttle summaries failed", "err", err)
		}
		if ops.replicating() {
			return
		}
		if err := st.Checkpoint(ctx); err != nil && ctx.Err() == nil {
			log.Info("WAL checkpoint deferred", "err", err)
		}
	})
	// The weekly breach re-check: its schedule is in the database, so restarts do not disturb it.
	runner.Go("breach check", breaches.Run)
	// Idle-user deactivation (off unless Settings > Security > Idle users turns it on): its
	// schedule is in the database too.
	runner.Go("idle users", account.NewIdleJob(account.IdleConfig{Store: st, Log: log}).Run)
	// The event chain is verified at start and daily; the Events page shows the last result.
	runner.EveryOnce(lease("event chain check"), 24*time.Hour, audit.New(audit.Config{Store: st, Log: log}).Run)

	errc := make(chan error, 1)
	go func() { errc <- app.Listen(cfg.addr) }()
	log.Info("weftid listening", "addr", cfg.addr, "base_url", cfg.baseURL, "version", buildVersion())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal ends the process at once
	log.Info("shutting down")
	err = app.ShutdownWithTimeout(10 * time.Second)
	cancelRequests() // whatever still runs after the grace period stops before the store closes
	return err
}

func userAdd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("weftid user add", flag.ContinueOnError)
	cfg := flags(fs)
	email, name, role := userFlags(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	hibp, err := breach.NewClient(cfg.hibpURL, buildVersion())
	if err != nil {
		return err
	}

	st, keys, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	hasher, err := auth.NewHasher(auth.DefaultArgon2, 1, 1, time.Minute)
	if err != nil {
		return err
	}
	accounts := account.New(account.Config{Store: st, Hasher: hasher, Keys: keys, Breach: breach.New(breach.Config{Store: st, Keys: keys, Client: hibp})})
	created, err := accounts.CreateUser(ctx, account.NewUser{Email: *email, Name: *name, Role: store.Role(*role), Password: password, Confirm: password}, store.Origin{})
	var problems account.Problems
	switch {
	case errors.Is(err, account.ErrEmailTaken):
		return fmt.Errorf("a user with the email %s already exists", store.NormalizeEmail(*email))
	case errors.As(err, &problems):
		return errors.New(strings.Join(problems, "\n  "))
	case err != nil:
		return err
	}
	u := created.User
	fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Email, u.Name)
	if created.BreachSkipped != "" {
		fmt.Fprintf(stdout, "note: the breach check was skipped (%s); the weekly check will look at this password\n", created.BreachSkipped)
	}
	return nil
}

func backup(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg, err := parse("backup", args, stdout)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: weftid backup [--db FILE] DEST")
	}
	if store.IsPostgresURL(cfg.db) {
		return store.ErrBackupPostgres // before connecting: nothing to copy this way
	}
	st, err := openAsIs(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (keep the secret key file %s with it: without it TOTP secrets, "+
		"signing keys and every stored secret's hash are useless)\n", cfg.db, fs.Arg(0), cfg.keyFile())
	return nil
}

// openAsIs opens the existing database without migrating it: the running server (perhaps an
// older one) owns the schema.
func openAsIs(ctx context.Context, cfg *config) (*store.Store, error) {
	if store.IsPostgresURL(cfg.db) {
		return store.OpenAsIs(ctx, cfg.db)
	}
	if _, err := os.Stat(cfg.db); err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.db, err)
	}
	return store.OpenAsIs(ctx, cfg.db)
}

// eventsVerify walks the event log's hash chain and records the result. Like backup it does not
// migrate, and it works while the server runs. A broken chain is an error naming the first bad
// event, so the command exits 1.
func eventsVerify(ctx context.Context, args []string, stdout io.Writer) error {
	fs, cfg, err := parse("events verify", args, stdout)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("usage: weftid events verify [--db FILE]")
	}
	st, err := openAsIs(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := audit.New(audit.Config{Store: st}).Verify(ctx)
	if err != nil {
		return err
	}
	if err := r.Err(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d events, chain intact\n", r.Events)
	return nil
}
