//! [`KnowledgeIndex`]: the catalogue of documents and chunks, the BM25 and vector indexes over
//! them, hybrid search with permission filters, and persistence under one folder
//! (`<home>/index`):
//!
//! - `catalog.json` — documents and chunks (the source of truth; the other two are derived);
//! - `bm25/` — the tantivy index;
//! - `vectors.bin` — passage embeddings; `vectors.hnsw.graph` / `.data` — the HNSW graph, reloaded at
//!   open when `vectors.graph.ok` matches (else rebuilt from the vectors).
//!
//! Opening checks that the derived indexes match the catalogue (and that the analyzer's
//! dictionaries did not change) and rebuilds BM25 when they do not.

use crate::analyzer::Analyzer;
use crate::bm25::{Bm25, Bm25Filter};
use crate::chunker::{chunk_markdown, ChunkOptions};
use crate::reader::{self, SourceText};
use crate::vector::VectorIndex;
use crate::*;
use lodestar_core::{EmbedKind, Embedder, KbId, Sensitivity};
use lodestar_dict::glossary::is_latin_question as cross_language;
use lodestar_dict::Dictionaries;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const CATALOG_VERSION: u32 = 1;
/// Passages per embedder call.
const EMBED_BATCH: usize = 16;
/// Candidates taken from each retriever before fusion: `max(k × 5, 50)`.
fn depth(k: usize) -> usize {
    (k * 5).max(50)
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct DocEntry {
    #[serde(flatten)]
    pub(crate) info: DocumentInfo,
    pub(crate) chunk_ids: Vec<String>,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Catalog {
    pub(crate) version: u32,
    /// Analyzer fingerprint the BM25 index was built with.
    pub(crate) analyzer: String,
    /// A fresh token per BM25 commit, stored as that commit's payload too: a BM25 commit whose
    /// catalogue was never saved (a crash between the two, or another process's rebuild in
    /// between) shows as a mismatch at open. Empty for an index from before tokens.
    #[serde(default)]
    pub(crate) bm25_commit: String,
    pub(crate) docs: BTreeMap<String, DocEntry>,
    pub(crate) chunks: HashMap<String, Chunk>,
}

/// The permission and scope filter of one search, applied inside both retrievers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Bases requested ∩ bases granted.
    pub kbs: Vec<KbId>,
    /// The asker's clearance.
    pub max_sensitivity: Sensitivity,
    /// Keep only chunks of this country code or of no country.
    pub country: Option<String>,
    /// Keep only chunks of this customer id or of no customer.
    pub customer: Option<String>,
}

impl Filter {
    /// The filter of `req`: the requested bases the principal is granted, the principal's clearance, the scope.
    pub fn from_request(req: &SearchRequest) -> Self {
        let wanted: Vec<KbId> = if req.kbs.is_empty() { KbId::ALL.to_vec() } else { req.kbs.clone() };
        let kbs = wanted.into_iter().filter(|kb| req.principal.can_read_kb(*kb)).collect();
        Self {
            kbs,
            max_sensitivity: req.principal.clearance,
            country: req.country.as_ref().map(|c| c.to_ascii_uppercase()),
            customer: req.customer.clone(),
        }
    }

    /// Whether a chunk may be returned.
    pub fn allows(&self, c: &Chunk) -> bool {
        self.check(c.kb, c.sensitivity, &c.countries, c.customer.as_deref())
    }

    fn allows_meta(&self, m: &SlotMeta) -> bool {
        self.check(m.kb, m.sensitivity, &m.countries, m.customer.as_deref())
    }

    fn check(&self, kb: KbId, level: Sensitivity, countries: &[String], customer: Option<&str>) -> bool {
        self.kbs.contains(&kb)
            && level <= self.max_sensitivity
            && self.country.as_ref().is_none_or(|cc| countries.is_empty() || countries.contains(cc))
            && self.customer.as_deref().is_none_or(|id| customer.is_none_or(|x| x == id))
    }

    fn bm25(&self) -> Bm25Filter {
        Bm25Filter {
            kbs: self.kbs.iter().map(|k| k.id().to_string()).collect(),
            max_sensitivity: self.max_sensitivity.rank(),
            country: self.country.clone(),
            customer: self.customer.clone(),
        }
    }
}

/// What the vector filter needs of a chunk, stored per HNSW slot.
#[derive(Debug, Clone)]
struct SlotMeta {
    kb: KbId,
    sensitivity: Sensitivity,
    countries: Vec<String>,
    customer: Option<String>,
}

impl SlotMeta {
    fn of(c: &Chunk) -> Self {
        Self { kb: c.kb, sensitivity: c.sensitivity, countries: c.countries.clone(), customer: c.customer.clone() }
    }
}

/// The knowledge bases of one home, searchable.
pub struct KnowledgeIndex {
    dir: PathBuf,
    analyzer: Arc<Analyzer>,
    bm25: Bm25,
    vectors: Option<VectorIndex>,
    embedder: Option<Arc<dyn Embedder>>,
    catalog: Catalog,
    /// Set when the stored vectors were made by another model than the attached one.
    stale_vectors: Option<String>,
    /// Filter metadata per vector slot (kept in step with `vectors` by `sync_slots`).
    slot_meta: Vec<Option<SlotMeta>>,
    chunk_opts: ChunkOptions,
    /// `[limits]` of `config.toml`: zip containers, sheet dimensions, chunks per document.
    limits: lodestar_core::ReadLimits,
    /// English → Chinese terms added to the BM25 query of an English question.
    glossary: lodestar_dict::Glossary,
    synonyms: lodestar_dict::Synonyms,
}

impl std::fmt::Debug for KnowledgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeIndex")
            .field("dir", &self.dir)
            .field("docs", &self.catalog.docs.len())
            .field("chunks", &self.catalog.chunks.len())
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io { path: path.into(), source }
}

