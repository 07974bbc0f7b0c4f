// Package envflag lets environment variables fill command-line flags, so the
// same binary is configured by flags on a laptop and by the environment in a
// container. A flag given on the command line wins over the environment.
package envflag

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// Parse parses the command line of fs, then sets every flag not given there
// from the variable PREFIX_NAME, where NAME is the flag name upper-cased with
// dashes as underscores (flag "database-url" with prefix "ORIGIN" reads
// ORIGIN_DATABASE_URL).
func Parse(fs *flag.FlagSet, prefix string, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}

	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := prefix + "_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		value, ok := os.LookupEnv(name)
		if given[f.Name] || !ok || err != nil {
			return
		}
		if setErr := fs.Set(f.Name, value); setErr != nil {
			err = fmt.Errorf("environment variable %s: %w", name, setErr)
		}
	})
	return err
}
