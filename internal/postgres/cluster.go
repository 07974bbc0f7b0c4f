//go:build linux

// Package postgres starts throwaway PostgreSQL clusters for tests and for a
// local development stack. It runs the server binaries of a Debian
// installation (initdb and postgres) directly, as the postgres system user
// when the caller is root, and the server listens only on 127.0.0.1 with trust
// authentication.
//
// The package builds only on Linux because it sets SysProcAttr.Pdeathsig,
// which makes the kernel signal the server when the Go process dies.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// DefaultDatabase is the database that Start creates when
	// Config.Database is empty.
	DefaultDatabase = "movies"

	superuser      = "postgres"
	systemUser     = "postgres"
	debianBinGlob  = "/usr/lib/postgresql/*/bin"
	readyTimeout   = 30 * time.Second
	stopTimeout    = 10 * time.Second
	logTailLines   = 20
	logTailMaxSize = 64 << 10

	// maxSocketPath is the longest path of a Unix socket on Linux
	// (sizeof(sun_path) - 1). The server adds "/.s.PGSQL.PORT.lock" to the
	// socket folder, which is at most 20 more bytes.
	maxSocketPath = 107
)

// ErrNoBinaries is returned by Start when no folder with initdb and postgres
// is found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found")

// Config describes where a cluster lives and how its server runs. Start
// fills an empty Database and a nil Logger with their defaults.
type Config struct {
	// Dir is the folder that contains the cluster: the data folder data/,
	// the server log postgres.log and the Unix socket folder socket/.
	// initdb runs only when data/ contains no cluster yet, so a second Start
	// on the same Dir reuses the data. Start creates Dir when missing, and
	// when the process runs as root it changes the owner of Dir and
	// everything in it to the postgres user. Required.
	Dir string

	// Port is the TCP port on 127.0.0.1. 0 picks a free port on every Start.
	Port int

	// BinDir is the folder with initdb and postgres. "" uses $PG_BIN when
	// set, otherwise the newest /usr/lib/postgresql/VERSION/bin.
	BinDir string

	// Database is created when missing and named in DSN. "" means
	// DefaultDatabase.
	Database string

	// Durable keeps fsync, synchronous_commit and full_page_writes on, so
	// committed data survives a killed server and a crash of the machine.
	// False, the default, turns them off for speed. The last commits are
	// then lost when the server is killed, and the cluster may be corrupt
	// after a power loss.
	Durable bool

	// Logger receives start and stop events. nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns a Config for a throwaway test cluster in dir: a free
// port, the newest installed server, database DefaultDatabase and Durable
// false.
func DefaultConfig(dir string) Config {
	return Config{Dir: dir, Database: DefaultDatabase}
}

// Cluster is a running PostgreSQL server started by Start. Its methods are
// safe for concurrent use.
type Cluster struct {
	dir      string
	dataDir  string
	port     int
	database string
	logger   *slog.Logger

	logFile   *os.File
	logPath   string
	logOffset int64 // size of the log before initdb or postgres ran, where the tail for errors begins

	// tempSocketDir is a socket folder outside Dir, used when Dir is too
	// long for a socket path. Stop removes it.
	tempSocketDir string

	pid    int
	exited chan struct{} // closed once the postmaster has exited
	exit   error         // the postmaster's exit status, set before exited closes

	mu      sync.Mutex
	stopped bool
	stopErr error
}

// account is the system user that runs initdb and postgres when the caller
// is root.
type account struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
}

// Start prepares Dir, runs initdb when Dir contains no cluster yet, starts the
// server and waits up to 30 seconds until it accepts connections. It then
// creates Config.Database when missing. ctx bounds the whole startup but not
// the server's life: call Stop to end it.
//
// On failure Start stops the server it started, and the error contains the
// last lines of the server log.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	began := time.Now()
	cfg, err := completeConfig(cfg)
	if err != nil {
		return nil, err
	}

	binDir, err := findBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}

	owner, err := lookupAccount()
	if err != nil {
		return nil, err
	}

	c, err := newCluster(cfg)
	if err != nil {
		return nil, err
	}

	if err := c.run(ctx, cfg, binDir, owner); err != nil {
		c.abort()
		return nil, err
	}

	c.logger.Info("postgres started", "dir", c.dir, "port", c.port, "pid", c.pid,
		"database", c.database, "durable", cfg.Durable, "duration", time.Since(began))
	return c, nil
}

