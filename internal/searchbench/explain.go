package searchbench

import (
	"context"
	"fmt"
	"io"

	"moviequery/internal/query"
	"moviequery/origin"
)

// explain writes the plans of the statements Search runs for q as a
// Markdown section.
func explain(ctx context.Context, store *origin.Store, q query.Query, label string, out io.Writer) error {
	plans, err := store.ExplainSearch(ctx, q)
	if err != nil {
		return fmt.Errorf("explaining %s: %w", label, err)
	}

	fmt.Fprintf(out, "### `%s`\n\n", label)
	for _, plan := range plans {
		fmt.Fprintf(out, "```\n%s\n```\n\n", plan)
	}
	return nil
}
