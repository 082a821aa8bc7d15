//! `lodestar-fuzz`: fuzzes the readers of user files on stable Rust.
//!
//! ```text
//! cargo run -p lodestar-fuzz --release -- --budget 20s --reader all
//! lodestar-fuzz --reader xlsx --budget 5m --seed 7 --save-failures target/fuzz-failures
//! lodestar-fuzz --replay crates/lodestar-fuzz/regressions
//! ```
//!
//! See `docs/fuzzing.md`.
//!
//! Exit status: 0 when no input failed, 1 when some did, 2 on a usage error.

use clap::Parser;
use lodestar_fuzz::harness::{self, Config, Verdict};
use lodestar_fuzz::{alloc, Reader};
use std::path::PathBuf;
use std::time::Duration;

#[global_allocator]
static GLOBAL: alloc::CappedAlloc = alloc::CappedAlloc;

#[derive(Parser, Debug)]
#[command(
    name = "lodestar-fuzz",
    about = "Fuzz the readers of user files (workbooks, CSV lists, minutes, knowledge documents)",
    after_help = "Prints, per reader, the inputs tried, how they ended (read / refused with an error / failed) and each \
distinct failure; a failing input is written to <save-failures>/<reader>/ with a .note beside it. \
Exit status: 0 when no input failed, 1 when some did, 2 on a usage error. See docs/fuzzing.md."
)]
struct Args {
    /// workbook (alias xlsx) | csv | minutes | knowledge (alias kb) | all
    #[arg(long, default_value = "all")]
    reader: String,
    /// Time budget per reader: `20s`, `5m`, `1h` or plain seconds (same as --seconds).
    #[arg(long, value_parser = parse_budget, conflicts_with = "seconds")]
    budget: Option<f64>,
    /// Time budget per reader, in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Seed of the mutation engine (the same seed gives the same inputs).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Extra seed files: DIR/<reader>/ when it exists, else DIR (files with the reader's extensions).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Save each distinct failure's input (and a `.note`) under DIR/<reader>/ [default:
    /// crates/lodestar-fuzz/regressions, where the regression test replays them].
    #[arg(long)]
    save_failures: Option<PathBuf>,
    /// Save no failing input.
    #[arg(long, conflicts_with = "save_failures")]
    no_save: bool,
    /// Per-input limit in seconds of the worker's CPU time; an input that takes longer is a hang
    /// (as is one that takes 60 times as long in wall time).
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Largest single allocation a reader may ask for, in MiB.
    #[arg(long, default_value_t = 1024)]
    max_alloc_mb: usize,
    /// Memory cap of the worker process (live heap), in MiB.
    #[arg(long, default_value_t = 2048)]
    max_memory_mb: usize,
    /// Stop after this many inputs per reader.
    #[arg(long)]
    max_inputs: Option<u64>,
    /// Run only mutated inputs (not the seeds as they are first).
    #[arg(long)]
    skip_seeds: bool,
    /// Replay these files (or every file under these folders) once instead of fuzzing.
    #[arg(long, num_args = 1..)]
    replay: Vec<PathBuf>,
    /// Write the reports as JSON to FILE.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write input N of the campaign (--reader, --seed) to the save folder's <reader>/input-N.<ext>
    /// and its mutations to a `.note` beside it, and exit: for keeping a slow or large input.
    #[arg(long, value_name = "N")]
    dump_input: Option<u64>,
    /// Write the built-in seeds to DIR/<reader>/ and exit.
    #[arg(long)]
    write_seeds: Option<PathBuf>,
    /// Progress and each new failure on stderr.
    #[arg(long, short)]
    verbose: bool,
    /// (internal) Run as the worker process of a supervisor.
    #[arg(long, hide = true)]
    worker: bool,
    /// (internal) The worker's scratch folder.
    #[arg(long, hide = true)]
    scratch: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let readers: Vec<Reader> = if args.reader == "all" {
        Reader::ALL.to_vec()
    } else {
        match Reader::parse(&args.reader) {
            Some(r) => vec![r],
            None => {
                eprintln!("unknown reader `{}` (workbook/xlsx, csv, minutes, knowledge/kb or all)", args.reader);
                std::process::exit(2);
            }
        }
    };
    if args.worker {
        alloc::set_caps(args.max_alloc_mb << 20, args.max_memory_mb << 20);
        let dir = args
            .scratch
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("lodestar-fuzz-{}", std::process::id())));
        std::process::exit(harness::worker_main(readers[0], &dir));
    }
    if let Some(dir) = &args.write_seeds {
        for r in &readers {
            let d = dir.join(r.name());
            std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("cannot create {}: {e}", d.display()));
            for s in lodestar_fuzz::seeds::seeds(*r) {
                let p = d.join(format!("{}.{}", s.name, s.ext));
                std::fs::write(&p, &s.bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
            }
        }
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot find this executable: {e}");
            std::process::exit(2);
        }
    };
    let cfg = Config {
        exe,
        seconds: args.budget.unwrap_or(args.seconds),
        seed: args.seed,
        corpus: args.corpus.clone(),
        save_failures: if args.no_save {
            None
        } else {
            Some(
                args.save_failures
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("regressions")),
            )
        },
        timeout: Duration::from_secs_f64(args.timeout),
        max_alloc: args.max_alloc_mb << 20,
        max_memory: args.max_memory_mb << 20,
        max_inputs: args.max_inputs,
        skip_seeds: args.skip_seeds,
        verbose: args.verbose,
    };
    if let Some(n) = args.dump_input {
        let dir = cfg.save_failures.clone().unwrap_or_else(|| PathBuf::from(".")).join(readers[0].name());
        let input = harness::input_at(&cfg, readers[0], n);
        let file = dir.join(format!("input-{n}.{}", input.ext));
        let note = format!(
            "input: --seed {}, index {n}, .{}\nmutations:\n  {}\n",
            cfg.seed,
            input.ext,
            input.trail.join("\n  ")
        );
        let written = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&file, &input.bytes))
            .and_then(|_| std::fs::write(file.with_extension("note"), note));
        match written {
            Ok(()) => println!("{}", file.display()),
            Err(e) => {
                eprintln!("cannot write {}: {e}", file.display());
                std::process::exit(2);
            }
        }
        return;
    }
    if !args.replay.is_empty() {
        std::process::exit(replay(&cfg, &args, &readers));
    }
    let mut reports = Vec::new();
    let mut failed = false;
    for r in readers {
        let rep = harness::campaign(&cfg, r);
        println!(
            "{:<9} {:>8} inputs in {:>7.1} s ({:.1} s CPU in the worker, {:.1}/s): {} read, {} refused with an error, {} failed ({} distinct); slowest {} ms, largest growth {} MiB",
            rep.reader,
            rep.inputs,
            rep.seconds,
            rep.cpu_seconds,
            rep.inputs as f64 / rep.seconds.max(1e-9),
            rep.read,
            rep.refused,
            rep.failed,
            rep.failures.len(),
            rep.max_ms,
            rep.max_peak_bytes >> 20
        );
        if args.verbose {
            for (what, x) in [("slowest", &rep.slowest), ("largest growth", &rep.largest)] {
                if let Some((i, ext, trail)) = x {
                    println!("  {what}: input {i} (.{ext}: {})", trail.join("; "));
                }
            }
        }
        for f in &rep.failures {
            failed = true;
            println!("  FAILURE ×{}: {}", f.count, f.signature);
            println!("    first: input {} ({})", f.first_input, f.trail.join("; "));
            for l in f.detail.lines().take(12) {
                println!("    | {l}");
            }
            if let Some(p) = &f.saved {
                println!("    saved: {}", p.display());
            }
        }
        reports.push(rep);
    }
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&reports).expect("reports serialize");
        if let Err(e) = std::fs::write(p, text) {
            eprintln!("cannot write {}: {e}", p.display());
        }
    }
    std::process::exit(i32::from(failed));
}