// run performs the steps of Start after the configuration is complete.
func (c *Cluster) run(ctx context.Context, cfg Config, binDir string, owner *account) error {
	socketDir, err := c.prepareDir(owner)
	if err != nil {
		return err
	}

	if err := c.initCluster(ctx, binDir, owner, cfg.Durable); err != nil {
		return err
	}

	if err := removeStalePID(c.dataDir, c.logger); err != nil {
		return err
	}

	if err := c.launch(serverArgs(c.dataDir, c.port, socketDir, cfg.Durable), binDir, owner); err != nil {
		return err
	}

	if err := c.waitReady(ctx); err != nil {
		return c.withLogTail(err)
	}

	return c.ensureDatabase(ctx, c.database)
}

// completeConfig fills the empty fields of cfg and makes Dir absolute,
// because the server runs with Dir as its working folder.
func completeConfig(cfg Config) (Config, error) {
	if cfg.Dir == "" {
		return cfg, errors.New("config: Dir is empty: set it to the folder that should contain the cluster")
	}

	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return cfg, fmt.Errorf("config: resolving Dir %q: %w", cfg.Dir, err)
	}
	cfg.Dir = dir

	if cfg.Port < 0 || cfg.Port > 65535 {
		return cfg, fmt.Errorf("config: invalid Port %d: want 0 for a free port, or 1 to 65535", cfg.Port)
	}

	if cfg.Database == "" {
		cfg.Database = DefaultDatabase
	}

	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// newCluster picks the port and opens the server log.
func newCluster(cfg Config) (*Cluster, error) {
	port := cfg.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}

	if err := mkdirChain(cfg.Dir); err != nil {
		return nil, err
	}

	logPath := filepath.Join(cfg.Dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening server log: %w", err)
	}

	info, err := logFile.Stat()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("reading size of server log: %w", err)
	}

	return &Cluster{
		dir:       cfg.Dir,
		dataDir:   filepath.Join(cfg.Dir, "data"),
		port:      port,
		database:  cfg.Database,
		logger:    cfg.Logger.With("component", "postgres"),
		logFile:   logFile,
		logPath:   logPath,
		logOffset: info.Size(),
	}, nil
}

// DSN returns the URL of the cluster's database, for example
// postgres://postgres@127.0.0.1:5433/movies?sslmode=disable. It contains no
// password because the cluster trusts local connections.
func (c *Cluster) DSN() string {
	return c.dsnFor(c.database)
}

// Port returns the TCP port on 127.0.0.1 that the server listens on.
func (c *Cluster) Port() int {
	return c.port
}

// dsnFor returns the URL of database name on the cluster.
func (c *Cluster) dsnFor(name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop shuts the server down fast: it sends SIGINT to the postmaster, which
// ends open sessions and writes a checkpoint, and kills it after 10 seconds.
// Stop then closes the log. Calling Stop again returns the first result.
// Stop returns an error when the server had already exited on its own.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.stopped {
		return c.stopErr
	}
	c.stopped = true

	began := time.Now()
	c.stopErr = c.stopServer()
	c.release()

	if c.stopErr != nil {
		c.logger.Error("postgres stopped with an error", "dir", c.dir, "port", c.port,
			"err", c.stopErr, "duration", time.Since(began))
		return c.stopErr
	}

	c.logger.Info("postgres stopped", "dir", c.dir, "port", c.port, "duration", time.Since(began))
	return nil
}

// stopServer sends SIGINT and waits for the postmaster, killing it after
// stopTimeout.
func (c *Cluster) stopServer() error {
	select {
	case <-c.exited:
		return fmt.Errorf("postgres pid %d had already exited: %w", c.pid, c.exitError())
	default:
	}

	if err := syscall.Kill(c.pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending SIGINT to postgres pid %d: %w", c.pid, err)
	}

	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()

	select {
	case <-c.exited:
		return c.exit
	case <-timer.C:
	}

	c.logger.Warn("postgres did not stop in time, killing it", "pid", c.pid, "timeout", stopTimeout)
	if err := syscall.Kill(c.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing postgres pid %d: %w", c.pid, err)
	}
	<-c.exited
	return fmt.Errorf("postgres pid %d did not stop within %s and was killed", c.pid, stopTimeout)
}

