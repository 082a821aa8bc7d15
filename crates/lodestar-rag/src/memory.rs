//! A small in-memory retriever (内存检索) over Markdown knowledge files: heading-based chunks,
//! lexical scoring on CJK bigrams and words, permission filter before ranking.
//!
//! It is what tests use, and the fallback when a home has no search index yet; the real hybrid
//! retriever is `lodestar-index` behind [`crate::adapters`].

use crate::route::content_units;
use crate::source::{Hit, Retriever};
use crate::RagError;
use lodestar_core::{KbId, Principal, Sensitivity};
use std::path::Path;

/// One chunk with its document's metadata.
#[derive(Debug, Clone)]
pub struct MemoryChunk {
    /// The chunk as a search hit (score 0 until a search scores it).
    pub hit: Hit,
    key: String,
}

/// Chunks held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryRetriever {
    /// The chunks of every document added, in the order added.
    pub chunks: Vec<MemoryChunk>,
}

/// Front matter of a knowledge document (`kb`, `title`, `sensitivity`, `customer`).
#[derive(Debug, Clone, Default)]
pub struct FrontMatter {
    /// `kb`: the knowledge base, if it names a known one.
    pub kb: Option<KbId>,
    /// `title`: the document title.
    pub title: Option<String>,
    /// `sensitivity`: the document's sensitivity level (密级), if valid.
    pub sensitivity: Option<Sensitivity>,
    /// `customer` / `customers`: customer ids the document is about (comma, semicolon or space separated).
    pub customers: Vec<String>,
}

/// Splits `---` front matter from a Markdown body (the text layer's
/// [`lodestar_core::text::front_matter`] parser; this maps the fields the retriever reads).
pub fn front_matter(text: &str) -> (FrontMatter, &str) {
    let mut fm = FrontMatter::default();
    let Some((fields, body)) = lodestar_core::text::front_matter::split(text) else { return (fm, text) };
    for (k, v) in fields {
        match k.as_str() {
            "kb" => fm.kb = v.parse().ok(),
            "title" => fm.title = Some(v),
            "sensitivity" => fm.sensitivity = v.parse().ok(),
            "customer" | "customers" => {
                fm.customers = v.split([',', ';', ' ']).filter(|s| !s.is_empty()).map(str::to_string).collect()
            }
            _ => {}
        }
    }
    (fm, body.trim_start_matches(['-', '\n', '\r']))
}

impl MemoryRetriever {
    /// An empty retriever.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Markdown document, chunked at `##` headings. `doc` is its id (`customer/C001-….md`).
    pub fn add_markdown(&mut self, doc: &str, text: &str, default_kb: KbId) {
        let (fm, body) = front_matter(text);
        let kb = fm.kb.unwrap_or(default_kb);
        let title = fm.title.clone().unwrap_or_else(|| {
            body.lines()
                .find(|l| l.starts_with("# "))
                .map(|l| l.trim_start_matches("# ").to_string())
                .unwrap_or(doc.into())
        });
        let sensitivity = fm.sensitivity.unwrap_or(Sensitivity::Internal);
        let mut section = String::new();
        let mut buf = String::new();
        let mut n = 0;
        let flush = |section: &str, buf: &mut String, n: &mut usize, chunks: &mut Vec<MemoryChunk>| {
            if buf.trim().is_empty() {
                buf.clear();
                return;
            }
            *n += 1;
            let text = buf.trim().to_string();
            let key = lodestar_core::text::norm_key(&format!("{title} {section} {text}"));
            chunks.push(MemoryChunk {
                hit: Hit {
                    kb,
                    doc: doc.to_string(),
                    title: title.clone(),
                    chunk_id: format!("{doc}#{n}"),
                    section: section.to_string(),
                    text,
                    sensitivity,
                    score: 0.0,
                    customers: fm.customers.clone(),
                },
                key,
            });
            buf.clear();
        };
        for line in body.lines() {
            if line.starts_with("## ") || line.starts_with("# ") {
                flush(&section, &mut buf, &mut n, &mut self.chunks);
                section = line.trim_start_matches('#').trim().to_string();
            } else {
                buf.push_str(line);
                buf.push('\n');
            }
        }
        flush(&section, &mut buf, &mut n, &mut self.chunks);
    }

    /// Loads every `*.md` under `root/<kb>/` (the repository's `knowledge/` layout).
    pub fn load_dir(root: &Path) -> Result<Self, RagError> {
        let mut r = Self::new();
        for kb in KbId::ALL {
            let dir = root.join(kb.id());
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                if p.extension().and_then(|e| e.to_str()) != Some("md") {
                    continue;
                }
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| RagError::Source(format!("cannot read {}: {e}", p.display())))?;
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                r.add_markdown(&format!("{}/{name}", kb.id()), &text, kb);
            }
        }
        Ok(r)
    }
}

impl Retriever for MemoryRetriever {
    fn search(&self, query: &str, principal: &Principal, kbs: &[KbId], k: usize) -> Result<Vec<Hit>, RagError> {
        let units = content_units(query);
        let mut scored: Vec<(f32, &MemoryChunk)> = self
            .chunks
            .iter()
            // permission filter first: nothing the principal may not read is even scored
            .filter(|c| principal.can_read(c.hit.kb, c.hit.sensitivity))
            .filter(|c| kbs.is_empty() || kbs.contains(&c.hit.kb))
            .filter_map(|c| {
                let s: f32 = units
                    .iter()
                    .filter(|u| c.key.contains(u.as_str()))
                    .map(|u| if u.chars().count() > 2 { 2.0 } else { 1.0 })
                    .sum();
                (s > 0.0).then_some((s, c))
            })
            .collect();
        scored.sort_by(|a, b| {
            b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.hit.chunk_id.cmp(&b.1.hit.chunk_id))
        });
        Ok(scored
            .into_iter()
            .take(k)
            .map(|(s, c)| {
                let mut h = c.hit.clone();
                h.score = s;
                h
            })
            .collect())
    }
}