impl KnowledgeIndex {
    /// Opens (creating if needed) the index stored in `dir`. With `embedder = None` search is
    /// BM25 only; stored vectors are kept for when a model is attached again.
    pub fn open(dir: &Path, dicts: &Dictionaries, embedder: Option<Arc<dyn Embedder>>) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let analyzer = Arc::new(Analyzer::new(dicts));
        let cat_path = dir.join("catalog.json");
        let catalog: Catalog = match std::fs::read(&cat_path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| IndexError::Corrupt { path: cat_path.clone(), message: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Catalog { version: CATALOG_VERSION, ..Default::default() }
            }
            Err(source) => return Err(IndexError::Io { path: cat_path, source }),
        };
        let bm25 = Bm25::open(&dir.join("bm25"), analyzer.clone())?;
        let mut vectors = VectorIndex::load(&dir.join("vectors.bin"))?;
        let mut stale_vectors = None;
        if let (Some(e), Some(v)) = (&embedder, &vectors) {
            if v.model() != e.name() || v.dim() != e.dim() {
                stale_vectors = Some(v.model().to_string());
                vectors = None;
            }
        }
        if let Some(v) = &mut vectors {
            let orphans: Vec<String> =
                v.ids().filter(|id| !catalog.chunks.contains_key(*id)).map(str::to_string).collect();
            for id in orphans {
                v.remove(&id);
            }
        }
        let mut ix = Self {
            dir: dir.to_path_buf(),
            analyzer,
            bm25,
            vectors,
            embedder,
            catalog,
            stale_vectors,
            slot_meta: Vec::new(),
            chunk_opts: ChunkOptions::default(),
            limits: lodestar_core::ReadLimits::default(),
            glossary: dicts.glossary.clone(),
            synonyms: dicts.synonyms.clone(),
        };
        ix.sync_slots();
        if ix.catalog.analyzer != ix.analyzer.fingerprint()
            || ix.bm25.num_docs() != ix.catalog.chunks.len() as u64
            || !ix.bm25_generation_matches()?
        {
            tracing::info!("rebuilding the BM25 index (dictionaries or index changed)");
            ix.rebuild_bm25()?;
            ix.save_catalog()?;
        }
        Ok(ix)
    }

    /// The attached embedding model, if any.
    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.embedder.as_ref()
    }

    /// The analyzer (tokens of a text as the index sees them).
    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Adds files and folders (recursively: .md .txt .docx .xlsx .xls .ods .pdf). A document
    /// whose content did not change is left alone; a changed one has exactly its chunks replaced.
    pub fn add_paths(&mut self, paths: &[PathBuf], opts: &AddOptions) -> Result<AddReport> {
        let mut report = AddReport::default();
        let mut files: Vec<(PathBuf, PathBuf)> = Vec::new();
        for p in paths {
            if p.is_dir() {
                let mut found = Vec::new();
                walk(p, &mut found).map_err(io_err(p))?;
                found.sort();
                files.extend(found.into_iter().map(|f| (f, p.clone())));
            } else if p.is_file() {
                files.push((p.clone(), p.parent().map(Path::to_path_buf).unwrap_or_default()));
            } else {
                report.skipped.push(SkippedFile { path: p.clone(), reason: "no such file or folder".into() });
            }
        }
        let mut docs = Vec::new();
        for (file, root) in files {
            match self.prepare(&file, &root, opts) {
                Ok(d) => docs.push(d),
                Err(e) => report.skipped.push(SkippedFile { path: file, reason: e.to_string() }),
            }
        }
        self.apply(docs, &mut report)?;
        Ok(report)
    }

    /// Adds one document from text already in memory (e.g. minutes written by another command).
    /// `doc` is its id (`meeting/2026-09-07.md`); front matter in `text` is honoured.
    pub fn add_text(&mut self, doc: &str, text: &str, opts: &AddOptions) -> Result<AddReport> {
        let src = reader::split_front_matter(text);
        let path = PathBuf::from(doc);
        let prepared = self.prepare_source(&path, doc.to_string(), src, text.as_bytes(), opts)?;
        let mut report = AddReport::default();
        self.apply(vec![prepared], &mut report)?;
        Ok(report)
    }

    /// Sets the resource limits of the document readers (`[limits]` of `config.toml`).
    pub fn set_limits(&mut self, limits: lodestar_core::ReadLimits) {
        self.limits = limits;
    }

    fn prepare(&self, file: &Path, root: &Path, opts: &AddOptions) -> Result<Prepared> {
        let bytes = std::fs::read(file).map_err(io_err(file))?;
        let src = reader::read_bytes_with(file, &bytes, &self.limits)?;
        let kb_hint = resolve_kb(&src, file, opts);
        let kb = kb_hint.ok_or_else(|| IndexError::NoKb { path: file.into() })?;
        let doc = doc_id(file, root, kb);
        self.prepare_source(file, doc, src, &bytes, opts)
    }

    fn prepare_source(
        &self,
        file: &Path,
        doc: String,
        src: SourceText,
        bytes: &[u8],
        opts: &AddOptions,
    ) -> Result<Prepared> {
        let kb = resolve_kb(&src, file, opts).ok_or_else(|| IndexError::NoKb { path: file.into() })?;
        let sensitivity = src
            .meta
            .sensitivity
            .as_deref()
            .and_then(|s| s.parse::<Sensitivity>().ok())
            .or_else(|| folder_sensitivity(file))
            .or(opts.sensitivity)
            .unwrap_or(Sensitivity::Internal);
        let title = src
            .meta
            .title
            .clone()
            .or_else(|| first_h1(&src.body))
            .or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| doc.clone());
        let mut h = Sha256::new();
        h.update(bytes);
        h.update(format!("|{}|{}", kb.id(), sensitivity.rank()).as_bytes());
        let content_hash = hex::encode(&h.finalize()[..12]);
        let drafts = chunk_markdown(&src.body, &title, self.chunk_opts);
        // refused before any chunk is embedded or indexed
        self.limits
            .check_chunks(drafts.len() as u64)
            .map_err(|e| IndexError::Read { path: file.into(), message: e.0 })?;
        let mut seen: HashSet<String> = HashSet::new();
        // the next suffix of each repeated chunk id: identical chunks cost one step each, not a
        // walk over all the suffixes taken before
        let mut next_suffix: HashMap<String, usize> = HashMap::new();
        let customer = src.meta.customer.clone().filter(|c| !c.is_empty());
        let mut chunks = Vec::with_capacity(drafts.len());
        for (ordinal, d) in drafts.into_iter().enumerate() {
            let section = d.section.join(" > ");
            let base = chunk_id(&doc, &section, &d.text);
            let mut id = base.clone();
            if !seen.insert(id.clone()) {
                let n = next_suffix.entry(base.clone()).or_insert(2);
                loop {
                    id = format!("{base}-{n}");
                    *n += 1;
                    if seen.insert(id.clone()) {
                        break;
                    }
                }
            }
            chunks.push(Chunk {
                chunk_id: id,
                doc: doc.clone(),
                title: title.clone(),
                kb,
                sensitivity,
                section,
                text: d.text,
                countries: src.meta.countries.clone(),
                customer: customer.clone(),
                date: src.meta.date.clone(),
                owner: src.meta.owner.clone(),
                ordinal,
            });
        }
        let info = DocumentInfo {
            doc: doc.clone(),
            title,
            kb,
            sensitivity,
            chunks: chunks.len(),
            source: file.display().to_string(),
            content_hash,
            date: src.meta.date.clone(),
            countries: src.meta.countries.clone(),
            customer,
            owner: src.meta.owner.clone(),
        };
        Ok(Prepared { info, chunks })
    }

    /// Writes prepared documents: only chunks that differ from the stored ones are replaced.
    fn apply(&mut self, docs: Vec<Prepared>, report: &mut AddReport) -> Result<()> {
        let mut to_remove: Vec<String> = Vec::new();
        let mut to_add: Vec<Chunk> = Vec::new();
        let mut new_entries: Vec<DocEntry> = Vec::new();
        for p in docs {
            let old = self.catalog.docs.get(&p.info.doc);
            if let Some(old) = old {
                if old.info.content_hash == p.info.content_hash && old.info.source == p.info.source {
                    report.unchanged += 1;
                    report.docs.push(DocOutcome {
                        doc: p.info.doc.clone(),
                        change: DocChange::Unchanged,
                        chunks: old.chunk_ids.len(),
                    });
                    continue;
                }
            }
            let old_ids: Vec<String> = old.map(|o| o.chunk_ids.clone()).unwrap_or_default();
            let new_ids: HashSet<&str> = p.chunks.iter().map(|c| c.chunk_id.as_str()).collect();
            for id in &old_ids {
                let keep = new_ids.contains(id.as_str())
                    && p.chunks.iter().any(|c| &c.chunk_id == id && self.catalog.chunks.get(id) == Some(c));
                if !keep {
                    to_remove.push(id.clone());
                }
            }
            for c in &p.chunks {
                if self.catalog.chunks.get(&c.chunk_id) != Some(c) {
                    to_add.push(c.clone());
                }
            }
            let change = if old.is_some() { DocChange::Updated } else { DocChange::Added };
            match change {
                DocChange::Added => report.added += 1,
                _ => report.updated += 1,
            }
            report.docs.push(DocOutcome { doc: p.info.doc.clone(), change, chunks: p.chunks.len() });
            new_entries
                .push(DocEntry { chunk_ids: p.chunks.iter().map(|c| c.chunk_id.clone()).collect(), info: p.info });
        }
        if new_entries.is_empty() {
            return Ok(());
        }
        // Embed first: a model failure leaves the index untouched.
        let old_texts: HashMap<String, String> = to_remove
            .iter()
            .filter_map(|id| self.catalog.chunks.get(id).map(|c| (id.clone(), c.embed_text())))
            .collect();
        let vectors = self.embed_missing(&to_add, &old_texts)?;
        report.chunks_embedded = vectors.len();
        // Replaced chunks keep their id; remove from the catalogue before re-adding.
        let mut w = self.bm25.writer()?;
        let removed_set: HashSet<&String> = to_remove.iter().collect();
        for id in &to_remove {
            self.bm25.delete_chunk(&w, id);
            self.catalog.chunks.remove(id);
        }
        for c in &to_add {
            if !removed_set.contains(&c.chunk_id) && self.catalog.chunks.contains_key(&c.chunk_id) {
                self.bm25.delete_chunk(&w, &c.chunk_id);
            }
        }
        for c in &to_add {
            self.bm25.add(&w, c)?;
            self.catalog.chunks.insert(c.chunk_id.clone(), c.clone());
        }
        self.commit_bm25(&mut w)?;
        drop(w);
        lodestar_core::testhook::pause_point("index.after_bm25_commit");
        report.chunks_removed = to_remove.iter().filter(|id| !to_add.iter().any(|c| &c.chunk_id == *id)).count();
        report.chunks_added = to_add.len();
        if let Some(v) = &mut self.vectors {
            for id in &to_remove {
                if !self.catalog.chunks.contains_key(id) {
                    v.remove(id);
                }
            }
        }
        if !vectors.is_empty() {
            let (model, dim) = match &self.embedder {
                Some(e) => (e.name().to_string(), e.dim()),
                None => unreachable!("vectors come from the embedder"),
            };
            let v = self.vectors.get_or_insert_with(|| VectorIndex::new(&model, dim, vectors.len()));
            v.insert_many(&vectors)?;
        }
        for e in new_entries {
            self.catalog.docs.insert(e.info.doc.clone(), e);
        }
        self.maybe_compact()?;
        self.save()?;
        Ok(())
    }

    /// Embeds the chunks whose vector is missing or whose embedded text changed.
    fn embed_missing(&self, chunks: &[Chunk], old_texts: &HashMap<String, String>) -> Result<Vec<(String, Vec<f32>)>> {
        let Some(e) = &self.embedder else { return Ok(Vec::new()) };
        let need: Vec<&Chunk> = chunks
            .iter()
            .filter(|c| {
                let has = self.vectors.as_ref().is_some_and(|v| v.contains(&c.chunk_id));
                !has || old_texts.get(&c.chunk_id).is_some_and(|t| *t != c.embed_text())
            })
            .collect();
        embed_chunks(e.as_ref(), &need)
    }

    fn maybe_compact(&mut self) -> Result<()> {
        if let Some(v) = &mut self.vectors {
            if v.dead_ratio() > 0.25 {
                v.compact()?;
            }
        }
        Ok(())
    }

    /// Removes documents: an exact document id, or every document under a prefix
    /// (`product/`, or a knowledge-base id such as `product`). Returns the removed ids.
    pub fn remove(&mut self, what: &str) -> Result<Vec<String>> {
        let what = what.trim().trim_end_matches('/');
        let mut ids: Vec<String> = if self.catalog.docs.contains_key(what) {
            vec![what.to_string()]
        } else {
            let prefix = format!("{what}/");
            let kb = what.parse::<KbId>().ok();
            self.catalog
                .docs
                .values()
                .filter(|d| d.info.doc.starts_with(&prefix) || Some(d.info.kb) == kb)
                .map(|d| d.info.doc.clone())
                .collect()
        };
        if ids.is_empty() {
            return Err(IndexError::NotFound(what.to_string()));
        }
        ids.sort();
        let mut w = self.bm25.writer()?;
        for id in &ids {
            if let Some(e) = self.catalog.docs.remove(id) {
                for c in e.chunk_ids {
                    self.bm25.delete_chunk(&w, &c);
                    self.catalog.chunks.remove(&c);
                    if let Some(v) = &mut self.vectors {
                        v.remove(&c);
                    }
                }
            }
        }
        self.commit_bm25(&mut w)?;
        drop(w);
        self.maybe_compact()?;
        self.save()?;
        Ok(ids)
    }

    /// Stored documents, sorted by id.
    pub fn documents(&self) -> Vec<DocumentInfo> {
        self.catalog.docs.values().map(|d| d.info.clone()).collect()
    }

    /// One chunk by id.
    pub fn chunk(&self, id: &str) -> Option<&Chunk> {
        self.catalog.chunks.get(id)
    }

    /// The chunks of one document in order.
    pub fn chunks_of(&self, doc: &str) -> Vec<&Chunk> {
        self.catalog
            .docs
            .get(doc)
            .map(|d| d.chunk_ids.iter().filter_map(|id| self.catalog.chunks.get(id)).collect())
            .unwrap_or_default()
    }

    /// Rebuilds BM25 from the catalogue and, with an embedder attached, re-embeds every chunk.
    /// `on_progress(done, total)` is called after each embedding batch.
    pub fn rebuild(&mut self, on_progress: &mut dyn FnMut(usize, usize)) -> Result<RebuildReport> {
        let t = Instant::now();
        self.rebuild_bm25()?;
        let bm25_ms = t.elapsed().as_secs_f64() * 1e3;
        let mut embedded = 0;
        let t = Instant::now();
        if let Some(e) = self.embedder.clone() {
            let mut chunks: Vec<&Chunk> = self.catalog.chunks.values().collect();
            chunks.sort_by(|a, b| a.chunk_id.cmp(&b.chunk_id));
            let total = chunks.len();
            let mut fresh = VectorIndex::new(e.name(), e.dim(), total);
            for batch in chunks.chunks(EMBED_BATCH * 4) {
                let v = embed_chunks(e.as_ref(), batch)?;
                embedded += v.len();
                fresh.insert_many(&v)?;
                on_progress(embedded, total);
            }
            self.vectors = Some(fresh);
            self.stale_vectors = None;
        }
        let embed_ms = t.elapsed().as_secs_f64() * 1e3;
        self.save()?;
        Ok(RebuildReport { chunks: self.catalog.chunks.len(), embedded, bm25_ms, embed_ms })
    }

    /// Embeds the catalogue chunks that have no vector — added while no embedding model was
    /// attached, or all of them when the stored vectors were made by another model — and saves;
    /// chunks, BM25 and the vectors already there are left as they are. Every vector is computed
    /// before anything changes, so a model failure leaves the index untouched. Without an
    /// embedder nothing is done. Returns how many chunks were embedded; `on_progress(done,
    /// total)` is called after each embedding batch.
    pub fn embed_unembedded(&mut self, on_progress: &mut dyn FnMut(usize, usize)) -> Result<usize> {
        let Some(e) = self.embedder.clone() else { return Ok(0) };
        let mut need: Vec<&Chunk> = self
            .catalog
            .chunks
            .values()
            .filter(|c| !self.vectors.as_ref().is_some_and(|v| v.contains(&c.chunk_id)))
            .collect();
        if need.is_empty() {
            return Ok(0);
        }
        need.sort_by(|a, b| a.chunk_id.cmp(&b.chunk_id));
        let total = need.len();
        let mut fresh: Vec<(String, Vec<f32>)> = Vec::with_capacity(total);
        for batch in need.chunks(EMBED_BATCH * 4) {
            fresh.extend(embed_chunks(e.as_ref(), batch)?);
            on_progress(fresh.len(), total);
        }
        let v = self.vectors.get_or_insert_with(|| VectorIndex::new(e.name(), e.dim(), total));
        v.insert_many(&fresh)?;
        self.stale_vectors = None;
        self.save()?;
        Ok(total)
    }

    pub(crate) fn rebuild_bm25(&mut self) -> Result<()> {
        let mut w = self.bm25.writer()?;
        self.bm25.delete_all(&mut w)?;
        let mut chunks: Vec<&Chunk> = self.catalog.chunks.values().collect();
        chunks.sort_by(|a, b| a.chunk_id.cmp(&b.chunk_id));
        for c in chunks {
            self.bm25.add(&w, c)?;
        }
        self.commit_bm25(&mut w)?;
        self.catalog.analyzer = self.analyzer.fingerprint().to_string();
        Ok(())
    }

    /// Adds chunks built elsewhere with their vectors (benchmarks, generated material); `vectors`
    /// must be as long as `chunks` when given. Nothing is embedded.
    pub fn add_chunks(
        &mut self,
        chunks: Vec<Chunk>,
        vectors: Option<(&str, Vec<Vec<f32>>)>,
    ) -> Result<AddChunksTimings> {
        let t = Instant::now();
        let mut w = self.bm25.writer()?;
        for c in &chunks {
            if self.catalog.chunks.contains_key(&c.chunk_id) {
                self.bm25.delete_chunk(&w, &c.chunk_id);
            }
            self.bm25.add(&w, c)?;
        }
        self.commit_bm25(&mut w)?;
        drop(w);
        let bm25_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        if let Some((model, vecs)) = vectors {
            if vecs.len() != chunks.len() {
                return Err(IndexError::Invalid("one vector per chunk expected".into()));
            }
            let dim = vecs.first().map_or(0, Vec::len);
            let v = self.vectors.get_or_insert_with(|| VectorIndex::new(model, dim, vecs.len()));
            let items: Vec<(String, Vec<f32>)> = chunks.iter().map(|c| c.chunk_id.clone()).zip(vecs).collect();
            v.insert_many(&items)?;
        }
        let vector_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        for c in chunks {
            let e = self.catalog.docs.entry(c.doc.clone()).or_insert_with(|| DocEntry {
                info: DocumentInfo {
                    doc: c.doc.clone(),
                    title: c.title.clone(),
                    kb: c.kb,
                    sensitivity: c.sensitivity,
                    chunks: 0,
                    source: String::new(),
                    content_hash: String::new(),
                    date: c.date.clone(),
                    countries: c.countries.clone(),
                    customer: c.customer.clone(),
                    owner: c.owner.clone(),
                },
                chunk_ids: Vec::new(),
            });
            if !e.chunk_ids.contains(&c.chunk_id) {
                e.chunk_ids.push(c.chunk_id.clone());
                e.info.chunks += 1;
            }
            self.catalog.chunks.insert(c.chunk_id.clone(), c);
        }
        self.save()?;
        Ok(AddChunksTimings { bm25_ms, vector_ms, save_ms: t.elapsed().as_secs_f64() * 1e3 })
    }

    /// Refreshes the per-slot filter metadata after the vectors or the catalogue changed.
    fn sync_slots(&mut self) {
        let chunks = &self.catalog.chunks;
        self.slot_meta = match &self.vectors {
            Some(v) => {
                v.slot_ids().iter().map(|id| id.as_ref().and_then(|id| chunks.get(id)).map(SlotMeta::of)).collect()
            }
            None => Vec::new(),
        };
    }

    pub(crate) fn save(&mut self) -> Result<()> {
        self.sync_slots();
        if let Some(v) = &self.vectors {
            v.save(&self.dir.join("vectors.bin"))?;
        }
        lodestar_core::testhook::pause_point("index.after_vectors_saved");
        self.save_catalog()?;
        lodestar_core::testhook::pause_point("index.after_catalog_saved");
        Ok(())
    }

    /// Commits BM25 under a fresh token, saved with the catalogue after it.
    fn commit_bm25(&mut self, w: &mut tantivy::IndexWriter) -> Result<()> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        self.catalog.bm25_commit = format!("{nanos:x}-{}", std::process::id());
        self.bm25.commit_with(w, &self.catalog.bm25_commit)
    }

    /// Whether the last BM25 commit belongs to the saved catalogue (an index from before tokens —
    /// no payload, empty token — matches).
    fn bm25_generation_matches(&self) -> Result<bool> {
        Ok(self.bm25.payload()?.unwrap_or_default() == self.catalog.bm25_commit)
    }

    fn save_catalog(&self) -> Result<()> {
        let path = self.dir.join("catalog.json");
        let tmp = self.dir.join("catalog.json.tmp");
        let bytes = serde_json::to_vec(&self.catalog).map_err(|e| IndexError::Invalid(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(())
    }

    /// Counters for `index stats`.
    pub fn stats(&self) -> IndexStats {
        let mut by_kb = BTreeMap::new();
        let mut by_sensitivity = BTreeMap::new();
        for c in self.catalog.chunks.values() {
            *by_kb.entry(c.kb.id().to_string()).or_insert(0) += 1;
            *by_sensitivity.entry(c.sensitivity.label().to_string()).or_insert(0) += 1;
        }
        IndexStats {
            documents: self.catalog.docs.len(),
            chunks: self.catalog.chunks.len(),
            by_kb,
            by_sensitivity,
            bm25_docs: self.bm25.num_docs(),
            vectors: self.vectors.as_ref().map_or(0, |v| v.len()),
            embedder: self.vectors.as_ref().map(|v| v.model().to_string()).or_else(|| self.stale_vectors.clone()),
            embedder_attached: self.embedder.is_some(),
            dir: self.dir.clone(),
            disk_bytes: dir_size(&self.dir),
        }
    }

    /// The text embedded for a query: an English question gets the Chinese terms of its phrases
    /// appended, which carries it across languages better than the multilingual embedding alone
    /// (English questions of the eval set: vector recall@5 0.4 → 1.0).
    pub fn vector_query_text(&self, query: &str) -> String {
        if cross_language(query) {
            with_terms(query, &self.expansion(query))
        } else {
            query.to_string()
        }
    }

    /// The Chinese terms the glossary gives an English question (none for any other question).
    fn expansion(&self, query: &str) -> Vec<String> {
        if cross_language(query) {
            let mut terms = self.glossary.expand(query);
            for d in lodestar_dict::glossary::english_dates(query) {
                if !terms.contains(&d) {
                    terms.push(d);
                }
            }
            terms
        } else {
            self.synonyms.expand(query)
        }
    }

    /// Hybrid search with the filters of `req` applied inside each retriever.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResponse> {
        let mut warnings = Vec::new();
        let mut embed_ms = 0.0;
        let mut qvec = None;
        if req.mode != SearchMode::Bm25 {
            match (&self.embedder, &self.vectors) {
                (None, _) => warnings.push(
                    "no embedding model installed: BM25 only (install it with `lodestar models fetch`)".to_string(),
                ),
                (Some(_), None) => warnings.push(match &self.stale_vectors {
                    Some(m) => format!("stored vectors were made by `{m}`: BM25 only until `lodestar index build`"),
                    None => "no passage vectors in the index: BM25 only until `lodestar index build`".to_string(),
                }),
                (Some(e), Some(v)) => {
                    let t = Instant::now();
                    let mut out = e.embed(&[self.vector_query_text(&req.query).as_str()], EmbedKind::Query)?;
                    embed_ms = t.elapsed().as_secs_f64() * 1e3;
                    qvec = out.pop();
                    let missing = self.catalog.chunks.len().saturating_sub(v.len());
                    if missing > 0 {
                        warnings.push(format!(
                            "{missing} chunks have no vector yet (vector search misses them until `lodestar index build`)"
                        ));
                    }
                }
            }
        }
        let mut res = self.search_with_query_vector(req, qvec.as_deref())?;
        res.embed_ms = embed_ms;
        warnings.append(&mut res.warnings);
        res.warnings = warnings;
        Ok(res)
    }

    /// Search with a query vector computed elsewhere (`None`: BM25 only). Used by benchmarks to
    /// time retrieval without the query embedding.
    pub fn search_with_query_vector(&self, req: &SearchRequest, qvec: Option<&[f32]>) -> Result<SearchResponse> {
        let t = Instant::now();
        let filter = Filter::from_request(req);
        let mut warnings = Vec::new();
        if filter.kbs.is_empty() {
            warnings.push("no knowledge base granted for this search".to_string());
        }
        let depth = depth(req.k);
        let run_bm25 = req.mode != SearchMode::Vector;
        // An English question against Chinese documents: BM25 also looks for the Chinese terms
        // of the English phrases the glossary knows.
        let cross = cross_language(&req.query);
        let expansion = self.expansion(&req.query);
        let bm25_query = with_terms(&req.query, &expansion);
        let bm25_hits = if run_bm25 && !filter.kbs.is_empty() {
            self.bm25.search(&bm25_query, &filter.bm25(), depth)?
        } else {
            Vec::new()
        };
        let run_vec = req.mode != SearchMode::Bm25 && qvec.is_some() && self.vectors.is_some();
        let vec_hits = match (run_vec, qvec, &self.vectors) {
            (true, Some(q), Some(v)) if !filter.kbs.is_empty() => {
                let meta = &self.slot_meta;
                v.search_slots(q, depth, &|s: usize| {
                    meta.get(s).and_then(Option::as_ref).is_some_and(|m| filter.allows_meta(m))
                })
            }
            _ => Vec::new(),
        };
        let mode = match (run_bm25, run_vec) {
            (true, true) => SearchMode::Hybrid,
            (false, true) => SearchMode::Vector,
            _ => SearchMode::Bm25,
        };
        // Score fusion (convex combination of min-max normalized scores).
        let qtokens = self.analyzer.tokens(&bm25_query);
        let qcodes = self.analyzer.codes(&req.query);
        let exact = !qcodes.is_empty() || qtokens.iter().any(|t| t.starts_with("cust:"));
        let kind = QueryKind::of(exact, cross, !expansion.is_empty());
        let mut fused = match req.fusion {
            Fusion::Score => fuse(&bm25_hits, &vec_hits, kind.alpha()),
            Fusion::Rrf => fuse_rrf(&bm25_hits, &vec_hits, kind.rrf_weights()),
        };
        // Exact-match path for codes: a question naming a tyre spec or contract number ranks the
        // chunks that carry that code (in their text or their document's title) first.
        if req.fusion == Fusion::Score && mode == SearchMode::Hybrid && !qcodes.is_empty() {
            let named = |t: &str| {
                let have = self.analyzer.codes(t);
                qcodes.iter().any(|q| have.contains(q))
            };
            for (id, e) in fused.iter_mut() {
                if let Some(c) = self.catalog.chunks.get(*id) {
                    if named(&c.title) {
                        e.0 += CODE_BONUS_TITLE;
                    } else if named(&c.text) {
                        e.0 += CODE_BONUS_TEXT;
                    }
                }
            }
        }
        let mut list: Vec<(&str, f64, Ranks)> = fused.into_iter().map(|(id, (s, r))| (id, s, r)).collect();
        list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        if req.rerank == Rerank::Cosine {
            if let (Some(q), Some(v)) = (qvec, &self.vectors) {
                let n = list.len().min(20);
                let cos = |id: &str| v.get(id).map_or(-1.0, |x| crate::vector::dot(q, x));
                list[..n].sort_by(|a, b| cos(b.0).total_cmp(&cos(a.0)).then(a.0.cmp(b.0)));
            }
        }
        // Collapse by document: a document's chunks beyond `per_doc` wait behind other documents.
        if let Some(m) = req.per_doc {
            let mut per: HashMap<&str, usize> = HashMap::new();
            let (mut first, mut later) = (Vec::with_capacity(list.len()), Vec::new());
            for item in list {
                let doc = self.catalog.chunks.get(item.0).map_or("", |c| c.doc.as_str());
                let n = per.entry(doc).or_default();
                *n += 1;
                if *n <= m.max(1) {
                    first.push(item);
                } else {
                    later.push(item);
                }
            }
            first.extend(later);
            list = first;
        }
        let mut hits = Vec::with_capacity(req.k);
        for (id, score, ranks) in list {
            if hits.len() >= req.k {
                break;
            }
            let Some(c) = self.catalog.chunks.get(id) else { continue };
            // Second line of defence: never hand out a chunk the filter refuses.
            if !filter.allows(c) {
                continue;
            }
            hits.push(Hit {
                doc: c.doc.clone(),
                title: c.title.clone(),
                kb: c.kb,
                chunk_id: c.chunk_id.clone(),
                score,
                ranks,
                snippet: snippet(&c.text, &qtokens),
                section: c.section.clone(),
                sensitivity: c.sensitivity,
                text: c.text.clone(),
                countries: c.countries.clone(),
                customer: c.customer.clone(),
                date: c.date.clone(),
            });
        }
        Ok(SearchResponse {
            query: req.query.clone(),
            mode: mode.as_str().to_string(),
            hits,
            warnings,
            embed_ms: 0.0,
            search_ms: t.elapsed().as_secs_f64() * 1e3,
            expanded_terms: expansion,
        })
    }
}