// abort ends a server whose startup failed and releases its resources.
func (c *Cluster) abort() {
	if c.exited != nil {
		if err := c.stopServer(); err != nil {
			c.logger.Warn("stopping postgres after a failed start", "err", err)
		}
	}
	c.release()
}

// release closes the log and removes the temporary socket folder.
func (c *Cluster) release() {
	if err := c.logFile.Close(); err != nil {
		c.logger.Warn("closing server log", "path", c.logPath, "err", err)
	}

	if c.tempSocketDir == "" {
		return
	}
	if err := os.RemoveAll(c.tempSocketDir); err != nil {
		c.logger.Warn("removing socket folder", "path", c.tempSocketDir, "err", err)
	}
}

// exitError describes how the postmaster exited. A clean exit has no error
// value, so it gets one here.
func (c *Cluster) exitError() error {
	if c.exit == nil {
		return errors.New("exit status 0")
	}
	return c.exit
}

// findBinDir returns the first folder with initdb and postgres among
// configured, $PG_BIN and the newest Debian installation.
func findBinDir(configured string) (string, error) {
	if configured != "" {
		return checkBinDir(configured, "Config.BinDir")
	}
	if env := os.Getenv("PG_BIN"); env != "" {
		return checkBinDir(env, "PG_BIN")
	}

	dirs, err := filepath.Glob(debianBinGlob)
	if err != nil {
		return "", fmt.Errorf("listing %s: %w", debianBinGlob, err)
	}
	sort.Slice(dirs, func(i, j int) bool { return majorVersion(dirs[i]) > majorVersion(dirs[j]) })

	for _, dir := range dirs {
		if dir, err := checkBinDir(dir, debianBinGlob); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w in %s: %s", ErrNoBinaries, debianBinGlob, installHint)
}

const installHint = "install Debian's postgresql package (apt-get install -y postgresql), " +
	"or set PG_BIN to the folder holding initdb and postgres"

// checkBinDir returns dir when it contains initdb and postgres. source names
// where dir came from, for the error.
func checkBinDir(dir, source string) (string, error) {
	for _, name := range []string{"initdb", "postgres"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%w: %s %s has no executable %s: %s", ErrNoBinaries, source, dir, name, installHint)
		}
	}
	return dir, nil
}

// majorVersion returns the number in /usr/lib/postgresql/NUMBER/bin, or -1.
func majorVersion(binDir string) int {
	n, err := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	if err != nil {
		return -1
	}
	return n
}

// lookupAccount returns the postgres system user when the process runs as
// root, because initdb and postgres exit with an error when run as root. Otherwise it
// returns nil and the server runs as the current user.
func lookupAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}

	u, err := user.Lookup(systemUser)
	if err != nil {
		return nil, fmt.Errorf("running as root, so the server needs user %q (created by Debian's postgresql package): %w", systemUser, err)
	}

	acc := &account{name: u.Username}
	if acc.uid, err = parseID(u.Uid); err != nil {
		return nil, fmt.Errorf("user %q: uid: %w", systemUser, err)
	}
	if acc.gid, err = parseID(u.Gid); err != nil {
		return nil, fmt.Errorf("user %q: gid: %w", systemUser, err)
	}

	groups, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("listing groups of user %q: %w", systemUser, err)
	}
	for _, g := range groups {
		if gid, err := parseID(g); err == nil {
			acc.groups = append(acc.groups, gid)
		}
	}
	return acc, nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// sysProcAttr returns attributes that run a child as owner (when not nil),
// send it SIGTERM when the thread that started it ends, and put it in a
// process group of its own, so a Ctrl-C in the terminal reaches the Go
// program, which stops the server in its turn, and not the server directly.
func sysProcAttr(owner *account) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if owner != nil {
		attr.Credential = &syscall.Credential{Uid: owner.uid, Gid: owner.gid, Groups: owner.groups}
	}
	return attr
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
//
// NOTE: another process may take the port before the server binds it. Start
// then fails with "Address already in use" in the log tail, and calling
// Start again picks a new port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("picking a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// prepareDir creates the socket folder and, when the server runs as another
// user, makes that user the owner of Dir and checks that it can reach Dir. It
// returns the socket folder.
func (c *Cluster) prepareDir(owner *account) (string, error) {
	socketDir, err := c.makeSocketDir()
	if err != nil {
		return "", err
	}
	if owner == nil {
		return socketDir, nil
	}

	if err := chownTree(c.dir, owner); err != nil {
		return "", err
	}
	if c.tempSocketDir != "" {
		if err := chownTree(c.tempSocketDir, owner); err != nil {
			return "", err
		}
	}

	if err := checkSearchable(c.dir, owner); err != nil {
		return "", err
	}
	return socketDir, nil
}

