//! Supervisor and worker. The supervisor (the `lodestar-fuzz` command) generates inputs and hands
//! them one at a time to a worker process (`lodestar-fuzz --worker`) over a pipe; the worker runs
//! the reader with panics caught and answers one JSON line per input. The supervisor enforces the
//! per-input time limit (no answer in time: a hang; the worker is killed and restarted) and sees
//! crashes the worker cannot report itself (aborts after a refused allocation, stack overflows,
//! signals). A separate process is what makes hangs, aborts and memory caps survivable.

use crate::mutate::{Input, Mutator};
use crate::rng::Rng;
use crate::seeds::{self, Seed};
use crate::target::{self, Context, Outcome};
use crate::Reader;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Worker side

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The worker loop: reads framed inputs from stdin until EOF, answers one JSON line each.
pub fn worker_main(reader: Reader, dir: &Path) -> i32 {
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "(non-string panic payload)".to_string()
        };
        let loc = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or("?").to_string();
        if let Ok(mut p) = LAST_PANIC.lock() {
            *p = Some(format!("panicked at {loc} (thread {thread}): {msg}"));
        }
    }));
    let ctx = match Context::new(dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lodestar-fuzz worker: {e}");
            return 2;
        }
    };
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    loop {
        let Some((ext, bytes)) = read_frame(&mut stdin) else { return 0 };
        if let Ok(mut p) = LAST_PANIC.lock() {
            *p = None;
        }
        let base = crate::alloc::reset_peak();
        let t0 = Instant::now();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target::run(&ctx, reader, &ext, &bytes)));
        let ms = t0.elapsed().as_millis() as u64;
        let peak = crate::alloc::peak().saturating_sub(base) as u64;
        let (status, detail) = match res {
            Ok(Ok(Outcome::Read(s))) => ("read", s),
            Ok(Ok(Outcome::Refused(s))) => ("refused", s),
            Ok(Err(s)) => ("no-context", s),
            Err(payload) => {
                let last = LAST_PANIC.lock().ok().and_then(|p| p.clone());
                let msg = last.unwrap_or_else(|| {
                    payload.downcast_ref::<String>().cloned().unwrap_or_else(|| "panic".to_string())
                });
                ("panic", msg)
            }
        };
        let line = serde_json::json!({"status": status, "detail": detail, "ms": ms, "peak": peak});
        if writeln!(stdout, "{line}").and_then(|_| stdout.flush()).is_err() {
            return 0;
        }
    }
}

fn read_frame(r: &mut impl Read) -> Option<(String, Vec<u8>)> {
    let mut n = [0u8; 4];
    r.read_exact(&mut n).ok()?;
    let mut ext = vec![0u8; u32::from_le_bytes(n) as usize];
    r.read_exact(&mut ext).ok()?;
    let mut m = [0u8; 8];
    r.read_exact(&mut m).ok()?;
    let mut bytes = vec![0u8; u64::from_le_bytes(m) as usize];
    r.read_exact(&mut bytes).ok()?;
    Some((String::from_utf8_lossy(&ext).into_owned(), bytes))
}

fn write_frame(w: &mut impl Write, ext: &str, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(&(ext.len() as u32).to_le_bytes())?;
    w.write_all(ext.as_bytes())?;
    w.write_all(&(bytes.len() as u64).to_le_bytes())?;
    w.write_all(bytes)?;
    w.flush()
}

// ---------------------------------------------------------------------------------------------
// Supervisor side

/// Settings of a campaign or a replay.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `lodestar-fuzz` executable (it runs itself as the worker).
    pub exe: PathBuf,
    pub seconds: f64,
    pub seed: u64,
    /// Extra seed files (DIR/<reader>/ when that exists, else DIR).
    pub corpus: Option<PathBuf>,
    /// Where failing inputs are saved (DIR/<reader>/).
    pub save_failures: Option<PathBuf>,
    pub timeout: Duration,
    /// Per-allocation and total memory caps of the worker (bytes).
    pub max_alloc: usize,
    pub max_memory: usize,
    /// Stop after this many inputs.
    pub max_inputs: Option<u64>,
    /// Start with the mutated inputs (the seeds as they are are not run).
    pub skip_seeds: bool,
    pub verbose: bool,
}

/// One answer of the worker.
#[derive(Debug, Clone)]
pub enum Verdict {
    Read {
        detail: String,
        ms: u64,
        peak: u64,
    },
    Refused {
        detail: String,
        ms: u64,
        peak: u64,
    },
    /// A failure: its signature (what and where, for telling failures apart) and the details.
    Failure {
        kind: String,
        signature: String,
        detail: String,
    },
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    stderr_thread: Option<std::thread::JoinHandle<()>>,
}

