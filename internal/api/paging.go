package api

import (
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
)

// Every list route pages the same way: limit is the page size; an answer
// with more after it carries next_page_token and the same next page as an
// RFC 8288 Link header (rel="next"); the client passes the token back as
// page_token. A token is opaque to clients: base64url (no padding) of a
// version byte, the list it belongs to, and the list's own cursor (the
// cursors of the older, deprecated parameters after, before and
// start_seq, as bytes). The version lets the format change without
// misreading old tokens.

// pageTokenVersion is the first byte of every page token.
const pageTokenVersion = 1

// pageList names the list a token belongs to, so that a token of one list
// is refused by another.
type pageList byte

const (
	listDevices pageList = 1 + iota
	listReadingsBySeq
	listReadingsByTime
	listHistory
	listTwinHistory
	listContracts
	listContractEvents
	listProposals
	listBlocks
	listLatestReadings
	listBlockReadings
	listDeviceChanges
	listDeviceAccess
)

// cursorParams are the deprecated cursor parameters; the Link of the next
// page leaves them out, the page token standing for them.
var cursorParams = []string{"after", "before", "start_seq"}

// pageToken returns the token of list's page at cursor.
func pageToken(list pageList, cursor []byte) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{pageTokenVersion, byte(list)}, cursor...))
}

// uintPageToken returns the token of list's page at the number n.
func uintPageToken(list pageList, n uint64) string {
	return pageToken(list, binary.BigEndian.AppendUint64(nil, n))
}

// pageCursor reads the query parameter page_token of list: its cursor,
// or nil without a token. size is the cursor's length (0: any length
// from 1).
func pageCursor(q url.Values, list pageList, size int) ([]byte, error) {
	v, ok := q["page_token"]
	if !ok {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v[0])
	if err != nil || len(b) < 3 || b[0] != pageTokenVersion || pageList(b[1]) != list || (size > 0 && len(b)-2 != size) {
		return nil, badPageToken(v[0])
	}
	return b[2:], nil
}

// uintPageCursor reads a page_token that holds a number: the number, and
// whether there was a token.
func uintPageCursor(q url.Values, list pageList) (uint64, bool, error) {
	b, err := pageCursor(q, list, 8)
	if err != nil || b == nil {
		return 0, false, err
	}
	return binary.BigEndian.Uint64(b), true, nil
}

// badPageToken is the problem of a page_token this list did not write.
func badPageToken(v string) *problem {
	return invalidParameter("page_token=%q is not a page token of this list; pass the next_page_token of the previous page as it is (same path and parameters), or leave page_token out to start from the first page", v)
}

// writePage answers v, a page of a list; token is that of the next page
// ("" on the last), which the Link header carries too, as the request's
// relative URL with page_token replaced.
func writePage(w http.ResponseWriter, r *http.Request, token string, v any) error {
	if token != "" {
		w.Header().Set("Link", "<"+nextPageURL(r.URL, token)+`>; rel="next"`)
	}
	return writeJSON(w, http.StatusOK, v)
}

// nextPageURL is u, relative, with page_token set to token and without
// the deprecated cursors it stands for.
func nextPageURL(u *url.URL, token string) string {
	q := u.Query()
	for _, p := range cursorParams {
		q.Del(p)
	}
	q.Set("page_token", token)
	return u.EscapedPath() + "?" + q.Encode()
}