/// Share of the BM25 score in the fused score of a plain question (paraphrases, policy questions):
/// `alpha × bm25 + (1 − alpha) × vector`, each min-max normalized over its own result list
/// (convex combination; Bruch et al., "An Analysis of Fusion Functions for Hybrid Retrieval",
/// 2023, found it ahead of reciprocal-rank fusion and tunable with few questions). Measured on
/// `tests/eval/retrieval.jsonl` (97 questions, multilingual-e5-small): alpha 0.15 / 0.2 / 0.25 /
/// 0.3 gave hybrid recall@5 0.989 / 0.989 / 0.989 / 0.978; reciprocal-rank fusion (BM25 weight
/// 0.7) gave recall@1 0.857, recall@5 0.978, MRR 0.909 where this gives 0.890, 0.989, 0.929.
pub const FUSION_ALPHA_PLAIN: f64 = 0.2;
/// Share of BM25 for a question naming a code (tyre spec, contract number) or a customer: an
/// exact-match question, where BM25's whole-token match counts as much as the embedding
/// (0.4 / 0.5 / 0.6 measured the same).
pub const FUSION_ALPHA_EXACT: f64 = 0.5;
/// Share of BM25 for an English question whose phrases the glossary (`dictionaries/glossary.csv`)
/// turned into Chinese terms: BM25 then matches the documents' own words (English questions:
/// expanded BM25 recall@5 1.0, 5 questions — a small sample).
pub const FUSION_ALPHA_GLOSSARY: f64 = 0.5;

