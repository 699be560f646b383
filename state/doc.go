// Package state is collect's memory of what was collected: one bbolt file
// holding, per mailbox, its identity, its folders with their delta cursors,
// and every item collected or observed; indexes by internetMessageId, by
// SHA-256 and by collection sequence; run records; and the last failure of
// each item.
//
// The state is append-only: no method deletes an item or an observation.
// Every read happens in View and every write in Update; no bbolt type is
// visible outside this package.
//
// # Opening and locking
//
// Open with Options.ReadOnly (plan) takes a shared lock, and a file that
// does not exist reads as an empty state without being created. Open for
// writing (apply) takes an exclusive lock, creates the file if needed, and
// records the holder in LockFilePath(path) so that a second command can say
// who holds the lock (*LockedError). An existing file is checked page by
// page, read-only, before it is used; a damaged file (*CorruptError) or one
// of a newer schema (*SchemaError) is refused untouched. A file of an older
// schema is copied to BackupPath and then upgraded, one version at a time,
// when opened for writing.
//
// # Backup
//
// Before a change, DB.Backup copies the file, as it is, next to it and
// syncs the copy; Backup.Keep, called once the change's first commit
// succeeded, renames it to BackupFilePath(path) (<state>.backup). A change
// that stops before its first commit leaves the previous backup in place.
//
// # Reading while an apply writes
//
// bbolt lets one process write a file or several read it, never both: a
// writer reuses the pages it freed without knowing what another process
// still reads, so a reader that ignored the lock could read pages being
// overwritten (bbolt's maintainers say opening a file another process
// writes is not supported). Readers therefore never open a file a writer
// holds. Instead the writer keeps a snapshot for them at SnapshotPath(path):
// a copy of the committed state made in one read transaction (bbolt's
// Tx.WriteTo, its consistent hot copy), written under a temporary name and
// renamed into place, when the lock is taken, after the first commit
// (which records the run), and after later commits at most every
// Options.SnapshotEvery. The writer removes a left-over snapshot before it
// records itself in the lock file, and its own when it closes.
//
// A read-only open with Options.Snapshot (show, state list, state show,
// verify) that finds the lock held by a live writer named in the lock file
// opens that snapshot instead, checked as the file itself would be, and
// DB.Writer says who writes and when the snapshot was taken;
// ReadTx.RunInProgress says how far the writer's run is. Writers still
// exclude each other and plan (which binds its plan to the serial) still
// waits for the lock.
//
// # File layout (schema version 1)
//
//	meta                     schema_version, lineage, serial, tool_version, created_at
//	mailboxes/<mailbox ID>/  identity  JSON Mailbox
//	    folders/<folder ID>        JSON Folder (path, cursor, cursor ID type, last completed)
//	    items/<item ID>            binary Item (see codec.go)
//	    idx_folder/<fnv64(folder ID)><item ID>
//	    failures/<item ID>         JSON Failure
//	idx_internet_message_id/<internetMessageId> 0 <mailbox ID> 0 <item ID>
//	idx_sha256/<32-byte digest><8-byte Seq>
//	idx_seq/<8-byte Seq>     <mailbox ID> 0 <item ID>
//	runs/<run ID>            JSON record.Run
//	exports/                 control numbers, dedupe firsts and volumes of collect export (see export.go)
//
// Integers in keys are big-endian so that keys sort in numeric order.
package state
