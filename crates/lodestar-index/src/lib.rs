//! `lodestar-index`: the five knowledge bases and hybrid retrieval (BM25 + HNSW), filtered by permissions before ranking.
