package origin

import (
	"os"
	"testing"

	"moviequery/internal/postgres"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgres.StopShared()
	os.Exit(code)
}
