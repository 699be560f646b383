// Package store is the evidence store of a collection: the output folder that
// holds every collected message as its native MIME bytes, the manifest journal
// and the run records.
//
// Layout of the output folder:
//
//	natives/ab/abcdef….eml   message bytes exactly as Graph's /$value returned them,
//	                         named by their SHA-256 and sharded by its first two hex digits
//	natives/.tmp/.partial-*  files being written; never evidence, swept by Clean
//	manifest.jsonl           one JSON line per collected item, append-only, in seq order
//	runs/<run-id>.json       one record per run (who, when, tool, matter, counts, failures)
//	runs/.partial-*          run records being written; swept by Clean
//
// Durability: Stage writes a native to a temp file in the same file system,
// hashed while it streams and made read-only; Seal makes a batch of them
// durable (one sync of the bytes), renames each to its final name and syncs
// the folders. Only after Seal may the caller record them in the state.
// Identical bytes are stored once.
//
// Append-only: nothing in this package deletes or rewrites a native or a
// complete manifest line. The only bytes ever cut are a torn final manifest
// line (bytes after the last newline, left by a crash mid-append), and temp
// files that were never renamed into place.
//
// Permissions: by default folders are 0700, the manifest and run records 0600
// and natives 0400 (read-only, so an accidental edit fails): collected mail is
// confidential and the owner is the collecting account. Options.GroupRead
// widens these to 0750, 0640 and 0440 for a review team that shares a group.
// The process umask can only narrow them further.
package store
