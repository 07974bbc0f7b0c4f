//go:build linux

package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// tempDir returns a new folder that the postgres user can reach and removes
// it when the test ends.
func tempDir(t *testing.T) string {
	t.Helper()

	dir, err := makeTempDir("postgres-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

// mustStart starts a cluster and stops it when the test ends.
func mustStart(t *testing.T, cfg Config) *Cluster {
	t.Helper()

	began := time.Now()
	c, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.Dir, err)
	}
	t.Logf("Start took %s", time.Since(began))

	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

// connect opens a pgx connection to dsn and closes it when the test ends.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// queryString runs a query that returns one text value.
func queryString(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()

	var got string
	if err := conn.QueryRow(t.Context(), sql).Scan(&got); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return got
}

// countPublicTables returns the number of tables in schema public of dsn.
func countPublicTables(t *testing.T, dsn string) int {
	t.Helper()

	conn := connect(t, dsn)
	var n int
	err := conn.QueryRow(t.Context(), "select count(*) from pg_tables where schemaname = 'public'").Scan(&n)
	if err != nil {
		t.Fatalf("counting tables in %s: %v", dsn, err)
	}
	return n
}

func TestStartConnectStopRestart(t *testing.T) {
	t.Parallel()
	dir := tempDir(t)

	c := mustStart(t, DefaultConfig(dir))

	wantDSN := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/movies?sslmode=disable", c.Port())
	if got := c.DSN(); got != wantDSN {
		t.Errorf("DSN() = %q, want %q", got, wantDSN)
	}

	conn := connect(t, c.DSN())
	var one int
	if err := conn.QueryRow(t.Context(), "select 1").Scan(&one); err != nil {
		t.Fatalf("select 1: %v", err)
	}
	if one != 1 {
		t.Errorf("select 1 returned %d, want 1", one)
	}

	if got := queryString(t, conn, "select current_database()"); got != "movies" {
		t.Errorf("current_database() = %q, want %q", got, "movies")
	}

	if _, err := conn.Exec(t.Context(), "create table film (title text); insert into film values ('Alien')"); err != nil {
		t.Fatalf("creating table: %v", err)
	}
	conn.Close(t.Context())

	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: got %v, want nil", err)
	}

	cfg := DefaultConfig(dir)
	cfg.Durable = true
	again := mustStart(t, cfg)
	conn = connect(t, again.DSN())

	if got := queryString(t, conn, "select title from film"); got != "Alien" {
		t.Errorf("title after restart = %q, want %q", got, "Alien")
	}
	if got := queryString(t, conn, "show fsync"); got != "on" {
		t.Errorf("fsync with Durable = %q, want %q", got, "on")
	}
}

func TestStartSettings(t *testing.T) {
	t.Parallel()
	c := StartTemp(t)
	conn := connect(t, c.DSN())

	want := map[string]string{
		"listen_addresses":   "127.0.0.1",
		"port":               fmt.Sprint(c.Port()),
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
		"shared_buffers":     "128MB",
		"max_connections":    "200",
		"server_encoding":    "UTF8",
	}
	got := map[string]string{}
	for name := range want {
		got[name] = queryString(t, conn, "show "+name)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server settings mismatch (-want +got):\n%s", diff)
	}
}

func TestStartAfterKilledServer(t *testing.T) {
	t.Parallel()
	dir := tempDir(t)

	// With synchronous_commit off a commit may still sit in the WAL buffers
	// when the server is killed, so this test needs Durable.
	cfg := DefaultConfig(dir)
	cfg.Durable = true

	c, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	conn := connect(t, c.DSN())
	if _, err := conn.Exec(t.Context(), "create table film (title text)"); err != nil {
		t.Fatalf("creating table: %v", err)
	}

	if err := syscall.Kill(c.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing postgres: %v", err)
	}
	if err := c.Stop(); err == nil {
		t.Errorf("Stop after SIGKILL: got nil, want an error about the exit")
	}

	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("postmaster.pid after SIGKILL: got %v, want the stale file", err)
	}

	again := mustStart(t, cfg)
	if got := countPublicTables(t, again.DSN()); got != 1 {
		t.Errorf("tables after restart: got %d, want 1", got)
	}
}

