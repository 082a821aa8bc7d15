//! `lodestar-metrics`: the deterministic rule engine (指标口径) over the store; never calls a model.