// makeSocketDir creates Dir/socket, or a folder under the system temp
// folder when Dir is too long for a Unix socket path.
func (c *Cluster) makeSocketDir() (string, error) {
	dir := filepath.Join(c.dir, "socket")
	if len(dir)+len("/.s.PGSQL.65535.lock") > maxSocketPath {
		temp, err := makeTempDir("pgsocket-")
		if err != nil {
			return "", err
		}
		c.tempSocketDir = temp
		return temp, nil
	}

	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("creating socket folder: %w", err)
	}
	return dir, nil
}

// mkdirChain creates dir and its missing parents with mode 0755, so that a
// server running as another user can reach it.
func mkdirChain(dir string) error {
	var missing []string
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		}
		missing = append(missing, p)
		if p == filepath.Dir(p) {
			break
		}
	}

	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating folder %s: %w", missing[i], err)
		}
		// Mkdir applies the umask, so the mode is set again.
		if err := os.Chmod(missing[i], 0o755); err != nil {
			return fmt.Errorf("setting mode 0755 on folder %s: %w", missing[i], err)
		}
	}
	return nil
}

// makeTempDir creates a folder under the system temp folder that other users
// can reach, because os.MkdirTemp creates it with mode 0700.
func makeTempDir(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", fmt.Errorf("creating temp folder: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.Remove(dir)
		return "", fmt.Errorf("setting mode 0755 on temp folder %s: %w", dir, err)
	}
	return dir, nil
}

// chownTree changes the owner of dir and everything below it to owner.
func chownTree(dir string, owner *account) error {
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(owner.uid), int(owner.gid))
	})
	if err != nil {
		return fmt.Errorf("changing owner of %s to user %s: %w", dir, owner.name, err)
	}
	return nil
}

// checkSearchable returns an error when owner cannot pass through a parent
// folder of dir, which initdb would report only as "Permission denied".
func checkSearchable(dir string, owner *account) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("checking access to %s: %w", p, err)
		}

		if !owner.canSearch(info) {
			return fmt.Errorf("user %s cannot enter folder %s (mode %v), so the server cannot reach %s: "+
				"run chmod o+x %s, or pick a Dir under /tmp", owner.name, p, info.Mode().Perm(), dir, p)
		}

		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// canSearch reports whether the folder described by info has the execute
// bit that applies to a.
func (a *account) canSearch(info fs.FileInfo) bool {
	perm := info.Mode().Perm()
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return perm&0o001 != 0
	}

	switch {
	case st.Uid == a.uid:
		return perm&0o100 != 0
	case st.Gid == a.gid || containsID(a.groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func containsID(ids []uint32, id uint32) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// initCluster runs initdb when the data folder contains no cluster yet.
func (c *Cluster) initCluster(ctx context.Context, binDir string, owner *account, durable bool) error {
	_, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION"))
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking for a cluster in %s: %w", c.dataDir, err)
	}

	args := []string{"-D", c.dataDir, "-A", "trust", "-U", superuser, "--encoding=UTF8", "--no-locale"}
	if !durable {
		// A throwaway cluster needs no fsync of the files initdb writes.
		args = append(args, "--no-sync")
	}

	began := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
	cmd.Dir = c.dir
	cmd.Stdout = c.logFile
	cmd.Stderr = c.logFile
	cmd.SysProcAttr = sysProcAttr(owner)
	if err := cmd.Run(); err != nil {
		return c.withLogTail(fmt.Errorf("running initdb in %s: %w", c.dataDir, err))
	}

	c.logger.Info("postgres cluster initialized", "dir", c.dataDir, "duration", time.Since(began))
	return nil
}

// removeStalePID removes postmaster.pid when the process it names is not a
// running postgres. A postmaster killed without a shutdown leaves the file
// behind, and a new process may have taken over its pid since.
func removeStalePID(dataDir string, logger *slog.Logger) error {
	path := filepath.Join(dataDir, "postmaster.pid")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}

	// The first line is the pid, negative for a single-user backend.
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(first), "-"))
	if err == nil && isPostgres(pid) {
		return fmt.Errorf("data folder %s is in use by postgres pid %d: stop that server (kill -INT %d) or pick another Dir",
			dataDir, pid, pid)
	}

	logger.Info("removing stale postmaster.pid", "path", path, "pid", first)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing stale %s: %w", path, err)
	}
	return nil
}

