//! The seeded bench home (评测用数据目录): the demo workbooks (end month 2026-10) imported by
//! [`lodestar_demo::seed`] (in [`lodestar_demo::IMPORT_ORDER`]), the repository's `knowledge/` indexed, and the accounts the
//! evaluation sets ask as. Every suite and `bench compare` use this one function; a folder that
//! already holds the data is re-used as it is.

use crate::{io_err, repo_path, BenchError, Result};
use lodestar_core::config::Config;
use lodestar_core::{Embedder, Generator, KbId, Role, Sensitivity};
use lodestar_dict::Dictionaries;
use lodestar_rag::adapters::{EngineSource, IndexRetriever};
use lodestar_rag::{Assistant, MetricsSource, Retriever};
use lodestar_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A seeded home.
pub struct BenchHome {
    /// The home folder.
    pub root: PathBuf,
    /// The dictionaries the home was seeded with.
    pub dicts: Arc<Dictionaries>,
    /// Time the seeding took (0 when the folder was re-used).
    pub setup_ms: f64,
    /// The embedder the index was opened with (`None`: BM25 only).
    pub embedder: Option<Arc<dyn Embedder>>,
}

impl BenchHome {
    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.root.join("lodestar.db")
    }

    /// The search index folder.
    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }

    /// Opens the home's database.
    pub fn store(&self) -> Result<Store> {
        Ok(Store::open(&self.db_path())?)
    }

    /// An assistant over this home: the rule engine, the index (with the embedder it was built
    /// with) and `generator` (`None`: metric answers and quoted passages only).
    pub fn assistant(&self, generator: Option<Arc<dyn Generator>>) -> Result<Assistant> {
        let metrics: Arc<dyn MetricsSource> =
            Arc::new(EngineSource::load(self.store()?, self.dicts.clone(), Config::default())?);
        let ix = lodestar_index::KnowledgeIndex::open(&self.index_dir(), &self.dicts, self.embedder.clone())?;
        let retriever: Arc<dyn Retriever> = Arc::new(IndexRetriever::new(ix));
        Ok(Assistant::new(self.dicts.clone(), Some(metrics), Some(retriever), generator))
    }
}

/// Seeds (or re-uses) a bench home at `root`. `embedder`: the embedding model the index uses
/// (`None`: BM25 only). The knowledge folder is the repository's `knowledge/`.
pub fn seed(root: &Path, embedder: Option<Arc<dyn Embedder>>) -> Result<BenchHome> {
    std::fs::create_dir_all(root).map_err(io_err(root))?;
    let t = std::time::Instant::now();
    let dicts = Arc::new(Dictionaries::builtin().map_err(|e| BenchError::Invalid(format!("dictionaries: {e}")))?);
    let mut store = Store::open(&root.join("lodestar.db"))?;
    let mut seeded = false;
    if store.latest_sales_month()?.is_none() {
        let dir = root.join("demo");
        lodestar_demo::seed::seed(
            &mut store,
            &dicts,
            &dir,
            &lodestar_demo::DemoOptions::default(),
            &lodestar_ingest::ImportOptions::default(),
        )?;
        seeded = true;
    }
    // The accounts of the sensitive questions: an intern with 内部 clearance over every base, and
    // a salesperson limited to the product and policy bases.
    store.upsert_user("intern", Role::Viewer, Sensitivity::Internal, &[], None)?;
    store.upsert_user("sales_kz", Role::Sales, Sensitivity::Sensitive, &[KbId::Product, KbId::Policy], None)?;
    let index_dir = root.join("index");
    if !index_dir.is_dir() {
        let knowledge = repo_path("knowledge")
            .ok_or_else(|| BenchError::Invalid("knowledge/ folder not found (run from the repository)".into()))?;
        let mut ix = lodestar_index::KnowledgeIndex::open(&index_dir, &dicts, embedder.clone())?;
        ix.add_paths(&[knowledge], &lodestar_index::AddOptions::default())?;
        seeded = true;
    }
    Ok(BenchHome {
        root: root.to_path_buf(),
        dicts,
        setup_ms: if seeded { t.elapsed().as_secs_f64() * 1000.0 } else { 0.0 },
        embedder,
    })
}
