//! Index benchmark on generated chunks (索引基准): BM25 and HNSW indexing throughput, search latency
//! (p50 / p95, excluding the query embedding), and — when a model is given — embedding throughput
//! on a sample of passages. Synthetic vectors stand in for embeddings, since embedding 50,000
//! chunks on a laptop CPU takes far longer than the index itself.

use lodestar_core::{EmbedKind, Embedder, KbId, Principal, Role, Sensitivity};
use lodestar_dict::Dictionaries;
use lodestar_index::{Chunk, KnowledgeIndex, Result, SearchRequest};
use std::path::Path;
use std::time::Instant;

/// Parameters of [`run_index_bench`].
#[derive(Debug, Clone)]
pub struct IndexBenchOptions {
    /// Synthetic chunks indexed.
    pub chunks: usize,
    /// Vector dimension (384 = multilingual-e5-small).
    pub dim: usize,
    /// Searches timed.
    pub queries: usize,
    /// Passages embedded for the throughput figure (when an embedder is given).
    pub embed_sample: usize,
    /// Seed of the generated chunks, vectors and queries (same seed, same data).
    pub seed: u64,
}

impl Default for IndexBenchOptions {
    fn default() -> Self {
        Self { chunks: 50_000, dim: 384, queries: 200, embed_sample: 64, seed: 7 }
    }
}

/// Figures of `bench index`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IndexBenchReport {
    /// Chunks indexed.
    pub chunks: usize,
    /// Vector dimension.
    pub dim: usize,
    /// Time to build the BM25 index, in seconds.
    pub bm25_index_s: f64,
    /// BM25 indexing throughput.
    pub bm25_chunks_per_s: f64,
    /// Time to build the HNSW graph, in seconds.
    pub hnsw_index_s: f64,
    /// HNSW indexing throughput.
    pub hnsw_chunks_per_s: f64,
    /// Writing the catalogue and vectors to disk.
    pub persist_s: f64,
    /// Searches timed.
    pub queries: usize,
    /// Hybrid search as the administrator (BM25 + HNSW + fusion), query embedding excluded.
    pub search_p50_ms: f64,
    /// 95th percentile of the same.
    pub search_p95_ms: f64,
    /// Hybrid search as a user with clearance 内部 and two knowledge bases (filters active).
    pub filtered_search_p50_ms: f64,
    /// 95th percentile of the same.
    pub filtered_search_p95_ms: f64,
    /// Each retriever alone (administrator), p95.
    pub bm25_search_p95_ms: f64,
    /// Vector retriever alone, p95.
    pub vector_search_p95_ms: f64,
    /// Embedding throughput on a sample (None without a model).
    pub embed_passages_per_s: Option<f64>,
    /// The embedding model of the throughput figure.
    pub embed_model: Option<String>,
    /// Reopening the persisted index (catalogue + BM25 + HNSW rebuild).
    pub reopen_s: f64,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

const WORDS: &[&str] = &[
    "矿山",
    "工况",
    "花纹",
    "耐磨",
    "抗刺扎",
    "干线",
    "驱动轮",
    "转向轮",
    "预付",
    "尾款",
    "见提单",
    "逾期",
    "信用额度",
    "订舱",
    "货好",
    "排产",
    "质保",
    "索赔",
    "翻新",
    "胎压",
    "车队",
    "经销商",
    "达成率",
    "同比",
    "缺口",
    "返利",
    "展会",
    "培训",
    "冬季",
    "港口",
    "露天矿",
    "载重",
    "层级",
    "轮辋",
    "交期",
    "价格",
    "客户",
    "回款",
    "合同",
    "发运",
];