// isPostgres reports whether pid is a running process named postgres.
func isPostgres(pid int) bool {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return false
	}
	return strings.TrimSpace(string(comm)) == "postgres"
}

// serverArgs returns the postgres command line. Settings go on the command
// line, not into postgresql.conf, so every Start can choose Durable anew.
func serverArgs(dataDir string, port int, socketDir string, durable bool) []string {
	args := []string{
		"-D", dataDir,
		"-p", strconv.Itoa(port),
		"-k", socketDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "shared_buffers=128MB",
		"-c", "max_connections=200",
	}
	if !durable {
		args = append(args,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
		)
	}
	return args
}

// launch starts the postmaster from a goroutine locked to its OS thread. The
// kernel sends Pdeathsig when the starting thread ends, not the process, so
// the thread is kept until the postmaster exits, and the goroutine then
// records the exit status.
func (c *Cluster) launch(args []string, binDir string, owner *account) error {
	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	cmd.Dir = c.dir
	cmd.Stdout = c.logFile
	cmd.Stderr = c.logFile
	cmd.SysProcAttr = sysProcAttr(owner)

	// A failed startup reports only what the server logged, not initdb.
	if info, err := c.logFile.Stat(); err == nil {
		c.logOffset = info.Size()
	}

	started := make(chan error, 1)
	c.exited = make(chan struct{})
	go func() {
		// The goroutine exits without UnlockOSThread, so the runtime
		// ends the thread, and that happens only after Wait returns.
		runtime.LockOSThread()

		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil

		c.exit = cmd.Wait()
		close(c.exited)
	}()

	if err := <-started; err != nil {
		c.exited = nil
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	c.pid = cmd.Process.Pid
	return nil
}

// waitReady polls the server with a pgx connection until it accepts one,
// the postmaster exits, or readyTimeout passes.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()

	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()

	for {
		err := c.ping(ctx)
		if err == nil {
			return nil
		}

		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited during startup: %w", c.exitError())
		case <-ctx.Done():
			return fmt.Errorf("postgres on 127.0.0.1:%d not accepting connections: %w (last connection error: %w)", c.port, ctx.Err(), err)
		case <-ticker.C:
		}
	}
}

// ping opens and closes one connection to the postgres database.
func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, c.dsnFor("postgres"))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// ensureDatabase creates database name when it does not exist yet.
func (c *Cluster) ensureDatabase(ctx context.Context, name string) error {
	var exists bool
	err := c.withAdminConn(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", name).Scan(&exists)
	})
	if err != nil {
		return fmt.Errorf("checking for database %q: %w", name, err)
	}
	if exists {
		return nil
	}

	if err := c.createDatabase(ctx, name); err != nil {
		return err
	}
	c.logger.Info("database created", "database", name)
	return nil
}

// withAdminConn calls fn with a connection to the postgres database.
func (c *Cluster) withAdminConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, c.dsnFor("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

// withLogTail appends the lines that the server logged during this start to
// err.
func (c *Cluster) withLogTail(err error) error {
	tail, readErr := readLogTail(c.logPath, c.logOffset, logTailLines)
	if readErr != nil {
		return fmt.Errorf("%w (reading server log: %v)", err, readErr)
	}
	if tail == "" {
		return fmt.Errorf("%w (server log %s is empty)", err, c.logPath)
	}
	return fmt.Errorf("%w\nlast lines of %s:\n%s", err, c.logPath, tail)
}

// readLogTail returns the last n lines written to path after offset.
func readLogTail(path string, offset int64, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	start := max(offset, info.Size()-logTailMaxSize)

	data, err := io.ReadAll(io.NewSectionReader(f, start, info.Size()-start))
	if err != nil {
		return "", err
	}

	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n"), nil
}

// StartTemp starts a cluster with DefaultConfig in a new folder under the
// system temp folder, for tests. It registers Stop and the removal of the
// folder with t.Cleanup, and calls t.Fatal when the cluster cannot start.
// Each call starts its own server, which takes a second or two. Tests that
// need only an empty database should call SharedDatabase.
func StartTemp(t testing.TB) *Cluster {
	t.Helper()

	dir, err := makeTempDir("postgres-")
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("removing PostgreSQL folder: %v", err)
		}
	})

	c, err := Start(t.Context(), DefaultConfig(dir))
	if err != nil {
		t.Fatalf("starting PostgreSQL in %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping PostgreSQL in %s: %v", dir, err)
		}
	})
	return c
}

