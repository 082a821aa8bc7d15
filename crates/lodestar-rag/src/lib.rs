//! `lodestar-rag`: answers questions from the rule engine and the knowledge bases, with citations and a number guard.
