//go:build !linux

package state

import bolt "go.etcd.io/bbolt"

// releaseMapped is Linux only: elsewhere the mapped pages stay.
func releaseMapped(*bolt.DB) {}
