//! `lodestar-ingest`: reads messy Excel exports (sales, targets, receivables, fx), cleans them against the dictionaries, quarantines bad rows and imports them into the store as batches.