// shared is the cluster behind SharedDatabase. It is package state because
// one server serves every test of a package binary. StopShared ends it.
var shared struct {
	mu        sync.Mutex
	cluster   *Cluster
	dir       string
	databases int // number of databases handed out, used to name the next
}

// sharedStartTimeout bounds initdb and startup of the shared cluster, which
// outlives the test that starts it, so that test's context does not apply.
const sharedStartTimeout = 2 * time.Minute

// SharedDatabase creates a new empty database test_N on a cluster shared by
// every test of the package binary and returns its DSN. The first call
// starts the cluster. t.Cleanup drops the database, ending connections that
// the test left open. SharedDatabase calls t.Fatal when the cluster or the
// database cannot be created. It is safe for parallel tests.
//
// A package that calls SharedDatabase should stop the cluster from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		postgres.StopShared()
//		os.Exit(code)
//	}
//
// Without StopShared the server still ends with the test binary, because it
// receives SIGTERM when the binary exits, but its folder stays in the temp
// folder.
func SharedDatabase(t testing.TB) string {
	t.Helper()

	c, name, err := nextSharedDatabase()
	if err != nil {
		t.Fatalf("starting shared PostgreSQL cluster: %v", err)
	}

	if err := c.createDatabase(t.Context(), name); err != nil {
		t.Fatalf("shared PostgreSQL cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.dropDatabase(name); err != nil {
			t.Logf("shared PostgreSQL cluster: %v", err)
		}
	})
	return c.dsnFor(name)
}

// nextSharedDatabase starts the shared cluster when it is not running and
// returns it with the name for a new database.
func nextSharedDatabase() (*Cluster, string, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()

	if shared.cluster == nil {
		if err := startSharedLocked(); err != nil {
			return nil, "", err
		}
	}

	shared.databases++
	return shared.cluster, fmt.Sprintf("test_%d", shared.databases), nil
}

// startSharedLocked starts the shared cluster in a new temp folder. A failed
// start is not remembered, so the next test tries again.
func startSharedLocked() error {
	dir, err := makeTempDir("postgres-shared-")
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), sharedStartTimeout)
	defer cancel()

	c, err := Start(ctx, DefaultConfig(dir))
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("in %s: %w", dir, err)
	}

	shared.cluster = c
	shared.dir = dir
	return nil
}

// StopShared stops the cluster that SharedDatabase started and removes its
// folder. It does nothing when no cluster is running, and a later
// SharedDatabase starts a new one. Errors go to the default slog logger,
// because TestMain has no test to fail.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()

	if shared.cluster == nil {
		return
	}

	if err := shared.cluster.Stop(); err != nil {
		slog.Error("stopping shared PostgreSQL cluster", "dir", shared.dir, "err", err)
	}
	if err := os.RemoveAll(shared.dir); err != nil {
		slog.Error("removing shared PostgreSQL folder", "dir", shared.dir, "err", err)
	}

	shared.cluster = nil
	shared.dir = ""
}

// createDatabase creates database name, which must not exist yet.
func (c *Cluster) createDatabase(ctx context.Context, name string) error {
	err := c.withAdminConn(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize())
		return err
	})
	if err != nil {
		return fmt.Errorf("creating database %q: %w", name, err)
	}
	return nil
}

// dropDatabase drops database name and ends its open connections. It runs
// from t.Cleanup, after the test's context is canceled, so it has its own
// deadline.
func (c *Cluster) dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	err := c.withAdminConn(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)")
		return err
	})
	if err != nil {
		return fmt.Errorf("dropping database %q: %w", name, err)
	}
	return nil
}
