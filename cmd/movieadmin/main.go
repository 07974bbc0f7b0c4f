// Command movieadmin administers a region: API keys, the quarantine, the
// state digest and rebuilding the database from the bucket.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"

	"moviequery/internal/envflag"
	"moviequery/origin"
)

const usage = `usage: movieadmin COMMAND [flags]

commands:
  create-key   create an API key and print its secret once
  keys         list active API keys
  revoke-key   revoke an API key by id
  set-rate     set a key's rate limit per edge (-id, -rate, -burst)
  quarantine   list quarantined updates with their reasons
  redrive      validate quarantined updates again (-id N, or all)
  digest       print the digest of the current state
  rebuild      ingest every object of the bucket the database lacks

Every command takes -database-url (or ORIGIN_DATABASE_URL); redrive and
rebuild also take -bucket, -region, -s3-endpoint. Run a command with -h for
its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		os.Exit(0)
	}
	commands := map[string]func(*flags) error{
		"create-key": createKey, "keys": listKeys, "revoke-key": revokeKey, "set-rate": setRate,
		"quarantine": listQuarantine, "redrive": redrive, "digest": digest, "rebuild": rebuild,
	}
	command, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}

	f := newFlags(os.Args[1])
	if err := f.parse(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "movieadmin:", err)
		os.Exit(2)
	}
	if err := command(f); err != nil {
		fmt.Fprintln(os.Stderr, "movieadmin:", err)
		os.Exit(1)
	}
}

type flags struct {
	fs     *flag.FlagSet
	cfg    origin.Config
	name   string
	scopes string
	id     string
	rate   int
	burst  int
}

// newFlags defines the flags of one command, so that its -h lists only
// those.
func newFlags(command string) *flags {
	f := &flags{fs: flag.NewFlagSet("movieadmin "+command, flag.ExitOnError), cfg: origin.DefaultConfig()}
	f.fs.StringVar(&f.cfg.DatabaseURL, "database-url", "", "PostgreSQL connection string")

	switch command {
	case "create-key":
		f.fs.StringVar(&f.name, "name", "", "who the key is for")
		f.fs.StringVar(&f.scopes, "scopes", "query", "comma-separated scopes of query, audit, admin")
	case "revoke-key":
		f.fs.StringVar(&f.id, "id", "", "id of the key to revoke")
	case "set-rate":
		f.fs.StringVar(&f.id, "id", "", "id of the key")
		f.fs.IntVar(&f.rate, "rate", 0, "requests per second each edge allows the key (default: unchanged; new keys have 100)")
		f.fs.IntVar(&f.burst, "burst", 0, "requests allowed at once above the rate (default: unchanged; new keys have 200)")
	case "redrive", "rebuild":
		f.fs.StringVar(&f.cfg.Bucket, "bucket", "", "the region's update bucket")
		f.fs.StringVar(&f.cfg.Region, "region", "us-east-1", "AWS region of the bucket")
		f.fs.StringVar(&f.cfg.AWS.S3Endpoint, "s3-endpoint", "", "S3-compatible endpoint; empty uses AWS")
	}
	if command == "redrive" {
		f.fs.StringVar(&f.id, "id", "", "quarantine id to validate again; empty redrives all")
	}
	return f
}

func (f *flags) parse(args []string) error {
	if err := envflag.Parse(f.fs, "ORIGIN", args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; give every value with its flag, and write a list as one argument, such as -scopes query,audit", f.fs.Arg(0))
	}
	if f.cfg.DatabaseURL == "" {
		return fmt.Errorf("-database-url is required")
	}
	f.cfg.AWS.Region = f.cfg.Region
	f.cfg.AWS.StaticCredentials = f.cfg.AWS.S3Endpoint != ""
	return nil
}

func (f *flags) store() (*origin.Store, error) {
	return origin.OpenStore(context.Background(), f.cfg.DatabaseURL, nil)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func parseID(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("-id %q is not a quarantine id", s)
	}
	return []int64{id}, nil
}
