//! `lodestar doctor`: checks a home's invariants — the database (integrity, foreign keys, every
//! import batch whole), the knowledge index (catalogue, BM25 and vectors agree; no leftovers of an
//! interrupted save), config and dictionaries — repairs what it safely can without a model, and
//! exits non-zero when a problem remains.

use crate::Ctx;
use anyhow::Result;
use lodestar_core::home::Home;
use lodestar_dict::Dictionaries;
use lodestar_index::check::{self as ixcheck, IndexCheck};
use serde::Serialize;

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

/// Checks (and with `repair`, repairs) the home.
pub fn diagnose(home: &Home, repair: bool) -> DoctorReport {
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
        if found.unembedded > 0 {
            ix.warnings.push(format!(
                "{} chunks have no vector (added without the embedding model); `lodestar index build` embeds them",
                found.unembedded
            ));
        }
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
        before = Some(found);
    } else {
        ix.warnings.push("not checked: the dictionaries (which the index's analyzer needs) do not load".into());
    }
    checks.push(ix.settle());

    let ok = checks.iter().all(|c| c.remaining.is_empty());
    DoctorReport { home: home.root().display().to_string(), ok, repair, checks, index: before }
}

pub fn run(ctx: &Ctx, args: DoctorArgs) -> Result<()> {
    let rep = diagnose(&ctx.home, !args.no_repair);
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
