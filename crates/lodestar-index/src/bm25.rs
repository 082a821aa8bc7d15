//! BM25 over tantivy (关键词检索). Two scored fields — `head` (title + section path, boosted) and
//! `body` — analyzed by [`crate::analyzer::Analyzer`]; filter fields `kb`, `sens` (`s0`..`s3`),
//! `country`, `customer` as raw terms. Filters are required clauses of the same query, so a chunk
//! outside them is never scored, let alone returned.

use crate::analyzer::{Analyzer, TantivyAnalyzer};
use crate::{Chunk, Result};
use std::path::Path;
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

const TOKENIZER: &str = "lodestar";
/// Weight of a term match in the title / section path relative to the body.
const HEAD_BOOST: f32 = 1.5;
/// Weight of a code term (tyre size, contract number) in the query against the other words.
pub const CODE_BOOST: f32 = 3.0;
/// Marker term for "no country" / "no customer" so that filters can keep general material.
pub const NONE_TERM: &str = "_none";

/// Filters applied inside the query (see [`crate::index::Filter`]).
#[derive(Debug, Clone)]
pub struct Bm25Filter {
    /// Knowledge base ids allowed (`product`, `customer` …).
    pub kbs: Vec<String>,
    /// Highest [`Sensitivity::rank`](lodestar_core::Sensitivity::rank) allowed.
    pub max_sensitivity: u8,
    /// Keep only chunks of this country code or of no country.
    pub country: Option<String>,
    /// Keep only chunks of this customer id or of no customer.
    pub customer: Option<String>,
}

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    doc: Field,
    head: Field,
    body: Field,
    kb: Field,
    sens: Field,
    country: Field,
    customer: Field,
}

/// The tantivy side of the index.
pub struct Bm25 {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    analyzer: Arc<Analyzer>,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        chunk_id: b.add_text_field("chunk_id", STRING | STORED),
        doc: b.add_text_field("doc", STRING),
        head: b.add_text_field("head", text.clone()),
        body: b.add_text_field("body", text),
        kb: b.add_text_field("kb", STRING),
        sens: b.add_text_field("sens", STRING),
        country: b.add_text_field("country", STRING),
        customer: b.add_text_field("customer", STRING),
    };
    (b.build(), fields)
}