/// Added to the fused hybrid score (0..1) of a chunk whose document's title carries a code the
/// question names (the document is about that spec or contract): the exact-match path for codes.
/// An English question naming `12.00R24` otherwise ranked the 12.00R20 sheet first (the embedding
/// does not tell the two apart) and guides that only list the code in a table. Measured on
/// `tests/eval/retrieval.jsonl`: 0.5 gave hybrid recall@1 0.901 / MRR 0.935, 1.0 (title match
/// always first) 0.890 / 0.929 — questions naming a contract number often want a meeting record.
pub const CODE_BONUS_TITLE: f64 = 0.5;
/// … of a chunk that mentions the code in its text only.
pub const CODE_BONUS_TEXT: f64 = 0.15;

/// What a question is for the fusion: it decides BM25's share under either fusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryKind {
    /// Paraphrases, policy questions.
    Plain,
    /// A code (tyre spec, contract number) or a customer named, in a Chinese question.
    Exact,
    /// An English question whose phrases the glossary turned into Chinese terms.
    Glossary,
}

impl QueryKind {
    /// English without any glossary phrase is plain: BM25 can match only its names and codes.
    fn of(exact: bool, cross_language: bool, expanded: bool) -> Self {
        if cross_language && expanded {
            QueryKind::Glossary
        } else if exact && !cross_language {
            QueryKind::Exact
        } else {
            QueryKind::Plain
        }
    }

