//! Consistency of one index folder, read as it lies on disk (nothing is rebuilt while looking),
//! and the repairs that need no model (`lodestar doctor`).
//!
//! Invariants: every chunk the catalogue lists belongs to a document that lists it, and every
//! document's chunks exist; BM25 holds each catalogue chunk exactly once and nothing else, from
//! the commit the catalogue recorded; stored vectors belong to catalogue chunks; no temp file of an
//! interrupted save is left behind.

use crate::analyzer::Analyzer;
use crate::bm25::Bm25;
use crate::index::Catalog;
use crate::vector::VectorIndex;
use crate::{IndexError, KnowledgeIndex, Result};
use lodestar_dict::Dictionaries;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Temp files of the index's atomic saves (temp file + rename).
const TEMP_FILES: [&str; 2] = ["catalog.json.tmp", "vectors.bin.tmp"];

/// What [`inspect`] found. Id lists are sorted.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IndexCheck {
    /// Documents in the catalogue.
    pub documents: usize,
    /// Chunks in the catalogue.
    pub chunks: usize,
    /// Entries in the BM25 (tantivy) index.
    pub bm25_docs: usize,
    /// Vectors in `vectors.bin`.
    pub vectors: usize,
    /// `catalog.json` (or `vectors.bin`, or the BM25 folder) could not be read: what and why.
    pub unreadable: Vec<String>,
    /// Chunk ids a document lists that the catalogue does not hold.
    pub dangling_chunk_refs: Vec<String>,
    /// Catalogue chunks whose document is missing or does not list them.
    pub orphan_chunks: Vec<String>,
    /// BM25 entries without a catalogue chunk.
    pub bm25_extra: Vec<String>,
    /// Catalogue chunks BM25 lacks.
    pub bm25_missing: Vec<String>,
    /// Chunk ids BM25 holds more than once.
    pub bm25_duplicates: Vec<String>,
    /// The last BM25 commit is not the one the catalogue recorded (written by a save that did
    /// not finish, so its entries may be stale even where the ids agree).
    pub bm25_commit_mismatch: bool,
    /// The dictionaries changed since BM25 was built (it is rebuilt at the next open).
    pub analyzer_changed: bool,
    /// Stored vectors without a catalogue chunk.
    pub vector_orphans: Vec<String>,
    /// Catalogue chunks without a vector while the index has vectors (needs the embedding model:
    /// `lodestar index build`).
    pub unembedded: usize,
    /// Documents with at least one of those chunks (sorted).
    pub unembedded_docs: Vec<String>,
    /// The embedding model the stored vectors were made with (`None`: no `vectors.bin`).
    pub vector_model: Option<String>,
    /// Leftover temp files of an interrupted save.
    pub temp_files: Vec<PathBuf>,
}

impl IndexCheck {
    /// Problems (anything but `unembedded` and `analyzer_changed`, which are states the index
    /// handles itself or that need the model).
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self.unreadable.clone();
        let mut list = |what: &str, ids: &[String]| {
            if !ids.is_empty() {
                let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
                let more = if ids.len() > 5 { format!(" and {} more", ids.len() - 5) } else { String::new() };
                out.push(format!("{} {what}: {}{more}", ids.len(), shown.join(", ")));
            }
        };
        list("chunk ids listed by a document but missing from the catalogue", &self.dangling_chunk_refs);
        list("catalogue chunks without their document", &self.orphan_chunks);
        list("BM25 entries without a catalogue chunk", &self.bm25_extra);
        list("catalogue chunks missing from BM25", &self.bm25_missing);
        list("chunks indexed twice in BM25", &self.bm25_duplicates);
        list("vectors without a catalogue chunk", &self.vector_orphans);
        if self.bm25_commit_mismatch {
            out.push("the last BM25 commit is not the one the catalogue recorded (an interrupted save)".into());
        }
        for t in &self.temp_files {
            out.push(format!("leftover temp file {}", t.display()));
        }
        out
    }
}

