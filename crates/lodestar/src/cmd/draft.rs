//! `lodestar draft …`: customer profiles and the monthly business-review material, drafted from
//! the rule engine and the knowledge bases (lodestar-draft), stored as `needs_review`, and the
//! review workflow (list, show, approve, reject, edit, stats).

use crate::cmd::ask::{open_generator, open_parts};
use crate::Ctx;
use anyhow::{bail, Context as _, Result};
use lodestar_core::{Generator, Month, Role};
use lodestar_draft::{store as drafts, Context, Draft};
use lodestar_metrics::MetricsEngine;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct DraftArgs {
    #[command(subcommand)]
    action: DraftAction,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// Chat model for the connecting prose (default: the manifest's default chat model)
    #[arg(long)]
    model: Option<String>,
    /// Template sentences instead of model prose
    #[arg(long)]
    no_model: bool,
    /// CPU threads for the model (default: all cores)
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Subcommand)]
enum DraftAction {
    /// Customer profiles (客户画像): name customers, or --top N by year-to-date sales
    Profile {
        /// Customer ids or names
        customers: Vec<String>,
        /// The N largest customers by year-to-date sales
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        /// Data month YYYY-MM (default: the latest month with data)
        #[arg(long)]
        month: Option<String>,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value = "md", value_parser = ["md", "docx", "json"])]
        format: String,
        /// Output folder (default: <home>/drafts)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// The monthly business-review material (经营分析会材料初稿): xlsx with charts, docx and md
    Review {
        /// Data month YYYY-MM (default: the latest month with data)
        #[arg(long)]
        month: Option<String>,
        #[command(flatten)]
        model: ModelArgs,
        /// Output folder (default: <home>/drafts)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Stored drafts
    List {
        /// needs_review, edited, approved or rejected
        #[arg(long)]
        status: Option<String>,
    },
    /// One draft: its status, files, and text (the edited text when there is one)
    Show { id: i64 },
    /// Approve a draft after review
    Approve { id: i64 },
    /// Reject a draft, saying why
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Store the reviewer's edited version (Markdown file); the AI text is kept
    Edit {
        id: i64,
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// AI 输出可用率 (approved ÷ reviewed) and how much reviewers changed
    Stats,
}

/// What drafts are built from: the dictionaries, the config and the rule engine (with the
/// config's field sensitivities).
pub(crate) fn sources(
    ctx: &Ctx,
    store: &lodestar_store::Store,
) -> Result<(lodestar_dict::Dictionaries, lodestar_core::config::Config, MetricsEngine)> {
    let dicts = ctx.dicts()?;
    let config = ctx.config()?;
    let engine = MetricsEngine::load(store, &dicts)?.with_field_sensitivity(config.fields.clone());
    Ok((dicts, config, engine))
}

/// `--month`, else the latest month with data.
pub(crate) fn month_of(engine: &MetricsEngine, s: Option<&str>) -> Result<Month> {
    match s {
        Some(m) => Ok(m.parse::<Month>().with_context(|| format!("--month `{m}`: expected YYYY-MM"))?),
        None => engine.latest_month().context("no sales data imported yet (run `lodestar import`)"),
    }
}

fn generator(ctx: &Ctx, m: &ModelArgs) -> Option<Arc<dyn Generator>> {
    if let Some(t) = m.threads {
        lodestar_infer::set_threads(t);
    }
    if m.no_model {
        return None;
    }
    match open_generator(ctx, m.model.as_deref()) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("chat model not available ({e:#}): template sentences instead (--no-model)");
            None
        }
    }
}

fn write_files(draft: &Draft, dir: &Path, stem: &str, formats: &[&str]) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let doc = draft.doc();
    let mut files = Vec::new();
    for f in formats {
        let path = dir.join(format!("{stem}.{f}"));
        match *f {
            "md" => std::fs::write(&path, lodestar_draft::doc::to_markdown(&doc))?,
            "docx" => lodestar_draft::docx::write_docx(&doc, &path)?,
            "json" => std::fs::write(&path, serde_json::to_string_pretty(draft)?)?,
            _ => continue,
        }
        files.push(path.display().to_string());
    }
    Ok(files)
}