    fn alpha(self) -> f64 {
        match self {
            QueryKind::Plain => FUSION_ALPHA_PLAIN,
            QueryKind::Exact => FUSION_ALPHA_EXACT,
            QueryKind::Glossary => FUSION_ALPHA_GLOSSARY,
        }
    }

    fn rrf_weights(self) -> (f64, f64) {
        match self {
            QueryKind::Plain => RRF_WEIGHTS_PLAIN,
            QueryKind::Exact => RRF_WEIGHTS_EXACT,
            QueryKind::Glossary => RRF_WEIGHTS_GLOSSARY,
        }
    }
}

#[cfg(test)]
fn fusion_alpha(exact: bool, cross_language: bool, expanded: bool) -> f64 {
    QueryKind::of(exact, cross_language, expanded).alpha()
}

/// Reciprocal-rank-fusion constant (Cormack et al.).
pub const RRF_K: f64 = 60.0;
/// Weights (BM25, vector) of [`Fusion::Rrf`] for a plain question.
pub const RRF_WEIGHTS_PLAIN: (f64, f64) = (0.7, 1.0);
/// … for an exact-match question (code or customer named).
pub const RRF_WEIGHTS_EXACT: (f64, f64) = (1.0, 1.0);
/// … for an English question the glossary expanded.
pub const RRF_WEIGHTS_GLOSSARY: (f64, f64) = (1.0, 0.35);

