//! Retrieval evaluation (检索评测): recall@1/5/10 and MRR of each retriever on a JSONL set of
//! questions with gold documents or chunks, plus a permission check for questions asked under a
//! lower clearance.
//!
//! One line per question:
//! `{"id": "q01", "q": "…", "gold_docs": ["product/spec-11r22_5.md"], "kind": "spec",
//!   "as": {"clearance": "内部"}, "expect_none_above": true}`.

use lodestar_core::{EmbedKind, KbId, Principal, Role, Sensitivity};
use lodestar_index::{Fusion, IndexError, KnowledgeIndex, Rerank, Result, SearchMode, SearchRequest};
use std::collections::BTreeMap;
use std::path::Path;

/// Who asks an evaluation question (default: the local administrator).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EvalAs {
    /// The asker's clearance.
    pub clearance: Sensitivity,
    /// Knowledge bases granted to the asker (empty = all).
    #[serde(default)]
    pub kbs: Vec<KbId>,
}

/// One evaluation question.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EvalQuestion {
    /// Question id.
    pub id: String,
    /// The query text.
    pub q: String,
    /// Documents that answer it (`product/spec-11r22_5.md`); any one in the top k counts.
    #[serde(default)]
    pub gold_docs: Vec<String>,
    /// Chunks that answer it (alternative to documents).
    #[serde(default)]
    pub gold_chunks: Vec<String>,
    /// spec / alias / paraphrase / permission / … (for the per-kind breakdown).
    #[serde(default)]
    pub kind: Option<String>,
    /// Knowledge bases to search (empty = all granted).
    #[serde(default)]
    pub kbs: Vec<KbId>,
    /// Ask as this user instead of the local administrator.
    #[serde(default, rename = "as")]
    pub as_user: Option<EvalAs>,
    /// No hit may be above the asker's clearance (checked on the top 50).
    #[serde(default)]
    pub expect_none_above: bool,
    /// Country filter of the search.
    #[serde(default)]
    pub country: Option<String>,
    /// Customer filter of the search.
    #[serde(default)]
    pub customer: Option<String>,
}

impl EvalQuestion {
    fn principal(&self) -> Principal {
        match &self.as_user {
            None => Principal::local_admin(),
            Some(a) => {
                Principal { name: "eval".into(), role: Role::Viewer, clearance: a.clearance, kbs: a.kbs.clone() }
            }
        }
    }
    fn scored(&self) -> bool {
        !self.gold_docs.is_empty() || !self.gold_chunks.is_empty()
    }
}

/// Reads a JSONL evaluation set (blank lines and `//` comments skipped).
pub fn load_questions(path: &Path) -> Result<Vec<EvalQuestion>> {
    let text = std::fs::read_to_string(path).map_err(|source| IndexError::Io { path: path.into(), source })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with("//") {
            continue;
        }
        let q: EvalQuestion =
            serde_json::from_str(l).map_err(|e| IndexError::Invalid(format!("{}:{}: {e}", path.display(), i + 1)))?;
        out.push(q);
    }
    Ok(out)
}

/// Figures of one retriever.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ModeReport {
    /// Share of questions with a gold hit at rank 1.
    pub recall_at_1: f64,
    /// Share with a gold hit in the top 5.
    pub recall_at_5: f64,
    /// Share with a gold hit in the top 10.
    pub recall_at_10: f64,
    /// Mean reciprocal rank of the first gold hit.
    pub mrr: f64,
    /// Questions with gold ids (the denominator).
    pub questions: usize,
    /// Questions checked for hits above clearance, and hits found above it (must be 0).
    pub permission_checks: usize,
    /// Hits above the asker's clearance (must be 0).
    pub permission_violations: usize,
    /// recall@5 by question kind.
    pub recall_at_5_by_kind: BTreeMap<String, f64>,
    /// Ids of questions whose gold is not in the top 5.
    pub misses_at_5: Vec<String>,
}

/// The report of `bench retrieval`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EvalReport {
    /// Figures of hybrid search (the default).
    pub hybrid: ModeReport,
    /// Figures of BM25 alone.
    pub bm25: ModeReport,
    /// `None` when no embedding model is attached.
    pub vector: Option<ModeReport>,
    /// Hybrid followed by e5 cosine re-sorting of the fused top 20 (measured, not the default).
    pub hybrid_rerank: Option<ModeReport>,
    /// Hybrid with reciprocal-rank fusion instead of score fusion (measured, not the default).
    pub hybrid_rrf: Option<ModeReport>,
    /// Questions in the set.
    pub questions: usize,
}