const STDERR_KEEP: usize = 64 << 10;

impl Worker {
    fn spawn(cfg: &Config, reader: Reader, dir: &Path) -> std::io::Result<Worker> {
        let mut child = Command::new(&cfg.exe)
            .arg("--worker")
            .arg("--reader")
            .arg(reader.name())
            .arg("--scratch")
            .arg(dir)
            .arg("--max-alloc-mb")
            .arg((cfg.max_alloc >> 20).to_string())
            .arg("--max-memory-mb")
            .arg((cfg.max_memory >> 20).to_string())
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let keep = stderr.clone();
        let stderr_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut k) = keep.lock() {
                    k.extend(&buf[..n]);
                    while k.len() > STDERR_KEEP {
                        k.pop_front();
                    }
                }
            }
        });
        Ok(Worker { child, stdin, replies, stderr, stderr_thread: Some(stderr_thread) })
    }

    fn stderr_text(&mut self) -> String {
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
        let k = self.stderr.lock().map(|k| k.iter().copied().collect::<Vec<u8>>()).unwrap_or_default();
        String::from_utf8_lossy(&k).into_owned()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs inputs through workers of one reader, restarting a worker after it dies or hangs.
pub struct Runner<'a> {
    cfg: &'a Config,
    reader: Reader,
    dir: PathBuf,
    worker: Option<Worker>,
    /// CPU seconds the workers spent on inputs.
    pub cpu_used: f64,
}

/// A worker gets this many times the CPU time limit in wall time before it counts as hung anyway.
const WALL_FACTOR: f64 = 60.0;

/// User + system CPU seconds of a process (all its threads), from `/proc` (Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) may hold spaces: fields are counted after its closing paren
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

impl<'a> Runner<'a> {
    pub fn new(cfg: &'a Config, reader: Reader) -> Self {
        let dir = std::env::temp_dir().join(format!("lodestar-fuzz-{}-{}", std::process::id(), reader.name()));
        Self { cfg, reader, dir, worker: None, cpu_used: 0.0 }
    }

    pub fn run(&mut self, ext: &str, bytes: &[u8]) -> Verdict {
        if self.worker.is_none() {
            match Worker::spawn(self.cfg, self.reader, &self.dir) {
                Ok(w) => self.worker = Some(w),
                Err(e) => {
                    return Verdict::Failure {
                        kind: "harness".into(),
                        signature: "harness: worker does not start".into(),
                        detail: e.to_string(),
                    }
                }
            }
        }
        let w = self.worker.as_mut().expect("worker started");
        let pid = w.child.id();
        let cpu0 = cpu_seconds(pid);
        let t0 = Instant::now();
        let sent = write_frame(&mut w.stdin, ext, bytes);
        // The time limit is on the worker's CPU time, so that a busy machine (other processes,
        // `nice`) does not turn slow answers into hangs; wall time gets a generous limit too.
        let limit = self.cfg.timeout.as_secs_f64();
        let reply = match sent {
            Ok(()) => loop {
                match w.replies.recv_timeout(self.cfg.timeout.min(Duration::from_secs(1))) {
                    Err(RecvTimeoutError::Timeout) => {
                        let cpu = match (cpu0, cpu_seconds(pid)) {
                            (Some(a), Some(b)) => b - a,
                            _ => t0.elapsed().as_secs_f64(),
                        };
                        if cpu >= limit || t0.elapsed().as_secs_f64() >= limit * WALL_FACTOR {
                            break Err((cpu, t0.elapsed().as_secs_f64()));
                        }
                    }
                    Ok(line) => break Ok(line),
                    Err(RecvTimeoutError::Disconnected) => break Ok(String::new()),
                }
            },
            Err(_) => Ok(String::new()),
        };
        self.cpu_used += match (cpu0, cpu_seconds(pid)) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        match reply {
            Ok(line) if !line.is_empty() => parse_reply(&line, ext),
            Err((cpu, wall)) => {
                let mut w = self.worker.take().expect("worker started");
                w.kill();
                Verdict::Failure {
                    kind: "hang".into(),
                    signature: format!("hang: over {limit} s of CPU on .{ext}"),
                    detail: format!("no answer after {cpu:.1} s of CPU ({wall:.1} s wall); the worker was killed"),
                }
            }
            Ok(_) => {
                let mut w = self.worker.take().expect("worker started");
                let status = w.child.wait().map(|s| format!("{s}")).unwrap_or_else(|e| e.to_string());
                let err = w.stderr_text();
                let (kind, signature) = classify_crash(&err, &status, ext);
                let tail: String =
                    err.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
                Verdict::Failure { kind, signature, detail: format!("worker exited ({status}); stderr:\n{tail}") }
            }
        }
    }
}