/// `query` followed by `terms` (the query itself when there are none).
fn with_terms(query: &str, terms: &[String]) -> String {
    if terms.is_empty() {
        query.to_string()
    } else {
        format!("{query} {}", terms.join(" "))
    }
}

/// Sums each chunk's contributions from the two ranked lists (`bm25(rank, score)`,
/// `vector(rank, score)`, ranks from 0) and records its rank in each.
fn combine<'a>(
    bm25: &'a [(String, f32)],
    vec: &'a [(String, f32)],
    from_bm25: impl Fn(usize, f32) -> f64,
    from_vec: impl Fn(usize, f32) -> f64,
) -> HashMap<&'a str, (f64, Ranks)> {
    let mut fused: HashMap<&str, (f64, Ranks)> = HashMap::new();
    for (i, (id, s)) in bm25.iter().enumerate() {
        let e = fused.entry(id.as_str()).or_default();
        e.0 += from_bm25(i, *s);
        e.1.bm25 = Some(i + 1);
    }
    for (i, (id, s)) in vec.iter().enumerate() {
        let e = fused.entry(id.as_str()).or_default();
        e.0 += from_vec(i, *s);
        e.1.vector = Some(i + 1);
    }
    fused
}

/// Weighted reciprocal-rank fusion: Σ w / (60 + rank).
fn fuse_rrf<'a>(bm25: &'a [(String, f32)], vec: &'a [(String, f32)], w: (f64, f64)) -> HashMap<&'a str, (f64, Ranks)> {
    combine(bm25, vec, |i, _| w.0 / (RRF_K + (i + 1) as f64), |i, _| w.1 / (RRF_K + (i + 1) as f64))
}

