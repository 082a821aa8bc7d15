//! `lodestar batch …`: the night queue — submit profiles, review material, minutes or an OpenAI
//! batch file; run it (resumable after a crash); status, cancel, results (OpenAI batch output
//! format) and the morning report. The queue lives in lodestar-draft; this module runs its items
//! with the chat model, the drafts and the ledger.

use crate::cmd::ask::{open_generator_slots, open_parts, parse_date};
use crate::cmd::draft::{month_of, sources};
use crate::Ctx;
use anyhow::{bail, Context as _, Result};
use lodestar_core::{ChatMessage, ChatRole, FinishReason, GenParams, Generator, ModelError, Month};
use lodestar_draft::batch::{self, Item, ItemError, ItemOutput, NewItem, RunOptions};
use lodestar_draft::{store as drafts, Context};
use lodestar_metrics::MetricsEngine;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct BatchArgs {
    #[command(subcommand)]
    action: BatchAction,
}

#[derive(clap::Subcommand)]
enum BatchAction {
    /// Queue work: `profiles --top N`, `review --month M`, `minutes FILE…`, or `--file requests.jsonl`
    Submit(SubmitArgs),
    /// Process pending items (all runnable batches, or the ones named)
    Run {
        /// Batch ids (default: every batch with pending items)
        ids: Vec<String>,
        /// Stop starting new items at this local time (HH:MM); the rest stay pending (`expired`)
        #[arg(long, value_name = "HH:MM")]
        until: Option<String>,
        /// Chat model (default: the batch's, else the manifest's default)
        #[arg(long)]
        model: Option<String>,
        /// Items in progress at once; their model calls decode together in one batch (a local
        /// model reads its weights once per step for all of them)
        #[arg(long, default_value_t = 1)]
        parallel: usize,
        /// Output folder of drafts (default: <home>/drafts)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// CPU threads for the model (default: all cores)
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Status of one batch (or all)
    Status { id: Option<String> },
    /// Stop a batch: no new item starts
    Cancel { id: String },
    /// Results in the OpenAI batch output format (JSONL, one line per finished item)
    Results {
        id: String,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The morning summary (Markdown): finished, failed and why, drafts waiting for review
    Report {
        id: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct SubmitArgs {
    #[command(subcommand)]
    kind: Option<SubmitKind>,
    /// An OpenAI batch input file (one {"custom_id","method":"POST","url":"/v1/chat/completions","body":{…}} per line)
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Chat model the items run with (part of each item's identity)
    #[arg(long, global = true)]
    model: Option<String>,
    /// Template sentences instead of model prose (profiles, review)
    #[arg(long, global = true)]
    no_model: bool,
}

#[derive(clap::Subcommand)]
enum SubmitKind {
    /// Customer profiles of the N largest customers by year-to-date sales (or the named ones)
    Profiles {
        customers: Vec<String>,
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        #[arg(long)]
        month: Option<String>,
    },
    /// The monthly business-review material
    Review {
        #[arg(long)]
        month: Option<String>,
    },
    /// Minutes to (re-)extract into the ledger
    Minutes {
        files: Vec<PathBuf>,
        /// Meeting date (default: a YYYY-MM-DD in the file name, else today)
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// Meeting kind
        #[arg(long, default_value = "经营分析会")]
        meeting: String,
    },
}

/// The first `YYYY-MM-DD` in a file's name.
fn date_in_name(p: &Path) -> Option<String> {
    let s = p.file_name()?.to_str()?;
    let b = s.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let w = &s[i..i + 10];
        let ok = w.chars().enumerate().all(|(k, c)| if k == 4 || k == 7 { c == '-' } else { c.is_ascii_digit() });
        (ok && s.is_char_boundary(i) && s.is_char_boundary(i + 10) && parse_date(w).is_ok()).then(|| w.to_string())
    })
}

fn submit(ctx: &Ctx, store: &lodestar_store::Store, a: SubmitArgs, by: &str) -> Result<()> {
    let params = serde_json::json!({"no_model": a.no_model});
    let model = if a.no_model { None } else { a.model.clone() };
    let (kind, items, input_file) = match (a.kind, &a.file) {
        (Some(_), Some(_)) => bail!("give either a kind (profiles, review, minutes) or --file, not both"),
        (None, None) => bail!("what to queue: `batch submit profiles --top N`, `review --month M`, `minutes FILE…` or `--file requests.jsonl`"),
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            ("chat", batch::parse_input(&text)?, Some(f.display().to_string()))
        }
        (Some(SubmitKind::Profiles { customers, top, month }), None) => {
            let (dicts, config, e) = sources(ctx, store)?;
            let m = month_of(&e, month.as_deref())?;
            let c = Context {
                store,
                dicts: &dicts,
                engine: &e,
                config: &config,
                retriever: None,
                generator: None,
                principal: ctx.principal(store)?,
                month: m,
                as_of: Context::as_of_for(m),
            };
            let mut ids: Vec<String> = Vec::new();
            for name in &customers {
                ids.push(lodestar_draft::profile::find_customer(&c, name)?.id.clone());
            }
            if let Some(n) = top {
                ids.extend(lodestar_draft::profile::top_customers(&c, n)?);
            }
            if ids.is_empty() {
                bail!("name customers or give --top N");
            }
            let items = ids
                .iter()
                .map(|id| NewItem {
                    custom_id: format!("profile-{id}-{m}"),
                    kind: "profile".into(),
                    input: serde_json::json!({"customer": id, "month": m.to_string()}),
                })
                .collect();
            ("profiles", items, None)
        }
        (Some(SubmitKind::Review { month }), None) => {
            let (_, _, e) = sources(ctx, store)?;
            let m = month_of(&e, month.as_deref())?;
            let items = vec![NewItem { custom_id: format!("review-{m}"), kind: "review".into(), input: serde_json::json!({"month": m.to_string()}) }];
            ("review", items, None)
        }
        (Some(SubmitKind::Minutes { files, date, meeting }), None) => {
            if files.is_empty() {
                bail!("name the minutes files");
            }
            let mut items = Vec::new();
            for f in &files {
                let abs = std::fs::canonicalize(f).with_context(|| format!("cannot read {}", f.display()))?;
                let d = match &date {
                    Some(d) => parse_date(d)?.to_string(),
                    None => date_in_name(&abs).unwrap_or_else(|| chrono::Local::now().date_naive().to_string()),
                };
                let text = std::fs::read(&abs)?;
                items.push(NewItem {
                    custom_id: format!("minutes-{}-{d}", abs.file_stem().and_then(|s| s.to_str()).unwrap_or("minutes")),
                    kind: "minutes".into(),
                    input: serde_json::json!({"file": abs.display().to_string(), "date": d, "meeting": meeting, "sha256": lodestar_store::accounts::sha256_hex(&text)}),
                });
            }
            ("minutes", items, None)
        }
    };
    let id = batch::submit(store, kind, &items, model.as_deref(), &params, input_file.as_deref(), by)?;
    let st = batch::status(store, &id)?;
    if ctx.json {
        return ctx.print_json(&st);
    }
    println!("{id}");
    eprintln!(
        "queued {} items ({} already done earlier with the same input and model); run them with `lodestar batch run {id}`",
        st.request_counts.total, st.request_counts.completed
    );
    Ok(())
}

/// Writes a file under a temporary name, syncs it and renames it into place.
fn atomic_write(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = path.with_file_name(format!(".{}.part", path.file_name().and_then(|n| n.to_str()).unwrap_or("out")));
    write(&tmp)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// What the workers of one run share: the chat model (loaded once, when an item first needs
/// it, with `--parallel` decoding slots) and the knowledge index.
struct Shared<'a> {
    ctx: &'a Ctx,
    model: Option<String>,
    slots: usize,
    out_dir: PathBuf,
    generator: Mutex<Option<Result<Arc<dyn Generator>, String>>>,
    retriever: Mutex<Option<Option<Arc<dyn lodestar_rag::Retriever>>>>,
}

/// One worker's runner: its own database connection and rule engine over the shared model.
struct Runner<'a> {
    shared: &'a Shared<'a>,
    store: lodestar_store::Store,
    sources: Option<DraftSources>,
}

/// The dictionaries, config and rule engine drafts are built from.
type DraftSources = (lodestar_dict::Dictionaries, lodestar_core::config::Config, MetricsEngine);

fn transient(msg: impl Into<String>) -> ItemError {
    ItemError { permanent: false, code: "server_error".into(), message: msg.into() }
}
fn permanent(code: &str, msg: impl Into<String>) -> ItemError {
    ItemError { permanent: true, code: code.into(), message: msg.into() }
}

impl Shared<'_> {
    fn generator(&self, required: bool) -> Result<Option<Arc<dyn Generator>>, ItemError> {
        let mut g = self.generator.lock().map_err(|_| transient("model lock poisoned"))?;
        if g.is_none() {
            let loaded =
                open_generator_slots(self.ctx, self.model.as_deref(), self.slots).map_err(|e| format!("{e:#}"));
            if let Err(e) = &loaded {
                if !required {
                    eprintln!("chat model not available ({e}): template sentences instead");
                }
            }
            *g = Some(loaded);
        }
        match g.as_ref().expect("just loaded") {
            Ok(m) => Ok(Some(m.clone())),
            Err(e) if required => Err(permanent("model_not_found", e.clone())),
            Err(_) => Ok(None),
        }
    }

