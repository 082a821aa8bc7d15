//! `lodestar doctor`: checks a home's invariants — the database (integrity, foreign keys, every
//! import batch whole), the knowledge index (catalogue, BM25 and vectors agree; no leftovers of an
//! interrupted save), config and dictionaries — repairs what it safely can without a model, embeds
//! the chunks that have no vector when an embedding model is available (and says which documents
//! lack vectors, and why, when none is), and exits non-zero when a problem remains.

use crate::Ctx;
use anyhow::Result;
use lodestar_core::home::Home;
use lodestar_core::Embedder;
use lodestar_dict::Dictionaries;
use lodestar_index::check::{self as ixcheck, IndexCheck};
use serde::Serialize;
use std::sync::Arc;

/// Opens the embedding model when the doctor needs one: the model, or why there is none.
pub type EmbedderSource<'a> = &'a dyn Fn() -> (Option<Arc<dyn Embedder>>, Option<String>);

#[derive(clap::Args)]
pub struct DoctorArgs {
    /// Only check; change nothing
    #[arg(long)]
    no_repair: bool,
}

/// One area of the home.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    /// `ok`, `repaired` (problems found and all repaired), `problem` (some remain) or `warning`.
    pub status: &'static str,
    /// Problems found.
    pub found: Vec<String>,
    /// What was done about them.
    pub repairs: Vec<String>,
    /// Problems that remain.
    pub remaining: Vec<String>,
    /// States that are not errors but want attention.
    pub warnings: Vec<String>,
    /// What to do about a remaining problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    fn new(name: &'static str, found: Vec<String>) -> Self {
        Self { name, status: "ok", found, repairs: Vec::new(), remaining: Vec::new(), warnings: Vec::new(), hint: None }
    }
    fn settle(mut self) -> Self {
        self.status = if !self.remaining.is_empty() {
            "problem"
        } else if !self.found.is_empty() {
            "repaired"
        } else if !self.warnings.is_empty() {
            "warning"
        } else {
            "ok"
        };
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub home: String,
    /// No problem remains.
    pub ok: bool,
    pub repair: bool,
    pub checks: Vec<Check>,
    /// The index as found (before any repair).
    pub index: Option<IndexCheck>,
}

/// Checks (and with `repair`, repairs) the home, with no embedding model (chunks without a
/// vector are reported, not embedded).
pub fn diagnose(home: &Home, repair: bool) -> DoctorReport {
    diagnose_with(home, repair, &|| (None, Some("no embedding model was given to this check".into())))
}