fn synth_chunks(dicts: &Dictionaries, n: usize, rng: &mut Rng) -> Vec<Chunk> {
    let specs: Vec<&str> = dicts.specs.iter().map(|s| s.spec.as_str()).collect();
    let customers: Vec<(&str, &str)> = dicts.customers.iter().map(|c| (c.id.as_str(), c.name_zh.as_str())).collect();
    let countries: Vec<&str> = dicts.countries.iter().map(|c| c.code.as_str()).collect();
    (0..n)
        .map(|i| {
            let mut text = String::new();
            for j in 0..40 {
                if j % 9 == 0 && !specs.is_empty() {
                    text.push_str(specs[rng.below(specs.len())]);
                } else if j % 13 == 0 && !customers.is_empty() {
                    text.push_str(customers[rng.below(customers.len())].1);
                } else {
                    text.push_str(WORDS[rng.below(WORDS.len())]);
                }
                text.push_str(if j % 7 == 6 { "。" } else { "，" });
            }
            let kb = KbId::ALL[rng.below(5)];
            let doc = format!("{}/synthetic-{:05}.md", kb.id(), i / 8);
            let customer = (kb == KbId::Customer && !customers.is_empty())
                .then(|| customers[rng.below(customers.len())].0.to_string());
            Chunk {
                chunk_id: format!("{doc}#{i:012x}"),
                doc,
                title: format!("合成文档 {}", i / 8),
                kb,
                sensitivity: Sensitivity::ALL[rng.below(4)],
                section: format!("第 {} 节", i % 8),
                text,
                countries: if countries.is_empty() {
                    vec![]
                } else {
                    vec![countries[rng.below(countries.len())].to_string()]
                },
                customer,
                date: None,
                owner: None,
                ordinal: i % 8,
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Builds an index of `opts.chunks` generated chunks in `dir` and measures it.
pub fn run_index_bench(
    dir: &Path,
    dicts: &Dictionaries,
    embedder: Option<&dyn Embedder>,
    opts: &IndexBenchOptions,
) -> Result<IndexBenchReport> {
    let mut rng = Rng(opts.seed.max(1));
    let chunks = synth_chunks(dicts, opts.chunks, &mut rng);
    // Clustered vectors (topics + noise), like real sentence embeddings, rather than uniform noise
    // on the sphere (on which every distance is ≈ 1 and no index can navigate).
    let centres: Vec<Vec<f32>> =
        (0..opts.chunks.div_ceil(100).max(1)).map(|_| (0..opts.dim).map(|_| rng.unit()).collect()).collect();
    let vectors: Vec<Vec<f32>> = (0..chunks.len())
        .map(|_| {
            let c = &centres[rng.below(centres.len())];
            let mut v: Vec<f32> = c.iter().map(|x| x + 0.6 * rng.unit()).collect();
            lodestar_index::vector::normalize(&mut v);
            v
        })
        .collect();
    let queries: Vec<(String, Vec<f32>)> = (0..opts.queries)
        .map(|_| {
            let i = rng.below(chunks.len());
            let words: Vec<&str> = chunks[i].text.split(['，', '。']).filter(|w| !w.is_empty()).take(3).collect();
            let mut v: Vec<f32> = vectors[i].iter().map(|x| x + 0.3 * rng.unit() / (opts.dim as f32).sqrt()).collect();
            lodestar_index::vector::normalize(&mut v);
            (words.join(" "), v)
        })
        .collect();
    let embed_texts: Vec<String> = chunks.iter().take(opts.embed_sample).map(|c| c.embed_text()).collect();

    let mut ix = KnowledgeIndex::open(dir, dicts, None)?;
    let t = ix.add_chunks(chunks, Some(("synthetic", vectors)))?;

    let admin = Principal::local_admin();
    let user = Principal {
        name: "bench".into(),
        role: Role::Sales,
        clearance: Sensitivity::Internal,
        kbs: vec![KbId::Product, KbId::Policy],
    };
    let time = |p: &Principal, mode: lodestar_index::SearchMode| -> Result<Vec<f64>> {
        let mut ms = Vec::with_capacity(queries.len());
        for (i, (q, v)) in queries.iter().enumerate() {
            let mut req = SearchRequest::new(q.clone(), p.clone());
            req.k = 10;
            req.mode = mode;
            let t = Instant::now();
            let res = ix.search_with_query_vector(&req, Some(v))?;
            let el = t.elapsed().as_secs_f64() * 1e3;
            if i >= 5 {
                ms.push(el); // the first few warm caches
            }
            debug_assert!(res.hits.iter().all(|h| p.can_read(h.kb, h.sensitivity)));
        }
        ms.sort_by(f64::total_cmp);
        Ok(ms)
    };
    let all = time(&admin, lodestar_index::SearchMode::Hybrid)?;
    let filtered = time(&user, lodestar_index::SearchMode::Hybrid)?;
    let bm25_only = time(&admin, lodestar_index::SearchMode::Bm25)?;
    let vector_only = time(&admin, lodestar_index::SearchMode::Vector)?;
    let (embed_passages_per_s, embed_model) = match embedder {
        Some(e) if !embed_texts.is_empty() => {
            let refs: Vec<&str> = embed_texts.iter().map(String::as_str).collect();
            let t = Instant::now();
            for b in refs.chunks(16) {
                e.embed(b, EmbedKind::Passage)?;
            }
            (Some(refs.len() as f64 / t.elapsed().as_secs_f64()), Some(e.name().to_string()))
        }
        _ => (None, None),
    };
    drop(ix);
    let t0 = Instant::now();
    let reopened = KnowledgeIndex::open(dir, dicts, None)?;
    let reopen_s = t0.elapsed().as_secs_f64();
    let n = reopened.stats().chunks;
    Ok(IndexBenchReport {
        chunks: n,
        dim: opts.dim,
        bm25_index_s: t.bm25_ms / 1e3,
        bm25_chunks_per_s: n as f64 / (t.bm25_ms / 1e3),
        hnsw_index_s: t.vector_ms / 1e3,
        hnsw_chunks_per_s: n as f64 / (t.vector_ms / 1e3),
        persist_s: t.save_ms / 1e3,
        queries: all.len(),
        search_p50_ms: percentile(&all, 0.5),
        search_p95_ms: percentile(&all, 0.95),
        filtered_search_p50_ms: percentile(&filtered, 0.5),
        filtered_search_p95_ms: percentile(&filtered, 0.95),
        bm25_search_p95_ms: percentile(&bm25_only, 0.95),
        vector_search_p95_ms: percentile(&vector_only, 0.95),
        embed_passages_per_s,
        embed_model,
        reopen_s,
    })
}