/// Fuses the two ranked lists: each score min-max normalized over its list (a list whose scores
/// are all equal counts 1 for each), then `alpha × bm25 + (1 − alpha) × vector`.
fn fuse<'a>(bm25: &'a [(String, f32)], vec: &'a [(String, f32)], alpha: f64) -> HashMap<&'a str, (f64, Ranks)> {
    fn norm(list: &[(String, f32)]) -> impl Fn(f32) -> f64 {
        let hi = list.iter().map(|h| h.1).fold(f32::NEG_INFINITY, f32::max) as f64;
        let lo = list.iter().map(|h| h.1).fold(f32::INFINITY, f32::min) as f64;
        move |s: f32| if hi - lo > 1e-9 { (s as f64 - lo) / (hi - lo) } else { 1.0 }
    }
    let (nb, nv) = (norm(bm25), norm(vec));
    combine(bm25, vec, |_, s| alpha * nb(s), |_, s| (1.0 - alpha) * nv(s))
}

/// What `index build` did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RebuildReport {
    /// Chunks in the catalogue, all re-indexed into BM25.
    pub chunks: usize,
    /// Chunks embedded (0 without an embedding model).
    pub embedded: usize,
    /// Time spent building the BM25 index (ms).
    pub bm25_ms: f64,
    /// Time spent embedding and building the vector index (ms).
    pub embed_ms: f64,
}

/// Time spent by [`KnowledgeIndex::add_chunks`] in each index.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct AddChunksTimings {
    /// Time spent adding to the BM25 index (ms).
    pub bm25_ms: f64,
    /// Time spent adding to the vector index (ms).
    pub vector_ms: f64,
    /// Time spent saving the catalogue and vectors (ms).
    pub save_ms: f64,
}

struct Prepared {
    info: DocumentInfo,
    chunks: Vec<Chunk>,
}

fn embed_chunks(e: &dyn Embedder, chunks: &[&Chunk]) -> Result<Vec<(String, Vec<f32>)>> {
    let mut out = Vec::with_capacity(chunks.len());
    for batch in chunks.chunks(EMBED_BATCH) {
        let texts: Vec<String> = batch.iter().map(|c| c.embed_text()).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vecs = e.embed(&refs, EmbedKind::Passage)?;
        if vecs.len() != batch.len() {
            return Err(IndexError::Invalid(format!("embedder returned {} vectors for {}", vecs.len(), batch.len())));
        }
        out.extend(batch.iter().map(|c| c.chunk_id.clone()).zip(vecs));
    }
    Ok(out)
}

