//! `lodestar-ledger`: turns meeting minutes into a tracked action ledger (督办台账).