    fn retriever(&self) -> Option<Arc<dyn lodestar_rag::Retriever>> {
        let mut r = self.retriever.lock().ok()?;
        if r.is_none() {
            let mut found = None;
            let dicts = self.ctx.dicts().ok().map(Arc::new);
            let config = self.ctx.config().unwrap_or_default();
            if let Some(d) = dicts {
                match open_parts(
                    &self.ctx.home.db_path(),
                    &self.ctx.home.index_dir(),
                    &d,
                    &config,
                    &self.ctx.models_dir,
                ) {
                    Ok(p) => found = p.retriever,
                    Err(e) => eprintln!("knowledge index not available ({e:#})"),
                }
            }
            *r = Some(found);
        }
        r.clone().flatten()
    }
}

impl Runner<'_> {
    fn generator(&mut self, required: bool) -> Result<Option<Arc<dyn Generator>>, ItemError> {
        self.shared.generator(required)
    }

    fn retriever(&mut self) -> Option<Arc<dyn lodestar_rag::Retriever>> {
        self.shared.retriever()
    }

    fn chat(&mut self, item: &Item) -> Result<ItemOutput, ItemError> {
        let body = &item.input;
        let g = self.generator(true)?.ok_or_else(|| permanent("model_not_found", "no chat model"))?;
        let mut messages = Vec::new();
        for m in body["messages"].as_array().into_iter().flatten() {
            let role = match m["role"].as_str() {
                Some("system") => ChatRole::System,
                Some("assistant") => ChatRole::Assistant,
                _ => ChatRole::User,
            };
            messages.push(ChatMessage { role, content: m["content"].as_str().unwrap_or("").to_string() });
        }
        let stop: Vec<String> = match &body["stop"] {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
            _ => Vec::new(),
        };
        let params = GenParams {
            max_tokens: body["max_tokens"].as_u64().or(body["max_completion_tokens"].as_u64()).unwrap_or(512) as usize,
            temperature: body["temperature"].as_f64().unwrap_or(0.0),
            top_p: body["top_p"].as_f64(),
            seed: body["seed"].as_u64().unwrap_or(42),
            stop,
            ..GenParams::default()
        };
        let gen = g.generate(&messages, &params, &mut |_| ControlFlow::Continue(())).map_err(|e| match e {
            ModelError::ContextLength { .. } => permanent("context_length_exceeded", e.to_string()),
            ModelError::NotInstalled(_) => permanent("model_not_found", e.to_string()),
            ModelError::Backend(m) => transient(m),
        })?;
        let finish = match gen.stats.finish {
            FinishReason::Length => "length",
            _ => "stop",
        };
        let (pt, ct) = (gen.stats.prompt_tokens as i64, gen.stats.generated_tokens as i64);
        let body = serde_json::json!({
            "id": format!("chatcmpl-{}", item.id),
            "object": "chat.completion",
            "created": chrono::Utc::now().timestamp(),
            "model": g.name(),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": gen.text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
        });
        Ok(ItemOutput { body, files: vec![], draft: None, tokens: ct })
    }

    /// The dictionaries, config and rule engine, loaded once per run (not once per item).
    fn sources(&mut self) -> Result<&DraftSources, ItemError> {
        if self.sources.is_none() {
            self.sources = Some(sources(self.shared.ctx, &self.store).map_err(|e| transient(format!("{e:#}")))?);
        }
        Ok(self.sources.as_ref().expect("just loaded"))
    }

    fn profile_or_review(&mut self, item: &Item, no_model: bool) -> Result<ItemOutput, ItemError> {
        let month: Month = item.input["month"]
            .as_str()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| permanent("invalid_request", "item has no valid month"))?;
        let g = if no_model { None } else { self.generator(false)? };
        let retriever = if item.kind == "profile" { self.retriever() } else { None };
        let principal =
            self.shared.ctx.principal(&self.store).map_err(|e| permanent("invalid_user", format!("{e:#}")))?;
        let out_dir = self.shared.out_dir.clone();
        self.sources()?;
        let store = &self.store;
        let (dicts, config, engine) = self.sources.as_ref().expect("just loaded");
        let c = Context {
            store,
            dicts,
            engine,
            config,
            retriever: retriever.as_deref(),
            generator: g.as_deref(),
            principal,
            month,
            as_of: Context::as_of_for(month),
        };
        let err = |e: lodestar_draft::DraftError| match e {
            lodestar_draft::DraftError::NotFound(m) | lodestar_draft::DraftError::Invalid(m) => {
                permanent("invalid_request", m)
            }
            other => transient(other.to_string()),
        };
        std::fs::create_dir_all(&out_dir).map_err(|e| transient(e.to_string()))?;
        let (draft, files) = if item.kind == "profile" {
            let customer = item.input["customer"].as_str().unwrap_or("");
            let d = lodestar_draft::profile::build_profile(&c, customer).map_err(err)?;
            let stem = format!("客户画像-{}-{month}", d.subject);
            let mut files = Vec::new();
            for ext in ["md", "docx"] {
                let p = out_dir.join(format!("{stem}.{ext}"));
                let doc = d.doc();
                atomic_write(&p, |tmp| {
                    if ext == "md" {
                        std::fs::write(tmp, lodestar_draft::doc::to_markdown(&doc))?;
                    } else {
                        lodestar_draft::docx::write_docx(&doc, tmp)?;
                    }
                    Ok(())
                })
                .map_err(|e| transient(format!("{e:#}")))?;
                files.push(p.display().to_string());
            }
            (d, files)
        } else {
            let (d, data) = lodestar_draft::review::build_review(&c).map_err(err)?;
            let stem = format!("经营分析-{month}");
            let mut files = Vec::new();
            let doc = d.doc();
            for ext in ["xlsx", "docx", "md"] {
                let p = out_dir.join(format!("{stem}.{ext}"));
                atomic_write(&p, |tmp| {
                    match ext {
                        "xlsx" => lodestar_draft::review::write_review_xlsx(&c, &data, tmp)?,
                        "docx" => lodestar_draft::docx::write_docx(&doc, tmp)?,
                        _ => std::fs::write(tmp, lodestar_draft::doc::to_markdown(&doc))?,
                    }
                    Ok(())
                })
                .map_err(|e| transient(format!("{e:#}")))?;
                files.push(p.display().to_string());
            }
            (d, files)
        };
        let md = lodestar_draft::doc::to_markdown(&draft.doc());
        let body = serde_json::json!({"title": draft.title, "subject": draft.subject, "files": files, "warnings": draft.warnings, "model": draft.model});
        let tokens = draft.tokens as i64;
        Ok(ItemOutput { body, files, draft: Some((draft, md)), tokens })
    }

    fn minutes(&mut self, item: &Item) -> Result<ItemOutput, ItemError> {
        let file = PathBuf::from(item.input["file"].as_str().unwrap_or(""));
        let date = item.input["date"]
            .as_str()
            .and_then(|d| parse_date(d).ok())
            .ok_or_else(|| permanent("invalid_request", "item has no valid date"))?;
        let limits = self.shared.ctx.config().map_err(|e| transient(format!("{e:#}")))?.limits;
        let text = lodestar_ledger::text::read_minutes_with(&file, &limits)
            .map_err(|e| permanent("invalid_request", e.to_string()))?;
        let g = self.generator(false)?;
        let dicts = self.shared.ctx.dicts().map_err(|e| transient(format!("{e:#}")))?;
        let mut own =
            lodestar_store::Store::open(&self.shared.ctx.home.db_path()).map_err(|e| transient(e.to_string()))?;
        let mut ledger = lodestar_ledger::Ledger::open(&mut own).map_err(|e| transient(e.to_string()))?;
        let opts = lodestar_ledger::ImportOptions {
            file: file.display().to_string(),
            meeting: item.input["meeting"].as_str().unwrap_or("经营分析会").to_string(),
            date,
            apply_updates: false,
            who: "batch".into(),
        };
        let rep = ledger.import(&text, &opts, &dicts, g.as_deref()).map_err(|e| transient(e.to_string()))?;
        let body = serde_json::to_value(&rep).map_err(|e| transient(e.to_string()))?;
        Ok(ItemOutput { body, files: vec![], draft: None, tokens: 0 })
    }
}

