//! Import batches, record insertion, replacement, undo and quarantine (filled by the import work).