func TestStartPortInUse(t *testing.T) {
	t.Parallel()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	cfg := DefaultConfig(tempDir(t))
	cfg.Port = l.Addr().(*net.TCPAddr).Port

	c, err := Start(t.Context(), cfg)
	if err == nil {
		c.Stop()
		t.Fatalf("Start on a busy port: got nil error, want one")
	}

	for _, want := range []string{"exited during startup", "last lines of", "Address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error: got %q, want it to contain %q", err, want)
		}
	}
}

func TestStartMissingBinaries(t *testing.T) {
	empty := t.TempDir()

	tests := []struct {
		name   string
		binDir string
		pgBin  string
	}{
		{name: "BinDir", binDir: empty},
		{name: "PG_BIN", pgBin: empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PG_BIN", tt.pgBin)

			cfg := DefaultConfig(t.TempDir())
			cfg.BinDir = tt.binDir
			_, err := Start(t.Context(), cfg)

			if !errors.Is(err, ErrNoBinaries) {
				t.Fatalf("Start: got %v, want ErrNoBinaries", err)
			}
			for _, want := range []string{"apt-get install -y postgresql", "PG_BIN", empty} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Start error: got %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestStartEmptyDir(t *testing.T) {
	_, err := Start(t.Context(), Config{})
	if err == nil || !strings.Contains(err.Error(), "Dir is empty") {
		t.Errorf("Start without Dir: got %v, want an error about the empty Dir", err)
	}
}

func TestSharedDatabaseDistinct(t *testing.T) {
	t.Parallel()

	first := SharedDatabase(t)
	second := SharedDatabase(t)
	if first == second {
		t.Fatalf("two SharedDatabase calls: got the same DSN %q twice, want two", first)
	}

	for _, dsn := range []string{first, second} {
		if got := countPublicTables(t, dsn); got != 0 {
			t.Errorf("tables in new database %s: got %d, want 0", dsn, got)
		}
	}

	conn := connect(t, first)
	if _, err := conn.Exec(t.Context(), "create table film (title text)"); err != nil {
		t.Fatalf("creating table: %v", err)
	}
	if got := countPublicTables(t, second); got != 0 {
		t.Errorf("tables in second database after creating one in the first: got %d, want 0", got)
	}
}

func TestSharedDatabaseDroppedAfterTest(t *testing.T) {
	t.Parallel()

	var dsn string
	t.Run("use", func(t *testing.T) {
		dsn = SharedDatabase(t)
		connect(t, dsn) // left open on purpose: the drop must end it
	})

	_, err := pgx.Connect(t.Context(), dsn)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("connecting after the test ended: got %v, want database does not exist", err)
	}
}

func TestStartUnreachableDirAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user")
	}
	t.Parallel()

	// t.TempDir creates its parent folder with mode 0700, which the postgres
	// user cannot enter.
	dir := filepath.Join(t.TempDir(), "cluster")
	_, err := Start(t.Context(), DefaultConfig(dir))

	if err == nil {
		t.Fatal("Start under a 0700 folder: got nil error, want one")
	}
	for _, want := range []string{"cannot enter folder", "chmod o+x"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error: got %q, want it to contain %q", err, want)
		}
	}
}

// childDirEnv names the environment variable that makes
// TestServerEndsWithProcess start a cluster in that folder and exit without
// Stop.
const childDirEnv = "POSTGRES_TEST_CHILD_DIR"

func TestServerEndsWithProcess(t *testing.T) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		runChildWithoutStop(t, dir)
		return
	}
	t.Parallel()

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestServerEndsWithProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+tempDir(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test binary: %v\n%s", err, out)
	}

	var pid int
	if _, err := fmt.Sscanf(string(out), "postmaster pid %d", &pid); err != nil {
		t.Fatalf("reading pid from child output %q: %v", out, err)
	}

	deadline := time.Now().Add(15 * time.Second)
	for isPostgres(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if isPostgres(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("postmaster pid %d still running 15s after its parent exited, want it stopped", pid)
	}
}

// runChildWithoutStop starts a cluster in dir, prints the postmaster pid and
// exits at once, like a process that crashes before it calls Stop.
func runChildWithoutStop(t *testing.T, dir string) {
	t.Helper()

	c, err := Start(t.Context(), DefaultConfig(dir))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	fmt.Printf("postmaster pid %d\n", c.pid)
	os.Exit(0)
}