impl Drop for Runner<'_> {
    fn drop(&mut self) {
        if let Some(mut w) = self.worker.take() {
            w.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn parse_reply(line: &str, ext: &str) -> Verdict {
    let v: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return Verdict::Failure {
                kind: "harness".into(),
                signature: "harness: unreadable worker answer".into(),
                detail: format!("{e}: {line}"),
            }
        }
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    match s("status").as_str() {
        "read" => Verdict::Read { detail: s("detail"), ms: n("ms"), peak: n("peak") },
        "refused" => Verdict::Refused { detail: s("detail"), ms: n("ms"), peak: n("peak") },
        "no-context" => {
            let d = s("detail");
            let head = d.split(": ").next().unwrap_or(&d);
            Verdict::Failure {
                kind: "error without the file".into(),
                signature: format!("error without the file name: {} (.{ext})", shape(head)),
                detail: d,
            }
        }
        _ => {
            let d = s("detail");
            // "panicked at FILE:LINE:COL (thread …): msg" → FILE:LINE
            let loc = d
                .strip_prefix("panicked at ")
                .and_then(|r| r.split(' ').next())
                .map(|l| l.rsplit_once(':').map(|(a, _)| a).unwrap_or(l).to_string())
                .unwrap_or_else(|| shape(&d));
            Verdict::Failure { kind: "panic".into(), signature: format!("panic at {loc} (.{ext})"), detail: d }
        }
    }
}

/// A message with its variable parts blurred (digits, quoted text), cut short: for telling
/// failures apart.
fn shape(msg: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    for c in msg.chars() {
        match c {
            '"' | '`' => {
                in_quote = !in_quote;
                if in_quote {
                    out.push_str("\"…\"");
                }
            }
            _ if in_quote => {}
            '0'..='9' => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            _ => out.push(c),
        }
        if out.chars().count() >= 70 {
            break;
        }
    }
    out
}

/// What a dead worker's stderr says: a refused allocation (with the first frames of the
/// backtrace outside the allocator and the standard library), a stack overflow, or a crash.
fn classify_crash(stderr: &str, status: &str, ext: &str) -> (String, String) {
    if let Some(p) = stderr.find("lodestar-fuzz: allocation of ") {
        let frames = interesting_frames(&stderr[p..], 2);
        return (
            "allocation over the cap".into(),
            format!("allocation over the cap in {} (.{ext})", frames.join(" < ")),
        );
    }
    if stderr.contains("has overflowed its stack") {
        return ("stack overflow".into(), format!("stack overflow (.{ext})"));
    }
    if stderr.contains("memory allocation of") {
        return ("allocation failed".into(), format!("allocation failed (.{ext})"));
    }
    ("crash".into(), format!("crash: {status} (.{ext})"))
}

fn interesting_frames(bt: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in bt.lines() {
        let t = line.trim();
        let Some((num, name)) = t.split_once(": ") else { continue };
        if !num.chars().all(|c| c.is_ascii_digit()) || num.is_empty() {
            continue;
        }
        let name = name.trim();
        let name = match name.rfind("::h") {
            Some(i) if name[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => &name[..i],
            _ => name,
        };
        let boring = [
            "std::",
            "core::",
            "alloc::",
            "<alloc::",
            "<core::",
            "<std::",
            "lodestar_fuzz::alloc",
            "<lodestar_fuzz::alloc",
            "__rust",
            "rust_",
            "__rdl",
            "backtrace",
        ];
        let allocator = ["refuse", "grew", "alloc", "alloc_zeroed", "realloc", "dealloc", "main"];
        if boring.iter().any(|b| name.starts_with(b)) || allocator.contains(&name) {
            continue;
        }
        out.push(name.to_string());
        if out.len() == n {
            break;
        }
    }
    if out.is_empty() {
        out.push("(no symbol)".into());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Campaigns

/// A distinct failure: first input that showed it and how often it came back.
#[derive(Debug, Clone, Serialize)]
pub struct FailureRecord {
    pub kind: String,
    pub signature: String,
    pub detail: String,
    pub count: u64,
    pub first_input: u64,
    pub trail: Vec<String>,
    pub saved: Option<PathBuf>,
}

/// What a campaign on one reader did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub reader: String,
    pub seed: u64,
    pub seconds: f64,
    /// CPU seconds the workers spent on the inputs.
    pub cpu_seconds: f64,
    pub inputs: u64,
    pub read: u64,
    pub refused: u64,
    pub failed: u64,
    /// Largest memory growth of one input (bytes) and the slowest input (ms).
    pub max_peak_bytes: u64,
    pub max_ms: u64,
    /// The slowest input and the one with the largest memory growth: index, extension, mutations.
    pub slowest: Option<(u64, String, Vec<String>)>,
    pub largest: Option<(u64, String, Vec<String>)>,
    /// Inputs per extension.
    pub by_ext: BTreeMap<String, u64>,
    pub failures: Vec<FailureRecord>,
}

/// Seeds of a reader: the built-in ones plus the corpus files with its extensions.
pub fn load_seeds(reader: Reader, corpus: Option<&Path>) -> Vec<Seed> {
    let mut out = seeds::seeds(reader);
    if let Some(dir) = corpus {
        let sub = dir.join(reader.name());
        let root = if sub.is_dir() { sub } else { dir.to_path_buf() };
        let mut files = Vec::new();
        collect_files(&root, &mut files);
        files.sort();
        for f in files {
            let ext = f.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default();
            if reader.extensions().contains(&ext.as_str()) {
                if let Ok(bytes) = std::fs::read(&f) {
                    let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                    out.push(Seed { name, ext, bytes });
                }
            }
        }
    }
    out
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Fuzzes one reader for `cfg.seconds` (or `cfg.max_inputs`): the seeds as they are first, then
/// mutated inputs.
pub fn campaign(cfg: &Config, reader: Reader) -> Report {
    let seeds = load_seeds(reader, cfg.corpus.as_deref());
    let n_seeds = seeds.len() as u64;
    let mutator = Mutator::new(seeds, reader.extensions());
    let mut runner = Runner::new(cfg, reader);
    let mut report = Report {
        reader: reader.name().into(),
        seed: cfg.seed,
        seconds: 0.0,
        cpu_seconds: 0.0,
        inputs: 0,
        read: 0,
        refused: 0,
        failed: 0,
        max_peak_bytes: 0,
        max_ms: 0,
        slowest: None,
        largest: None,
        by_ext: BTreeMap::new(),
        failures: Vec::new(),
    };
    let t0 = Instant::now();
    let mut last_progress = Instant::now();
    let mut i = if cfg.skip_seeds { n_seeds } else { 0 };
    while t0.elapsed().as_secs_f64() < cfg.seconds && cfg.max_inputs.is_none_or(|m| report.inputs < m) {
        let input = nth_input(&mutator, n_seeds, cfg.seed, reader, i);
        let verdict = runner.run(&input.ext, &input.bytes);
        *report.by_ext.entry(input.ext.clone()).or_default() += 1;
        record(cfg, &mut report, reader, i, &input, verdict);
        i += 1;
        if cfg.verbose && last_progress.elapsed() > Duration::from_secs(30) {
            last_progress = Instant::now();
            eprintln!(
                "[{}] {:.0} s: {} inputs ({} read, {} refused, {} failed, {} distinct)",
                reader,
                t0.elapsed().as_secs_f64(),
                report.inputs,
                report.read,
                report.refused,
                report.failed,
                report.failures.len()
            );
        }
    }
    report.seconds = t0.elapsed().as_secs_f64();
    report.cpu_seconds = runner.cpu_used;
    report
}

/// Input `i` of a campaign: the seeds as they are first, then mutated inputs.
fn nth_input(mutator: &Mutator, n_seeds: u64, seed: u64, reader: Reader, i: u64) -> Input {
    if i < n_seeds {
        let s = &mutator.seeds()[i as usize];
        Input { ext: s.ext.clone(), bytes: s.bytes.clone(), trail: vec![format!("seed {}.{} as it is", s.name, s.ext)] }
    } else {
        mutator.generate(&mut Rng::for_input(seed, reader as u64, i))
    }
}

/// Input `index` of a campaign on `reader` with `cfg.seed` (and `cfg.corpus`), without running it:
/// for keeping an input that was slow or large as a regression file.
pub fn input_at(cfg: &Config, reader: Reader, index: u64) -> Input {
    let seeds = load_seeds(reader, cfg.corpus.as_deref());
    let n_seeds = seeds.len() as u64;
    nth_input(&Mutator::new(seeds, reader.extensions()), n_seeds, cfg.seed, reader, index)
}

fn record(cfg: &Config, report: &mut Report, reader: Reader, index: u64, input: &Input, verdict: Verdict) {
    report.inputs += 1;
    match verdict {
        Verdict::Read { ms, peak, .. } | Verdict::Refused { ms, peak, .. } => {
            if matches!(verdict, Verdict::Read { .. }) {
                report.read += 1;
            } else {
                report.refused += 1;
            }
            let who = || Some((index, input.ext.clone(), input.trail.clone()));
            if ms > report.max_ms || report.slowest.is_none() {
                report.max_ms = ms;
                report.slowest = who();
            }
            if peak > report.max_peak_bytes || report.largest.is_none() {
                report.max_peak_bytes = peak;
                report.largest = who();
            }
        }
        Verdict::Failure { kind, signature, detail } => {
            report.failed += 1;
            if let Some(f) = report.failures.iter_mut().find(|f| f.signature == signature) {
                f.count += 1;
                return;
            }
            let saved = cfg
                .save_failures
                .as_ref()
                .and_then(|d| save_failure(&d.join(reader.name()), &signature, &detail, input, index, cfg.seed));
            if cfg.verbose {
                eprintln!(
                    "[{reader}] NEW FAILURE #{}: {signature}\n    {}",
                    report.failures.len() + 1,
                    detail.lines().next().unwrap_or("")
                );
            }
            report.failures.push(FailureRecord {
                kind,
                signature,
                detail,
                count: 1,
                first_input: index,
                trail: input.trail.clone(),
                saved,
            });
        }
    }
}

/// A file-name-safe short form of a signature, with a hash to keep it unique.
pub fn slug(signature: &str) -> String {
    let mut s: String = signature
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    s.truncate(70);
    let h = signature.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    format!("{s}-{:08x}", h as u32)
}

fn save_failure(dir: &Path, signature: &str, detail: &str, input: &Input, index: u64, seed: u64) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let base = slug(signature);
    let file = dir.join(format!("{base}.{}", input.ext));
    std::fs::write(&file, &input.bytes).ok()?;
    let note = format!(
        "signature: {signature}\ninput: --seed {seed}, index {index}, .{}, {} bytes\nmutations:\n  {}\n\n{detail}\n",
        input.ext,
        input.bytes.len(),
        input.trail.join("\n  ")
    );
    std::fs::write(dir.join(format!("{base}.note")), note).ok()?;
    Some(file)
}

/// Replays files through a reader (each once); returns each file's verdict.
pub fn replay(cfg: &Config, reader: Reader, files: &[PathBuf]) -> Vec<(PathBuf, Verdict)> {
    let mut runner = Runner::new(cfg, reader);
    files
        .iter()
        .map(|f| {
            let ext = f.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default();
            let v = match std::fs::read(f) {
                Ok(bytes) => runner.run(&ext, &bytes),
                Err(e) => Verdict::Failure {
                    kind: "harness".into(),
                    signature: "harness: unreadable file".into(),
                    detail: e.to_string(),
                },
            };
            (f.clone(), v)
        })
        .collect()
}

/// Files under `dir` that are inputs: not the `.note` files beside them, not a README.
pub fn regression_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.retain(|f| {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        !name.starts_with('.') && !name.ends_with(".note") && name != "README.md"
    });
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_slugs() {
        assert_eq!(shape("row 12: \"abc\" bad 3.5"), "row #: \"…\" bad #.#");
        let s = slug("panic at crates/x/src/y.rs:12 (.xlsx)");
        assert!(s.starts_with("panic-at-crates-x-src-y-rs-12-xlsx-"), "{s}");
        let bt = "lodestar-fuzz: allocation of 99 bytes refused\n   0: std::backtrace::Backtrace::force_capture\n   1: lodestar_fuzz::alloc::refuse::h0123456789abcdef\n   2: alloc::raw_vec::finish_grow\n   3: calamine::Range<T>::from_sparse::habcdefabcdefabcd\n             at src/lib.rs:1\n   4: lodestar_ingest::workbook::read_sheets\n";
        assert_eq!(
            interesting_frames(bt, 2),
            vec!["calamine::Range<T>::from_sparse", "lodestar_ingest::workbook::read_sheets"]
        );
    }
}
