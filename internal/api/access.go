package api

import (
	"encoding/binary"
	"fmt"
	"net/http"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/internal/state"
)

// PrivateReader is what the answers of private readings need beyond
// Reader: GET /v1/devices/{id}/access, and the encryption key in GET
// /v1/accounts/{addr}. A Reader without it answers the first 404 and
// leaves the key out; package query's Reader implements it.
type PrivateReader interface {
	// EncryptionKey returns an account's published encryption key; nil,
	// nil if it published none.
	EncryptionKey(addr string) (*state.EncryptionKey, error)
	// Epochs returns up to limit epochs of a device newest first, from
	// epoch from down (0: from the newest), and the epoch to continue
	// from (0: no more).
	Epochs(id string, from uint64, limit int) ([]*state.Epoch, uint64, error)
	// Grants returns up to limit grant histories of a device in consumer
	// order, after the account after ("": from the first), and whether
	// more follow.
	Grants(id, after string, limit int) ([]*state.Grant, bool, error)
}

// The parts of GET /v1/devices/{id}/access a page token continues in: a
// page holds grants first, then epochs.
const (
	accessGrants byte = 1 // cursor: the last consumer of the page before ("": none)
	accessEpochs byte = 2 // cursor: be64 epoch to continue from (0: the newest)
)

// deviceAccess answers GET /v1/devices/{id}/access: the device's grants,
// in consumer order, then its epochs, newest first, limit items a page.
func (s *Server) deviceAccess(w http.ResponseWriter, r *http.Request) error {
	pr, ok := s.reader.(PrivateReader)
	if !ok {
		return notFound("this node does not serve access lists")
	}
	d, err := s.knownDevice(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	part, after, from := accessGrants, "", uint64(0)
	cursor, err := pageCursor(q, listDeviceAccess, 0)
	if err != nil {
		return err
	}
	if cursor != nil {
		switch part = cursor[0]; {
		case part == accessGrants && (len(cursor) == 1 || address.ParseAccount(string(cursor[1:])) == nil):
			after = string(cursor[1:])
		case part == accessEpochs && len(cursor) == 9:
			from = binary.BigEndian.Uint64(cursor[1:])
		default:
			return badPageToken(q.Get("page_token"))
		}
	}
	out := apiwire.DeviceAccess{Device: d.ID, PrivateFields: d.PrivateFields, StreamEpoch: d.StreamEpoch, StreamKeyAnnounced: d.StreamAnnounced,
		Grants: []apiwire.Grant{}, Epochs: []apiwire.Epoch{}}
	if out.PrivateFields == nil {
		out.PrivateFields = []string{}
	}
	room := limit
	if part == accessGrants {
		gs, more, err := pr.Grants(d.ID, after, limit)
		if err != nil {
			return fmt.Errorf("grants of %s: %w", d.ID, err)
		}
		for _, g := range gs {
			out.Grants = append(out.Grants, grant(g))
		}
		room -= len(gs)
		switch {
		case more:
			out.NextPageToken = pageToken(listDeviceAccess, append([]byte{accessGrants}, gs[len(gs)-1].Consumer...))
		case room == 0 && d.StreamEpoch > 0:
			out.NextPageToken = pageToken(listDeviceAccess, binary.BigEndian.AppendUint64([]byte{accessEpochs}, 0))
		}
		part = accessEpochs
	}
	if part == accessEpochs && room > 0 {
		es, next, err := pr.Epochs(d.ID, from, room)
		if err != nil {
			return fmt.Errorf("epochs of %s: %w", d.ID, err)
		}
		for _, e := range es {
			out.Epochs = append(out.Epochs, epoch(e))
		}
		if next > 0 {
			out.NextPageToken = pageToken(listDeviceAccess, binary.BigEndian.AppendUint64([]byte{accessEpochs}, next))
		}
	}
	return writePage(w, r, out.NextPageToken, out)
}
