// Package export turns a collection into a production: volumes of load
// files (Concordance DAT, CSV, JSON lines) that review platforms ingest,
// with one record per collected message and one per part extracted from
// it, stable control numbers kept in the state, families and dedupe keys.
//
// It reads the state and the natives in the output folder, never Graph.
// A message that cannot be parsed still gets its record, with what could
// be read and PARSE_ERRORS saying what could not.
//
// Layout of a volume, exports/VOL0001/ and so on:
//
//	VOL0001.dat              the load file (or .csv, .jsonl)
//	export.json              the export record: what, when, which runs, counts, the load file's SHA-256
//	natives/ab/<sha256>.eml  each exported message's native, linked (or copied) from the output folder
//	attachments/ab/<sha256>.<ext>  each extracted part, named by its SHA-256, written once, read-only
//
// Paths in the load file are relative to the volume folder.
package export