impl Bm25 {
    /// Opens (or creates) the tantivy index in `dir`.
    pub fn open(dir: &Path, analyzer: Arc<Analyzer>) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| crate::IndexError::Io { path: dir.into(), source })?;
        let (schema, fields) = schema();
        let mmap = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| crate::IndexError::Invalid(format!("cannot open {}: {e}", dir.display())))?;
        let index = Index::open_or_create(mmap, schema)?;
        Self::with_index(index, fields, analyzer)
    }

    /// An index held in memory (benchmarks).
    pub fn in_ram(analyzer: Arc<Analyzer>) -> Result<Self> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields, analyzer)
    }

    fn with_index(index: Index, fields: Fields, analyzer: Arc<Analyzer>) -> Result<Self> {
        index.tokenizers().register(TOKENIZER, TantivyAnalyzer::new(analyzer.clone()));
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { index, reader, fields, analyzer })
    }

    /// Number of indexed chunks.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// A writer for a batch of changes; call [`Bm25::commit`] after.
    pub fn writer(&self) -> Result<IndexWriter> {
        Ok(self.index.writer_with_num_threads(1, 64_000_000)?)
    }

    /// Adds one chunk to the batch of writer `w` (visible after [`Bm25::commit`]).
    pub fn add(&self, w: &IndexWriter, c: &Chunk) -> Result<()> {
        let f = self.fields;
        let mut d = doc!(
            f.chunk_id => c.chunk_id.as_str(),
            f.doc => c.doc.as_str(),
            f.head => c.heading(),
            f.body => c.text.as_str(),
            f.kb => c.kb.id(),
            f.sens => format!("s{}", c.sensitivity.rank()),
            f.customer => c.customer.as_deref().unwrap_or(NONE_TERM),
        );
        if c.countries.is_empty() {
            d.add_text(f.country, NONE_TERM);
        }
        for cc in &c.countries {
            d.add_text(f.country, cc.to_ascii_uppercase());
        }
        w.add_document(d)?;
        Ok(())
    }

    /// Deletes the chunk with id `chunk_id` in the batch of writer `w`.
    pub fn delete_chunk(&self, w: &IndexWriter, chunk_id: &str) {
        w.delete_term(Term::from_field_text(self.fields.chunk_id, chunk_id));
    }

    /// Deletes every chunk in the batch of writer `w`.
    pub fn delete_all(&self, w: &mut IndexWriter) -> Result<()> {
        w.delete_all_documents()?;
        Ok(())
    }

    /// Commits the writer's batch and reloads the searcher so the changes are visible.
    pub fn commit(&self, w: &mut IndexWriter) -> Result<()> {
        w.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Commits with `payload` stored in the commit's metadata (the catalogue generation the
    /// committed state belongs to; see [`Bm25::payload`]).
    pub fn commit_with(&self, w: &mut IndexWriter, payload: &str) -> Result<()> {
        let mut prepared = w.prepare_commit()?;
        prepared.set_payload(payload);
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// The payload of the last commit, if it carried one.
    pub fn payload(&self) -> Result<Option<String>> {
        Ok(self.index.load_metas()?.payload)
    }

    /// Every indexed chunk id, one entry per live tantivy document (a duplicate shows twice).
    pub fn chunk_ids(&self) -> Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let mut out = Vec::with_capacity(searcher.num_docs() as usize);
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            for doc in seg.doc_ids_alive() {
                let d: TantivyDocument = searcher.doc(tantivy::DocAddress::new(ord as u32, doc))?;
                if let Some(id) = d.get_first(self.fields.chunk_id).and_then(|v| v.as_str()) {
                    out.push(id.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Top `limit` chunk ids with BM25 scores, filters applied inside the query.
    pub fn search(&self, query: &str, filter: &Bm25Filter, limit: usize) -> Result<Vec<(String, f32)>> {
        let f = self.fields;
        let mut terms = self.analyzer.tokens(query);
        terms.sort();
        terms.dedup();
        if terms.is_empty() || filter.kbs.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let codes: std::collections::HashSet<String> = self.analyzer.codes(query).into_iter().collect();
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in &terms {
            // A code the question names (tyre size, contract number) is what it is about: it
            // outweighs the common words around it even in a long chunk (a whole spec table).
            let boost = if codes.contains(t) { CODE_BOOST } else { 1.0 };
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(Term::from_field_text(f.body, t), IndexRecordOption::WithFreqs)),
                    boost,
                )),
            ));
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(Term::from_field_text(f.head, t), IndexRecordOption::WithFreqs)),
                    HEAD_BOOST * boost,
                )),
            ));
        }
        let any_of = |field: Field, values: &[String]| -> Box<dyn Query> {
            let q = BooleanQuery::new(
                values
                    .iter()
                    .map(|v| {
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(Term::from_field_text(field, v), IndexRecordOption::Basic))
                                as Box<dyn Query>,
                        )
                    })
                    .collect(),
            );
            Box::new(ConstScoreQuery::new(Box::new(q), 0.0))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(BooleanQuery::new(should)))];
        clauses.push((Occur::Must, any_of(f.kb, &filter.kbs)));
        let sens: Vec<String> = (0..=filter.max_sensitivity).map(|r| format!("s{r}")).collect();
        clauses.push((Occur::Must, any_of(f.sens, &sens)));
        if let Some(c) = &filter.country {
            clauses.push((Occur::Must, any_of(f.country, &[c.to_ascii_uppercase(), NONE_TERM.to_string()])));
        }
        if let Some(c) = &filter.customer {
            clauses.push((Occur::Must, any_of(f.customer, &[c.clone(), NONE_TERM.to_string()])));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = d.get_first(f.chunk_id).and_then(|v| v.as_str()) {
                out.push((id.to_string(), score));
            }
        }
        Ok(out)
    }

    /// Distinct `doc` values are not needed at search time; kept for diagnostics.
    pub fn doc_field(&self) -> Field {
        self.fields.doc
    }
}
