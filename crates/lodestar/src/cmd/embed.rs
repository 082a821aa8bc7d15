//! `lodestar embed [--query] TEXT…`: embeds texts with the local e5 model and prints dimensions,
//! norms and the cosine table.

use crate::Ctx;
use anyhow::Result;
use lodestar_core::model::{EmbedKind, Embedder};
use lodestar_infer::bert::cosine;

#[derive(clap::Args)]
pub struct EmbedArgs {
    /// Texts to embed
    #[arg(required = true)]
    pub texts: Vec<String>,
    /// Embed as search queries ("query: " prefix) instead of passages ("passage: ")
    #[arg(long)]
    pub query: bool,
    /// Embedding model name (default: the manifest's default embedder)
    #[arg(long)]
    pub model: Option<String>,
    /// CPU threads (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(ctx: &Ctx, args: EmbedArgs) -> Result<()> {
    if let Some(t) = args.threads {
        lodestar_infer::set_threads(t);
    }
    let kind = if args.query { EmbedKind::Query } else { EmbedKind::Passage };
    // a remote embedding model registered in this home
    if let Some(spec) =
        args.model.as_deref().and_then(|n| lodestar_remote::Registry::load(ctx.home.root()).ok()?.get(n).cloned())
    {
        if spec.role != lodestar_remote::RemoteRole::Embed {
            anyhow::bail!("remote model `{}` is a chat model, not an embedding model", spec.name);
        }
        let e = lodestar_remote::RemoteEmbedder::new(spec)?;
        let texts: Vec<&str> = args.texts.iter().map(|s| s.as_str()).collect();
        let vecs = e.embed(&texts, kind)?;
        if ctx.json {
            return ctx.print_json(&serde_json::json!({"model": e.name(), "dim": e.dim(), "embeddings": vecs}));
        }
        for (t, v) in texts.iter().zip(&vecs) {
            println!("{} dimensions · norm {:.4} · {t}", v.len(), v.iter().map(|x| x * x).sum::<f32>().sqrt());
        }
        return Ok(());
    }
    let e = lodestar_infer::open_bert(&ctx.models_dir, args.model.as_deref())?;
    let texts: Vec<&str> = args.texts.iter().map(|s| s.as_str()).collect();
    let t0 = std::time::Instant::now();
    let vecs = e.embed(&texts, kind)?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let norms: Vec<f32> = vecs.iter().map(|v| v.iter().map(|x| x * x).sum::<f32>().sqrt()).collect();
    let cos: Vec<Vec<f32>> = vecs.iter().map(|a| vecs.iter().map(|b| cosine(a, b)).collect()).collect();
    if ctx.json {
        let items: Vec<_> = texts
            .iter()
            .zip(&vecs)
            .zip(&norms)
            .map(|((t, v), n)| serde_json::json!({"text": t, "tokens": e.count_tokens(t, kind), "norm": n, "embedding": v}))
            .collect();
        return ctx.print_json(&serde_json::json!({
            "model": e.name(), "dim": e.dim(), "mode": if args.query { "query" } else { "passage" },
            "ms": ms, "texts": items, "cosine": cos
        }));
    }
    println!(
        "model {} · {} dimensions · {} texts as {} · {:.0} ms",
        e.name(),
        e.dim(),
        texts.len(),
        if args.query { "queries" } else { "passages" },
        ms
    );
    for (i, (t, n)) in texts.iter().zip(&norms).enumerate() {
        println!("[{}] norm {:.4} · {} tokens · {}", i + 1, n, e.count_tokens(t, kind), t);
    }
    if texts.len() > 1 {
        print!("\ncosine");
        for j in 0..texts.len() {
            print!(" {:>7}", format!("[{}]", j + 1));
        }
        println!();
        for (i, row) in cos.iter().enumerate() {
            print!("{:<6}", format!("[{}]", i + 1));
            for c in row {
                print!(" {c:>7.4}");
            }
            println!();
        }
    }
    Ok(())
}