impl batch::ItemRunner for Runner<'_> {
    fn run(&mut self, item: &Item) -> Result<ItemOutput, ItemError> {
        let no_model = self.shared.model.is_none() && self.no_model_param(item);
        match item.kind.as_str() {
            "chat" => self.chat(item),
            "profile" | "review" => self.profile_or_review(item, no_model),
            "minutes" => self.minutes(item),
            k => Err(permanent("invalid_request", format!("unknown item kind `{k}`"))),
        }
    }
}

impl Runner<'_> {
    fn no_model_param(&self, item: &Item) -> bool {
        self.store
            .conn()
            .query_row("SELECT params FROM batches WHERE id = ?1", [&item.batch_id], |r| r.get::<_, String>(0))
            .ok()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
            .and_then(|p| p["no_model"].as_bool())
            .unwrap_or(false)
    }
}

/// `--until HH:MM` as an instant: today at that time, or tomorrow when it has passed.
fn until_instant(s: &str) -> Result<Instant> {
    let t = chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .with_context(|| format!("--until `{s}`: expected HH:MM"))?;
    let now = chrono::Local::now().naive_local();
    let mut at = now.date().and_time(t);
    if at <= now {
        at += chrono::Duration::days(1);
    }
    let secs = (at - now).num_seconds().max(0) as u64;
    Ok(Instant::now() + Duration::from_secs(secs))
}