/// [`diagnose`]; with `repair`, chunks that have no vector are embedded with the model `embedder`
/// opens (called only when such chunks exist and the index is otherwise sound).
pub fn diagnose_with(home: &Home, repair: bool, embedder: EmbedderSource) -> DoctorReport {
    let mut checks = Vec::new();

    // config and dictionaries: reported, never rewritten
    let mut cfg = Check::new("config", Vec::new());
    if let Err(e) = lodestar_core::config::Config::load(&home.config_path()) {
        cfg.found.push(e.to_string());
        cfg.remaining.push(e.to_string());
        cfg.hint = Some(format!("fix or remove {}", home.config_path().display()));
    }
    checks.push(cfg.settle());
    let mut dict = Check::new("dictionaries", Vec::new());
    let dicts = match Dictionaries::load(&home.dict_dir()) {
        Ok(d) => Some(d),
        Err(e) => {
            dict.found.push(e.to_string());
            dict.remaining.push(e.to_string());
            dict.hint = Some(format!("fix the file named above in {}", home.dict_dir().display()));
            None
        }
    };
    checks.push(dict.settle());

    // database: checked only; a damaged database is restored from a backup, not patched
    let mut db = Check::new("database", Vec::new());
    if home.db_path().exists() {
        match lodestar_store::health::check_database(&home.db_path()) {
            Ok(ck) => db.found = ck.problems(),
            Err(e) => db.found.push(format!("cannot read the database: {e}")),
        }
        if !db.found.is_empty() {
            db.remaining = db.found.clone();
            db.hint = Some("restore the home from a backup (`lodestar restore FILE --home DIR`)".into());
        }
    }
    checks.push(db.settle());

    // index
    let mut ix = Check::new("index", Vec::new());
    let mut before = None;
    if let Some(dicts) = &dicts {
        let dir = home.index_dir();
        let found = ixcheck::inspect(&dir, dicts);
        ix.found = found.problems();
        if found.analyzer_changed {
            ix.warnings.push("the dictionaries changed since BM25 was built; it is rebuilt at the next open".into());
        }
        if !ix.found.is_empty() {
            if repair {
                match ixcheck::repair(&dir, dicts, &found) {
                    Ok(r) => ix.repairs = r.actions,
                    Err(e) => ix.repairs.push(format!("repair failed: {e}")),
                }
                ix.remaining = ixcheck::inspect(&dir, dicts).problems();
            } else {
                ix.remaining = ix.found.clone();
            }
            if !ix.remaining.is_empty() {
                ix.hint = Some(if found.unreadable.iter().any(|u| u.starts_with("catalogue")) {
                    "the catalogue holds the documents: restore the home from a backup, or remove the index folder and `lodestar kb add` the documents again".into()
                } else if repair {
                    "restore the home from a backup".into()
                } else {
                    "run `lodestar doctor` without --no-repair".into()
                });
            }
        }
        if ix.remaining.is_empty() {
            unembedded(&mut ix, home, dicts, repair, embedder);
        } else if found.unembedded > 0 {
            ix.warnings.push(format!(
                "{} chunks have no vector; not embedded while the problems above remain",
                found.unembedded
            ));
        }
        before = Some(found);
    } else {
        ix.warnings.push("not checked: the dictionaries (which the index's analyzer needs) do not load".into());
    }
    checks.push(ix.settle());

    let ok = checks.iter().all(|c| c.remaining.is_empty());
    DoctorReport { home: home.root().display().to_string(), ok, repair, checks, index: before }
}

/// Chunks without a vector in a sound index: embedded (with `repair` and a model), else reported
/// with the documents they belong to and why they stay so. An index that has no vectors at all is
/// embedded whole when a model is available; without one it is a BM25-only index, not a problem.
fn unembedded(ix: &mut Check, home: &Home, dicts: &Dictionaries, repair: bool, embedder: EmbedderSource) {
    let dir = home.index_dir();
    let now = ixcheck::inspect(&dir, dicts);
    let bm25_only = now.vector_model.is_none() && now.chunks > 0;
    if now.unembedded == 0 && !bm25_only {
        return;
    }
    let docs = |c: &IndexCheck| {
        let shown: Vec<&str> = c.unembedded_docs.iter().take(5).map(String::as_str).collect();
        let more = c.unembedded_docs.len().saturating_sub(5);
        format!("{}{}", shown.join(", "), if more > 0 { format!(" and {more} more") } else { String::new() })
    };
    let count = if bm25_only { now.chunks } else { now.unembedded };
    let what = if bm25_only {
        format!("the index has no vectors: its {count} chunks are searched by BM25 only")
    } else {
        format!(
            "{count} chunks have no vector (added without the embedding model) in {} document(s): {}",
            now.unembedded_docs.len(),
            docs(&now)
        )
    };
    if !repair {
        if !bm25_only {
            ix.warnings.push(format!("{what}; `lodestar doctor` embeds them when an embedding model is installed"));
        }
        return;
    }
    let (model, why) = embedder();
    let Some(model) = model else {
        if !bm25_only {
            ix.warnings.push(format!(
                "{what}; not embedded: no embedding model is available ({}). Install one (`lodestar models fetch`) and run `lodestar doctor` again, or `lodestar index build`",
                why.unwrap_or_else(|| "none installed".into())
            ));
        }
        return;
    };
    let name = model.name().to_string();
    let res = lodestar_index::KnowledgeIndex::open(&dir, dicts, Some(model))
        .and_then(|mut index| index.embed_unembedded(&mut |_, _| {}));
    match res {
        Ok(n) => {
            ix.found.push(what);
            ix.repairs.push(format!("embedded {n} chunks with {name}"));
            let after = ixcheck::inspect(&dir, dicts);
            if after.unembedded > 0 {
                ix.remaining.push(format!(
                    "{} chunks still have no vector after embedding: {}",
                    after.unembedded,
                    docs(&after)
                ));
            }
        }
        Err(e) => ix.warnings.push(format!("{what}; embedding them with {name} failed: {e}")),
    }
}

