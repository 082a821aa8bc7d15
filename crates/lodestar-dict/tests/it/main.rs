//! lodestar-dict's integration tests (one binary).

mod cues_in_data;