/// `--replay`: each file once through its reader (`--reader`, or the name of a folder on the
/// file's path: regressions/<reader>/…).
fn replay(cfg: &Config, args: &Args, readers: &[Reader]) -> i32 {
    let mut files = Vec::new();
    for p in &args.replay {
        if p.is_dir() {
            files.extend(harness::regression_files(p));
        } else {
            files.push(p.clone());
        }
    }
    let mut failed = 0;
    let mut by_reader: Vec<(Reader, Vec<PathBuf>)> = Vec::new();
    for f in files {
        let named = f.ancestors().find_map(|a| a.file_name().and_then(|n| Reader::parse(&n.to_string_lossy())));
        let r = if args.reader == "all" { named } else { Some(readers[0]) };
        let Some(r) = r else {
            eprintln!("{}: which reader? (use --reader or put it under a folder named after one)", f.display());
            failed += 1;
            continue;
        };
        match by_reader.iter_mut().find(|(x, _)| *x == r) {
            Some((_, v)) => v.push(f),
            None => by_reader.push((r, vec![f])),
        }
    }
    for (r, files) in by_reader {
        for (f, v) in harness::replay(cfg, r, &files) {
            match v {
                Verdict::Read { detail, ms, .. } => println!("ok       {r:<9} {} ({ms} ms): {detail}", f.display()),
                Verdict::Refused { detail, ms, .. } => {
                    println!(
                        "refused  {r:<9} {} ({ms} ms): {}",
                        f.display(),
                        detail.chars().take(200).collect::<String>()
                    )
                }
                Verdict::Failure { signature, detail, .. } => {
                    failed += 1;
                    println!("FAILED   {r:<9} {}: {signature}", f.display());
                    for l in detail.lines().take(12) {
                        println!("    | {l}");
                    }
                }
            }
        }
    }
    i32::from(failed > 0)
}

/// `20s`, `5m`, `1h`, `90` (seconds) → seconds.
fn parse_budget(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('s') => (&t[..t.len() - 1], 1.0),
        Some('m') => (&t[..t.len() - 1], 60.0),
        Some('h') => (&t[..t.len() - 1], 3600.0),
        _ => (t, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * mult),
        _ => Err(format!("`{s}` is not a duration (e.g. 20s, 5m, 1h)")),
    }
}