pub fn run(ctx: &Ctx, a: DraftArgs) -> Result<()> {
    let mut store = ctx.store()?;
    drafts::migrate(&mut store)?;
    let principal = ctx.principal(&store)?;
    match a.action {
        DraftAction::Profile { customers, top, month, model, format, out } => {
            if customers.is_empty() && top.is_none() {
                bail!("name customers (ids or names) or give --top N");
            }
            let (dicts, config, engine) = sources(ctx, &store)?;
            let month = month_of(&engine, month.as_deref())?;
            let darc = Arc::new(dicts.clone());
            let parts = open_parts(&ctx.home.db_path(), &ctx.home.index_dir(), &darc, &config, &ctx.models_dir)?;
            for w in &parts.warnings {
                eprintln!("note: {w}");
            }
            let gen = generator(ctx, &model);
            let c = Context {
                store: &store,
                dicts: &dicts,
                engine: &engine,
                config: &config,
                retriever: parts.retriever.as_deref(),
                generator: gen.as_deref(),
                principal: principal.clone(),
                month,
                as_of: Context::as_of_for(month),
            };
            let mut names = customers;
            if let Some(n) = top {
                names.extend(lodestar_draft::profile::top_customers(&c, n)?);
            }
            let dir = out.unwrap_or_else(|| ctx.home.root().join("drafts"));
            let formats: Vec<&str> = if format == "json" { vec!["json", "md"] } else { vec![format.as_str(), "md"] };
            let mut formats = formats;
            formats.dedup();
            let mut results = Vec::new();
            let t0 = std::time::Instant::now();
            for (i, name) in names.iter().enumerate() {
                let t = std::time::Instant::now();
                let draft = lodestar_draft::profile::build_profile(&c, name)?;
                let stem = format!("客户画像-{}-{}", draft.subject, month);
                let files = write_files(&draft, &dir, &stem, &formats)?;
                let md = lodestar_draft::doc::to_markdown(&draft.doc());
                let id = drafts::save(&store, &draft, &md, &files, &principal.name)?;
                if !ctx.json {
                    eprintln!(
                        "[{}/{}] draft {id}: {} — {} ({:.1} s){}",
                        i + 1,
                        names.len(),
                        draft.title,
                        files.first().map(String::as_str).unwrap_or(""),
                        t.elapsed().as_secs_f64(),
                        if draft.warnings.is_empty() {
                            String::new()
                        } else {
                            format!(", {} warnings", draft.warnings.len())
                        }
                    );
                }
                let mut v = serde_json::to_value(&draft)?;
                v["id"] = id.into();
                v["files"] = serde_json::json!(files);
                results.push(v);
            }
            if ctx.json {
                return ctx.print_json(&results);
            }
            println!(
                "{} profiles in {:.1} s, written to {} (status needs_review; `lodestar draft list`)",
                results.len(),
                t0.elapsed().as_secs_f64(),
                dir.display()
            );
            Ok(())
        }
        DraftAction::Review { month, model, out } => {
            let (dicts, config, engine) = sources(ctx, &store)?;
            let month = month_of(&engine, month.as_deref())?;
            let gen = generator(ctx, &model);
            let c = Context {
                store: &store,
                dicts: &dicts,
                engine: &engine,
                config: &config,
                retriever: None,
                generator: gen.as_deref(),
                principal: principal.clone(),
                month,
                as_of: Context::as_of_for(month),
            };
            let t = std::time::Instant::now();
            let (draft, data) = lodestar_draft::review::build_review(&c)?;
            let dir = out.unwrap_or_else(|| ctx.home.root().join("drafts"));
            let stem = format!("经营分析-{month}");
            let mut files = write_files(&draft, &dir, &stem, &["docx", "md"])?;
            let xlsx = dir.join(format!("{stem}.xlsx"));
            lodestar_draft::review::write_review_xlsx(&c, &data, &xlsx)?;
            files.insert(0, xlsx.display().to_string());
            let md = lodestar_draft::doc::to_markdown(&draft.doc());
            let id = drafts::save(&store, &draft, &md, &files, &principal.name)?;
            if ctx.json {
                let mut v = serde_json::to_value(&draft)?;
                v["id"] = id.into();
                v["files"] = serde_json::json!(files);
                return ctx.print_json(&v);
            }
            println!("draft {id}: {} ({:.1} s, status needs_review)", draft.title, t.elapsed().as_secs_f64());
            for f in &files {
                println!("  {f}");
            }
            for w in &draft.warnings {
                println!("⚠ {w}");
            }
            Ok(())
        }
        DraftAction::List { status } => {
            let rows = drafts::list(&store, status.as_deref())?;
            if ctx.json {
                return ctx.print_json(&rows);
            }
            if rows.is_empty() {
                println!("no drafts{}", status.map(|s| format!(" with status {s}")).unwrap_or_default());
            }
            for d in rows {
                println!("{:>4}  {:<12} {:<8} {:<7} {:<40} {}", d.id, d.status, d.kind, d.month, d.title, d.created_at);
            }
            Ok(())
        }
        DraftAction::Show { id } => {
            let d = drafts::get(&store, id)?;
            if ctx.json {
                let mut v = serde_json::to_value(&d)?;
                v["draft"] = drafts::draft_json(&store, id)?;
                return ctx.print_json(&v);
            }
            println!("draft {} · {} · {} · {}", d.id, d.kind, d.status, d.title);
            if let Some(r) = &d.reviewer {
                println!(
                    "reviewer {r} at {}{}",
                    d.reviewed_at.as_deref().unwrap_or(""),
                    d.reason.as_deref().map(|x| format!(" — {x}")).unwrap_or_default()
                );
            }
            for f in &d.files {
                println!("file {f}");
            }
            println!();
            println!("{}", d.edited_text.as_deref().or(d.ai_text.as_deref()).unwrap_or(""));
            Ok(())
        }
        DraftAction::Approve { id } | DraftAction::Reject { id, .. } | DraftAction::Edit { id, .. }
            if ![Role::Admin, Role::Ops].contains(&principal.role) =>
        {
            bail!("reviewing draft {id} needs the role admin or ops ({} is {})", principal.name, principal.role)
        }
        DraftAction::Approve { id } => {
            let d = drafts::approve(&store, id, &principal.name)?;
            if ctx.json {
                return ctx.print_json(&d);
            }
            println!("draft {id} approved by {}", principal.name);
            Ok(())
        }
        DraftAction::Reject { id, reason } => {
            let d = drafts::reject(&store, id, &principal.name, &reason)?;
            if ctx.json {
                return ctx.print_json(&d);
            }
            println!("draft {id} rejected by {}: {reason}", principal.name);
            Ok(())
        }
        DraftAction::Edit { id, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let d = drafts::edit(&store, id, &principal.name, &text)?;
            if ctx.json {
                return ctx.print_json(&d);
            }
            println!(
                "draft {id}: edited text stored ({} of the characters changed); approve or reject it next",
                d.edit_share
                    .as_deref()
                    .map(|s| format!("{:.1}%", s.parse::<f64>().unwrap_or(0.0) * 100.0))
                    .unwrap_or_default()
            );
            Ok(())
        }
        DraftAction::Stats => {
            let s = drafts::stats(&store)?;
            if ctx.json {
                return ctx.print_json(&s);
            }
            let pct = |x: &Option<String>| {
                x.as_deref()
                    .and_then(|v| v.parse::<f64>().ok())
                    .map(|v| format!("{:.2}%", v * 100.0))
                    .unwrap_or_else(|| "—".into())
            };
            println!(
                "drafts {} · needs review {} · edited {} · approved {} · rejected {}",
                s.drafts, s.needs_review, s.edited, s.approved, s.rejected
            );
            println!("AI 输出可用率 {} (approved ÷ reviewed, {} reviewed)", pct(&s.usable_rate), s.reviewed);
            println!("mean share of characters edited {}", pct(&s.mean_edit_share));
            Ok(())
        }
    }
}