fn read_catalog(dir: &Path) -> std::result::Result<Option<Catalog>, String> {
    let path = dir.join("catalog.json");
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Checks the index folder `dir` as it is on disk. Writes nothing (an absent BM25 folder is
/// reported, not created).
pub fn inspect(dir: &Path, dicts: &Dictionaries) -> IndexCheck {
    let mut ck = IndexCheck::default();
    for t in TEMP_FILES {
        let p = dir.join(t);
        if p.exists() {
            ck.temp_files.push(p);
        }
    }
    if !dir.exists() {
        return ck;
    }
    let catalog = match read_catalog(dir) {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => {
            ck.unreadable.push(format!("catalogue unreadable: {e}"));
            return ck;
        }
    };
    ck.documents = catalog.docs.len();
    ck.chunks = catalog.chunks.len();
    let mut listed: HashMap<&str, &str> = HashMap::new();
    for (doc, e) in &catalog.docs {
        for id in &e.chunk_ids {
            listed.insert(id.as_str(), doc.as_str());
            if !catalog.chunks.contains_key(id) {
                ck.dangling_chunk_refs.push(id.clone());
            }
        }
    }
    for (id, c) in &catalog.chunks {
        if listed.get(id.as_str()) != Some(&c.doc.as_str()) {
            ck.orphan_chunks.push(id.clone());
        }
    }
    let analyzer = Arc::new(Analyzer::new(dicts));
    ck.analyzer_changed = !catalog.chunks.is_empty() && catalog.analyzer != analyzer.fingerprint();
    let bm25_dir = dir.join("bm25");
    if bm25_dir.join("meta.json").exists() {
        match Bm25::open(&bm25_dir, analyzer).and_then(|b| Ok((b.chunk_ids()?, b.payload()?))) {
            Ok((ids, payload)) => {
                ck.bm25_docs = ids.len();
                let mut seen: BTreeSet<&str> = BTreeSet::new();
                for id in &ids {
                    if !seen.insert(id) {
                        ck.bm25_duplicates.push(id.clone());
                    }
                    if !catalog.chunks.contains_key(id) {
                        ck.bm25_extra.push(id.clone());
                    }
                }
                ck.bm25_missing = catalog.chunks.keys().filter(|id| !seen.contains(id.as_str())).cloned().collect();
                ck.bm25_commit_mismatch = payload.unwrap_or_default() != catalog.bm25_commit;
            }
            Err(e) => ck.unreadable.push(format!("BM25 index unreadable: {e}")),
        }
    } else {
        ck.bm25_missing = catalog.chunks.keys().cloned().collect();
    }
    match VectorIndex::load(&dir.join("vectors.bin")) {
        Ok(Some(v)) => {
            ck.vectors = v.len();
            ck.vector_orphans = v.ids().filter(|id| !catalog.chunks.contains_key(*id)).map(str::to_string).collect();
            ck.vector_model = Some(v.model().to_string());
            let missing: Vec<&crate::Chunk> = catalog.chunks.values().filter(|c| !v.contains(&c.chunk_id)).collect();
            ck.unembedded = missing.len();
            ck.unembedded_docs = missing.iter().map(|c| c.doc.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        }
        Ok(None) => {}
        Err(e) => ck.unreadable.push(format!("vectors unreadable: {e}")),
    }
    for l in [
        &mut ck.dangling_chunk_refs,
        &mut ck.orphan_chunks,
        &mut ck.bm25_extra,
        &mut ck.bm25_missing,
        &mut ck.bm25_duplicates,
        &mut ck.vector_orphans,
    ] {
        l.sort();
        l.dedup();
    }
    ck
}

/// What [`repair`] did, one line per action.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IndexRepair {
    /// What was done, one line per action (empty when nothing needed repair).
    pub actions: Vec<String>,
}

/// Repairs what needs no model: removes leftover temp files; moves an unreadable `vectors.bin`
/// aside (search goes on with BM25; `lodestar index build` re-embeds); drops catalogue references
/// to missing chunks and chunks without their document; rebuilds BM25 from the catalogue; saves
/// the vectors without orphans. An unreadable catalogue is not repaired (an error says so).
pub fn repair(dir: &Path, dicts: &Dictionaries, found: &IndexCheck) -> Result<IndexRepair> {
    let mut rep = IndexRepair::default();
    for t in &found.temp_files {
        std::fs::remove_file(t).map_err(|source| IndexError::Io { path: t.clone(), source })?;
        rep.actions.push(format!("removed leftover {}", t.display()));
    }
    let catalog = read_catalog(dir).map_err(IndexError::Invalid)?;
    if VectorIndex::load(&dir.join("vectors.bin")).is_err() {
        let from = dir.join("vectors.bin");
        let to = dir.join("vectors.bin.damaged");
        std::fs::rename(&from, &to).map_err(|source| IndexError::Io { path: from.clone(), source })?;
        let _ = std::fs::remove_file(dir.join("vectors.graph.ok"));
        rep.actions.push(format!(
            "moved the unreadable {} to {} (search uses BM25 until `lodestar index build` re-embeds)",
            from.display(),
            to.display()
        ));
    }
    let Some(mut catalog) = catalog else {
        return Ok(rep);
    };
    let catalogue_fix = !found.dangling_chunk_refs.is_empty() || !found.orphan_chunks.is_empty();
    if catalogue_fix {
        let mut listed: HashMap<String, String> = HashMap::new();
        for (doc, e) in catalog.docs.iter_mut() {
            e.chunk_ids.retain(|id| catalog.chunks.contains_key(id));
            e.info.chunks = e.chunk_ids.len();
            for id in &e.chunk_ids {
                listed.insert(id.clone(), doc.clone());
            }
        }
        let before = catalog.chunks.len();
        catalog.chunks.retain(|id, c| listed.get(id) == Some(&c.doc));
        let path = dir.join("catalog.json");
        let tmp = dir.join("catalog.json.tmp");
        let bytes = serde_json::to_vec(&catalog).map_err(|e| IndexError::Invalid(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(|source| IndexError::Io { path: tmp.clone(), source })?;
        std::fs::rename(&tmp, &path).map_err(|source| IndexError::Io { path: path.clone(), source })?;
        rep.actions.push(format!(
            "catalogue: dropped {} dangling chunk references and {} chunks without their document",
            found.dangling_chunk_refs.len(),
            before - catalog.chunks.len()
        ));
    }
    let bm25_fix = catalogue_fix
        || found.bm25_commit_mismatch
        || !found.bm25_extra.is_empty()
        || !found.bm25_missing.is_empty()
        || !found.bm25_duplicates.is_empty();
    if bm25_fix || !found.vector_orphans.is_empty() {
        // open drops orphan vectors in memory; the rebuild saves them and the catalogue
        let mut ix = KnowledgeIndex::open(dir, dicts, None)?;
        ix.rebuild_bm25()?;
        ix.save()?;
        if bm25_fix {
            rep.actions.push(format!("rebuilt BM25 from the catalogue ({} chunks)", catalog.chunks.len()));
        }
        if !found.vector_orphans.is_empty() {
            rep.actions.push(format!("dropped {} vectors without a catalogue chunk", found.vector_orphans.len()));
        }
    }
    Ok(rep)
}
