package state

import "github.com/sluicedata/sluice/objstore"

// Open returns the state of pipeline/source at loc (the configuration's
// state URL, opened with objstore.Open).
func Open(loc objstore.Location, pipeline, source string) *Source {
	return New(loc.Store, loc.Prefix, pipeline, source)
}