/// `<doc>#<12 hex digits of sha256(doc, section, text)>`.
pub fn chunk_id(doc: &str, section: &str, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(doc.as_bytes());
    h.update([0]);
    h.update(section.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    format!("{doc}#{}", &hex::encode(h.finalize())[..12])
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(&p, out)?;
        } else if ft.is_file() && reader::is_supported(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// The knowledge base a folder name stands for (`product`, `产品知识库`, `产品`…).
fn folder_kb(name: &str) -> Option<KbId> {
    name.parse::<KbId>().ok()
}

fn folder_sensitivity(file: &Path) -> Option<Sensitivity> {
    const NAMES: &[&str] =
        &["公开", "内部", "敏感", "机密", "public", "internal", "sensitive", "secret", "confidential"];
    file.parent()?
        .components()
        .rev()
        .filter_map(|c| c.as_os_str().to_str())
        .find(|n| NAMES.contains(&n.to_lowercase().as_str()))
        .and_then(|n| n.parse().ok())
}

/// Front matter `kb:`, else the nearest knowledge-base folder, else `--kb`.
fn resolve_kb(src: &SourceText, file: &Path, opts: &AddOptions) -> Option<KbId> {
    src.meta
        .kb
        .as_deref()
        .and_then(|k| k.parse::<KbId>().ok())
        .or_else(|| file.parent()?.components().rev().filter_map(|c| c.as_os_str().to_str()).find_map(folder_kb))
        .or(opts.kb)
}

/// `<kb>/<path under the knowledge-base folder>` when the file sits under one, else
/// `<kb>/<path under the added folder>`.
fn doc_id(file: &Path, root: &Path, kb: KbId) -> String {
    let comps: Vec<String> = file.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if comps.len() >= 2 {
        for i in (0..comps.len() - 1).rev() {
            if let Some(folder) = folder_kb(&comps[i]) {
                return format!("{}/{}", folder.id(), comps[i + 1..].join("/"));
            }
        }
    }
    let rel = file.strip_prefix(root).ok().filter(|r| !r.as_os_str().is_empty()).unwrap_or(file);
    let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let rel = if rel.is_empty() {
        file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    } else {
        rel.join("/")
    };
    format!("{}/{}", kb.id(), rel)
}

fn first_h1(body: &str) -> Option<String> {
    body.lines().map(str::trim).find_map(|l| l.strip_prefix("# ").map(|h| h.trim().to_string()))
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// About 120 characters of `text` around the first query term found in it.
pub fn snippet(text: &str, qtokens: &[String]) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = flat.chars().collect();
    let norm: Vec<char> = crate::analyzer::normalize(&flat).chars().collect();
    let mut terms: Vec<&String> = qtokens.iter().filter(|t| !t.contains(':') && t.chars().count() >= 2).collect();
    terms.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
    let mut at = 0;
    if norm.len() == chars.len() {
        let hay: String = norm.iter().collect();
        for t in terms {
            if let Some(b) = hay.find(t.as_str()) {
                at = hay[..b].chars().count();
                break;
            }
        }
    }
    let start = at.saturating_sub(30);
    let end = (start + 120).min(chars.len());
    let mut s: String = chars[start..end].iter().collect();
    if start > 0 {
        s.insert(0, '…');
    }
    if end < chars.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_follow_kb_folders() {
        let kb = KbId::Product;
        assert_eq!(
            doc_id(Path::new("knowledge/product/spec-11r22_5.md"), Path::new("knowledge"), kb),
            "product/spec-11r22_5.md"
        );
        assert_eq!(doc_id(Path::new("/x/产品知识库/a/b.md"), Path::new("/x"), kb), "product/a/b.md");
        assert_eq!(doc_id(Path::new("/tmp/docs/sub/a.pdf"), Path::new("/tmp/docs"), KbId::Ops), "ops/sub/a.pdf");
        assert_eq!(doc_id(Path::new("/tmp/a.pdf"), Path::new("/tmp"), KbId::Ops), "ops/a.pdf");
    }

    #[test]
    fn chunk_ids_are_stable_and_content_derived() {
        let a = chunk_id("product/a.md", "参数", "文本");
        assert_eq!(a, chunk_id("product/a.md", "参数", "文本"));
        assert_ne!(a, chunk_id("product/a.md", "参数", "文本2"));
        assert_ne!(a, chunk_id("product/b.md", "参数", "文本"));
        assert!(a.starts_with("product/a.md#") && a.len() == "product/a.md#".len() + 12);
    }

    #[test]
    fn snippet_centres_on_term() {
        let text = format!("{}关键词在这里{}", "前".repeat(100), "后".repeat(100));
        let s = snippet(&text, &["关键词".to_string()]);
        assert!(s.contains("关键词"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'));
    }
}

#[cfg(test)]
mod fusion_tests {
    use super::*;

    fn list(v: &[(&str, f32)]) -> Vec<(String, f32)> {
        v.iter().map(|(id, s)| (id.to_string(), *s)).collect()
    }

    #[test]
    fn convex_combination_of_min_max_normalized_scores() {
        // BM25 10 / 6 / 2 → 1, 0.5, 0; cosine 0.9 / 0.8 / 0.7 → 1, 0.5, 0.
        let bm25 = list(&[("a", 10.0), ("b", 6.0), ("c", 2.0)]);
        let vec = list(&[("b", 0.9), ("d", 0.8), ("a", 0.7)]);
        let f = fuse(&bm25, &vec, 0.2);
        let score = |id: &str| f[id].0;
        // a: 0.2·1 + 0.8·0 = 0.2; b: 0.2·0.5 + 0.8·1 = 0.9; c: 0; d: 0.8·0.5 = 0.4
        for (id, want) in [("a", 0.2), ("b", 0.9), ("c", 0.0), ("d", 0.4)] {
            assert!((score(id) - want).abs() < 1e-6, "{id}: {} vs {want}", score(id));
        }
        assert_eq!(f["a"].1, Ranks { bm25: Some(1), vector: Some(3) });
        assert_eq!(f["d"].1, Ranks { bm25: None, vector: Some(2) });
        // A list of one hit (or of equal scores) counts fully rather than dividing by zero.
        let one = list(&[("x", 3.0)]);
        let f = fuse(&one, &[], 0.5);
        assert!((f["x"].0 - 0.5).abs() < 1e-9);
    }

    #[test]
    fn reciprocal_rank_fusion_sums_weighted_reciprocal_ranks() {
        let bm25 = list(&[("a", 9.0), ("b", 5.0)]);
        let vec = list(&[("b", 0.8), ("c", 0.7)]);
        let f = fuse_rrf(&bm25, &vec, (0.7, 1.0));
        // a: 0.7/61 = 0.011475; b: 0.7/62 + 1/61 = 0.011290 + 0.016393 = 0.027684; c: 1/62 = 0.016129
        for (id, want) in [("a", 0.011475), ("b", 0.027684), ("c", 0.016129)] {
            assert!((f[id].0 - want).abs() < 1e-6, "{id}: {} vs {want}", f[id].0);
        }
    }

    #[test]
    fn alpha_follows_the_kind_of_question() {
        assert_eq!(fusion_alpha(false, false, false), FUSION_ALPHA_PLAIN);
        assert_eq!(fusion_alpha(true, false, false), FUSION_ALPHA_EXACT);
        assert_eq!(fusion_alpha(false, true, true), FUSION_ALPHA_GLOSSARY);
        // English without any glossary phrase: BM25 can match only names and codes.
        assert_eq!(fusion_alpha(true, true, false), FUSION_ALPHA_PLAIN);
    }
}
