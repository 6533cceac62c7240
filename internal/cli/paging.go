package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// pageFlags are a list command's paging flags, the API's paging: --limit,
// the page size, and --page-token, the next_page_token of the previous
// page ("" for the first page).
type pageFlags struct {
	limit int
	token string
}

// add defines --limit and --page-token on c.
func (p *pageFlags) add(c *cobra.Command) {
	c.Flags().IntVar(&p.limit, "limit", 100, "at most this many")
	c.Flags().StringVar(&p.token, "page-token", "", "start at the page of `TOKEN`, as the previous page's more: line (or its next_page_token) gives it")
}

// fetch returns the page at --page-token (atToken), or without one the
// page atAfter fetches: the first, or that of the list's older cursor
// flag --after, deprecated, which does not go with --page-token.
func fetch[P any](p *pageFlags, cmd *cobra.Command, atToken func(limit int, token string) (P, error), atAfter func(limit int) (P, error)) (P, error) {
	if p.token == "" {
		return atAfter(p.limit)
	}
	if cmd.Flags().Changed("after") {
		var none P
		return none, errorf("--after and --page-token do not go together: --after is the older, deprecated form of the cursor; give --page-token alone, as the previous page's more: line does")
	}
	return atToken(p.limit, p.token)
}

// printMore prints the command line of the page at token, the page after
// this one ("": none), with --limit if the command was given one.
func (p *pageFlags) printMore(e *env, cmd *cobra.Command, token string) {
	if token == "" {
		return
	}
	limit := ""
	if cmd.Flags().Changed("limit") {
		limit = fmt.Sprintf(" --limit %d", p.limit)
	}
	e.printf("more: %s%s --page-token %s\n", cmd.CommandPath(), limit, token)
}