fn manifest(ctx: &Ctx, model: Option<&str>) -> serde_json::Value {
    let (name, sha) = match model {
        Some(m) if m.ends_with(".gguf") && Path::new(m).is_file() => {
            (m.to_string(), lodestar_infer::store::sha256_file(Path::new(m), None).ok())
        }
        _ => match lodestar_infer::ModelStore::new(&ctx.models_dir)
            .and_then(|s| s.installed_spec(model, lodestar_infer::Role::Chat).cloned())
        {
            Ok(spec) => (spec.name.clone(), Some(spec.sha256.clone())),
            Err(_) => (model.unwrap_or("none").to_string(), None),
        },
    };
    serde_json::json!({
        "lodestar_version": env!("CARGO_PKG_VERSION"),
        "model": name,
        "model_sha256": sha,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "started_at": lodestar_store::now(),
    })
}

pub fn run(ctx: &Ctx, a: BatchArgs) -> Result<()> {
    let mut store = ctx.store()?;
    drafts::migrate(&mut store)?;
    batch::migrate(&mut store)?;
    let principal = ctx.principal(&store)?;
    match a.action {
        BatchAction::Submit(s) => submit(ctx, &store, s, &principal.name),
        BatchAction::Run { ids, until, model, parallel, out, threads } => {
            if let Some(t) = threads {
                lodestar_infer::set_threads(t);
            }
            let ids = if ids.is_empty() { batch::runnable(&store)? } else { ids };
            if ids.is_empty() {
                println!("nothing to run: no batch has pending items");
                return Ok(());
            }
            let batch_model: Option<String> =
                model.clone().or_else(|| ids.iter().find_map(|i| batch::status(&store, i).ok().and_then(|s| s.model)));
            let opts = RunOptions {
                until: until.as_deref().map(until_instant).transpose()?,
                who: principal.name.clone(),
                ..RunOptions::default()
            };
            let total: i64 = ids
                .iter()
                .filter_map(|i| batch::status(&store, i).ok())
                .map(|s| s.request_counts.total - s.request_counts.completed - s.request_counts.failed)
                .sum();
            let parallel = parallel.max(1);
            let shared = Shared {
                ctx,
                model: batch_model.clone(),
                slots: parallel,
                out_dir: out.unwrap_or_else(|| ctx.home.root().join("drafts")),
                generator: Mutex::new(None),
                retriever: Mutex::new(None),
            };
            let make = || -> Result<Box<dyn batch::ItemRunner + '_>, lodestar_draft::DraftError> {
                let store = ctx.store().map_err(|e| lodestar_draft::DraftError::Invalid(format!("{e:#}")))?;
                Ok(Box::new(Runner { shared: &shared, store, sources: None }))
            };
            let mut man = manifest(ctx, batch_model.as_deref());
            man["parallel"] = serde_json::json!(parallel);
            let tty = std::io::stderr().is_terminal() && !ctx.json;
            let bar = tty.then(|| {
                let b = indicatif::ProgressBar::new(total.max(0) as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} items · {msg} · ETA {eta}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            let (mut failed, mut tokens) = (0i64, 0i64);
            let sum = batch::run_parallel(&store, &ids, parallel, &make, &opts, &man, &mut |p| {
                tokens += p.tokens;
                if !p.ok {
                    failed += 1;
                }
                let rate = tokens as f64 / p.elapsed.as_secs_f64().max(0.001);
                match &bar {
                    Some(b) => {
                        b.inc(1);
                        b.set_message(format!("{failed} failed · {rate:.1} tok/s"));
                        if let Some(m) = &p.message {
                            b.println(format!("✗ {} {}: {m}", p.batch_id, p.custom_id));
                        }
                    }
                    None if !ctx.json => eprintln!(
                        "[{}] {} {} {} ({}/{} done, {} failed, {:.1} tok/s){}",
                        lodestar_store::now(),
                        p.batch_id,
                        if p.ok { "done" } else { "failed" },
                        p.custom_id,
                        p.done,
                        p.total,
                        p.failed,
                        rate,
                        p.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                    ),
                    None => {}
                }
            })?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            if ctx.json {
                return ctx.print_json(&sum);
            }
            println!(
                "{} completed, {} failed, {} pending in {:.1} s ({} tokens){}",
                sum.completed,
                sum.failed,
                sum.pending,
                sum.seconds,
                sum.tokens,
                if sum.expired { " — stopped at --until; the rest stays pending (expired)" } else { "" }
            );
            for id in &ids {
                println!("  {id}: {} — `lodestar batch report {id}`", batch::status(&store, id)?.status);
            }
            Ok(())
        }
        BatchAction::Status { id } => {
            let list = match id {
                Some(i) => vec![batch::status(&store, &i)?],
                None => batch::list(&store)?,
            };
            if ctx.json {
                return if list.len() == 1 { ctx.print_json(&list[0]) } else { ctx.print_json(&list) };
            }
            if list.is_empty() {
                println!("no batches");
            }
            for s in list {
                println!(
                    "{}  {:<9} {:<12} {}/{} completed, {} failed  created {}{}",
                    s.id,
                    s.kind,
                    s.status,
                    s.request_counts.completed,
                    s.request_counts.total,
                    s.request_counts.failed,
                    s.created_at,
                    s.finished_at.map(|f| format!(", finished {f}")).unwrap_or_default()
                );
            }
            Ok(())
        }
        BatchAction::Cancel { id } => {
            let s = batch::cancel(&store, &id, &principal.name)?;
            if ctx.json {
                return ctx.print_json(&s);
            }
            println!("{id} cancelled ({} of {} items completed)", s.request_counts.completed, s.request_counts.total);
            Ok(())
        }
        BatchAction::Results { id, out } => {
            let lines = batch::results(&store, &id)?;
            let mut text = String::new();
            for l in &lines {
                text.push_str(&serde_json::to_string(l)?);
                text.push('\n');
            }
            match out {
                Some(p) => {
                    atomic_write(&p, |tmp| Ok(std::fs::write(tmp, &text)?))?;
                    eprintln!("{} result lines written to {}", lines.len(), p.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        BatchAction::Report { id, out } => {
            let md = batch::report_markdown(&store, &id)?;
            match out {
                Some(p) => {
                    std::fs::write(&p, &md).with_context(|| format!("cannot write {}", p.display()))?;
                    eprintln!("report written to {}", p.display());
                }
                None => print!("{md}"),
            }
            Ok(())
        }
    }
}