/// Runs every question in each mode, with results collapsed by document as `lodestar search`
/// shows them ([`lodestar_index::SEARCH_PER_DOC`]). Query vectors are embedded once per question.
pub fn evaluate(ix: &KnowledgeIndex, questions: &[EvalQuestion]) -> Result<EvalReport> {
    let qvecs: Vec<Option<Vec<f32>>> = match ix.embedder() {
        Some(e) => {
            let mut v = Vec::with_capacity(questions.len());
            for q in questions {
                v.push(e.embed(&[ix.vector_query_text(&q.q).as_str()], EmbedKind::Query)?.pop());
            }
            v
        }
        None => vec![None; questions.len()],
    };
    let has_vec = ix.embedder().is_some() && ix.stats().vectors > 0;
    let run = |mode, rerank, fusion| run_mode(ix, questions, &qvecs, mode, rerank, fusion);
    let hybrid = run(SearchMode::Hybrid, Rerank::None, Fusion::Score)?;
    let bm25 = run(SearchMode::Bm25, Rerank::None, Fusion::Score)?;
    let vector = if has_vec { Some(run(SearchMode::Vector, Rerank::None, Fusion::Score)?) } else { None };
    let hybrid_rerank = if has_vec { Some(run(SearchMode::Hybrid, Rerank::Cosine, Fusion::Score)?) } else { None };
    let hybrid_rrf = if has_vec { Some(run(SearchMode::Hybrid, Rerank::None, Fusion::Rrf)?) } else { None };
    Ok(EvalReport { hybrid, bm25, vector, hybrid_rerank, hybrid_rrf, questions: questions.len() })
}

fn run_mode(
    ix: &KnowledgeIndex,
    questions: &[EvalQuestion],
    qvecs: &[Option<Vec<f32>>],
    mode: SearchMode,
    rerank: Rerank,
    fusion: Fusion,
) -> Result<ModeReport> {
    let per_doc = Some(lodestar_index::SEARCH_PER_DOC);
    let mut r = ModeReport::default();
    let (mut r1, mut r5, mut r10, mut mrr) = (0.0, 0.0, 0.0, 0.0);
    let mut kinds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (q, qv) in questions.iter().zip(qvecs) {
        let principal = q.principal();
        let mut req = SearchRequest::new(q.q.clone(), principal.clone());
        req.k = if q.expect_none_above { 50 } else { 10 };
        req.kbs = q.kbs.clone();
        req.mode = mode;
        req.rerank = rerank;
        req.fusion = fusion;
        req.country = q.country.clone();
        req.customer = q.customer.clone();
        req.per_doc = per_doc;
        let res = ix.search_with_query_vector(&req, if mode == SearchMode::Bm25 { None } else { qv.as_deref() })?;
        if q.expect_none_above || q.as_user.is_some() {
            r.permission_checks += 1;
            r.permission_violations += res.hits.iter().filter(|h| !principal.can_read(h.kb, h.sensitivity)).count();
        }
        if !q.scored() {
            continue;
        }
        r.questions += 1;
        let rank = res
            .hits
            .iter()
            .take(10)
            .position(|h| q.gold_docs.contains(&h.doc) || q.gold_chunks.contains(&h.chunk_id))
            .map(|p| p + 1);
        let kind = q.kind.clone().unwrap_or_else(|| "other".into());
        let e = kinds.entry(kind).or_default();
        e.0 += 1;
        if let Some(k) = rank {
            if k <= 1 {
                r1 += 1.0;
            }
            if k <= 5 {
                r5 += 1.0;
                e.1 += 1;
            }
            r10 += 1.0;
            mrr += 1.0 / k as f64;
        }
        if rank.is_none_or(|k| k > 5) {
            r.misses_at_5.push(q.id.clone());
        }
    }
    let n = r.questions.max(1) as f64;
    r.recall_at_1 = r1 / n;
    r.recall_at_5 = r5 / n;
    r.recall_at_10 = r10 / n;
    r.mrr = mrr / n;
    r.recall_at_5_by_kind = kinds.into_iter().map(|(k, (t, h))| (k, h as f64 / t.max(1) as f64)).collect();
    Ok(r)
}