pub fn run(ctx: &Ctx, args: DoctorArgs) -> Result<()> {
    let rep = diagnose_with(&ctx.home, !args.no_repair, &|| crate::cmd::kb::open_embedder(ctx));
    if ctx.json {
        ctx.print_json(&rep)?;
    } else {
        println!("lodestar doctor — home {}", rep.home);
        for c in &rep.checks {
            println!("{:<13} {}", c.name, c.status);
            for f in &c.found {
                println!("  found:     {f}");
            }
            for r in &c.repairs {
                println!("  repaired:  {r}");
            }
            for r in &c.remaining {
                println!("  remains:   {r}");
            }
            for w in &c.warnings {
                println!("  warning:   {w}");
            }
            if let Some(h) = &c.hint {
                println!("  → {h}");
            }
        }
        println!("{}", if rep.ok { "no problem remains" } else { "problems remain" });
    }
    if !rep.ok {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestar_core::KbId;
    use lodestar_index::testing::FakeEmbedder;
    use lodestar_index::{AddOptions, KnowledgeIndex};
    use std::cell::Cell;

    fn fake() -> Arc<dyn Embedder> {
        Arc::new(FakeEmbedder::default())
    }

    fn add(ix: &mut KnowledgeIndex, doc: &str, text: &str) -> usize {
        let opts = AddOptions { kb: Some(KbId::Policy), sensitivity: None };
        ix.add_text(doc, text, &opts).unwrap().chunks_added
    }

    fn index_check(c: &DoctorReport) -> &Check {
        c.checks.iter().find(|c| c.name == "index").unwrap()
    }

    /// A home whose index has vectors for `policy/a.md` (added with the test embedder) and none
    /// for `policy/b.md` (added without a model); the chunk counts of each.
    fn half_embedded(home: &Home) -> (usize, usize) {
        let dicts = Dictionaries::load(&home.dict_dir()).unwrap();
        let mut ix = KnowledgeIndex::open(&home.index_dir(), &dicts, Some(fake())).unwrap();
        let a = add(&mut ix, "policy/a.md", "# 质保政策\n\n全钢卡客车轮胎质保三年，半钢轮胎质保两年。\n");
        drop(ix);
        let mut ix = KnowledgeIndex::open(&home.index_dir(), &dicts, None).unwrap();
        let b = add(
            &mut ix,
            "policy/b.md",
            "# 账期政策\n\n## 俄罗斯\n\n经销商账期九十天。\n\n## 哈萨克斯坦\n\n经销商账期六十天，超期停止发货。\n",
        );
        (a, b)
    }

    #[test]
    fn chunks_without_a_vector_are_embedded_when_a_model_is_available() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("home"));
        let (a, b) = half_embedded(&home);
        assert!(a >= 1 && b >= 2, "{a} {b}");
        let dicts = Dictionaries::load(&home.dict_dir()).unwrap();
        let before = ixcheck::inspect(&home.index_dir(), &dicts);
        assert_eq!((before.chunks, before.vectors, before.unembedded), (a + b, a, b));
        assert_eq!(before.unembedded_docs, vec!["policy/b.md".to_string()]);

        // --no-repair: reported with the document, the model is not even opened
        let asked = Cell::new(0);
        let source = || {
            asked.set(asked.get() + 1);
            (Some(fake()), None)
        };
        let rep = diagnose_with(&home, false, &source);
        assert!(rep.ok);
        let w = index_check(&rep).warnings.join("\n");
        assert!(w.contains(&format!("{b} chunks have no vector")) && w.contains("policy/b.md"), "{w}");
        assert_eq!(asked.get(), 0);

        // repair: embedded with the model, nothing else touched
        let rep = diagnose_with(&home, true, &source);
        assert_eq!(asked.get(), 1);
        assert!(rep.ok, "{rep:#?}");
        let ix = index_check(&rep);
        assert_eq!(ix.status, "repaired", "{ix:#?}");
        assert_eq!(ix.repairs, vec![format!("embedded {b} chunks with fake-bigram-256")]);
        let after = ixcheck::inspect(&home.index_dir(), &dicts);
        assert_eq!((after.chunks, after.vectors, after.unembedded), (a + b, a + b, 0));
        assert!(after.problems().is_empty(), "{:?}", after.problems());
        // and the new vectors are the model's vectors of those chunks: a vector search finds b
        let ix = KnowledgeIndex::open(&home.index_dir(), &dicts, Some(fake())).unwrap();
        let mut req =
            lodestar_index::SearchRequest::new("哈萨克斯坦 经销商账期", lodestar_core::Principal::local_admin());
        req.mode = lodestar_index::SearchMode::Vector;
        let hits = ix.search(&req).unwrap().hits;
        assert_eq!(hits.first().map(|h| h.doc.as_str()), Some("policy/b.md"));
        drop(ix);

        // a second run has nothing to do and does not open the model
        let rep = diagnose_with(&home, true, &source);
        assert_eq!((index_check(&rep).status, asked.get()), ("ok", 1));
    }

    #[test]
    fn without_a_model_the_chunks_are_reported_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("home"));
        let (_, b) = half_embedded(&home);
        let rep = diagnose_with(&home, true, &|| (None, Some("LODESTAR_NO_EMBED is set".into())));
        assert!(rep.ok, "a missing vector is not a failure: BM25 still finds the chunk");
        let ix = index_check(&rep);
        assert_eq!(ix.status, "warning");
        let w = ix.warnings.join("\n");
        assert!(w.contains(&format!("{b} chunks have no vector")) && w.contains("policy/b.md"), "{w}");
        assert!(w.contains("no embedding model is available (LODESTAR_NO_EMBED is set)"), "{w}");
        assert!(w.contains("lodestar models fetch"), "{w}");
        let dicts = Dictionaries::load(&home.dict_dir()).unwrap();
        assert_eq!(ixcheck::inspect(&home.index_dir(), &dicts).unembedded, b, "nothing changed");
    }

    #[test]
    fn an_index_without_vectors_is_embedded_whole_only_when_a_model_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("home"));
        let dicts = Dictionaries::load(&home.dict_dir()).unwrap();
        let mut ix = KnowledgeIndex::open(&home.index_dir(), &dicts, None).unwrap();
        let n = add(&mut ix, "policy/a.md", "# 质保政策\n\n全钢卡客车轮胎质保三年。\n");
        drop(ix);
        // BM25 only and no model: a legitimate index, nothing to say
        let rep = diagnose_with(&home, true, &|| (None, Some("none installed".into())));
        assert_eq!(index_check(&rep).status, "ok", "{rep:#?}");
        // with a model: every chunk embedded
        let rep = diagnose_with(&home, true, &|| (Some(fake()), None));
        assert_eq!(index_check(&rep).repairs, vec![format!("embedded {n} chunks with fake-bigram-256")]);
        let after = ixcheck::inspect(&home.index_dir(), &dicts);
        assert_eq!((after.vectors, after.unembedded, after.vector_model.as_deref()), (n, 0, Some("fake-bigram-256")));
    }
}
