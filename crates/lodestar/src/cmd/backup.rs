//! `lodestar backup --out FILE` and `lodestar restore FILE --home DIR`.
//!
//! The archive is a zip file: `home/lodestar.db` (a consistent copy made with SQLite's online
//! backup API, so the web server may keep writing), `home/index/…` (the knowledge index),
//! `home/config.toml`, `home/remote_models.toml`, `home/dictionaries/…` and the home's files —
//! `home/uploads/…` (what the web server received), `home/drafts/…` (profiles and review
//! material) and `home/reports/…` (benchmark reports) — when present, and `manifest.json`
//! listing every file with its size and SHA-256. Restore verifies every file against the
//! manifest before it touches the home, and refuses a non-empty home without `--force`.

use crate::Ctx;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

const FORMAT: &str = "lodestar-backup";
const VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
/// Archive paths of the home's files start with this.
const PREFIX: &str = "home/";
/// Whole files and folders of the home that a backup carries besides the database and index.
const HOME_FILES: [&str; 2] = ["config.toml", "remote_models.toml"];
/// Folders of files the home keeps for people (uploads received, drafts written, reports): copied
/// as they are; a file removed while the backup runs is left out.
const HOME_FOLDERS: [&str; 3] = ["uploads", "drafts", "reports"];
/// What restore replaces in a home (with `--force`); the files of [`HOME_FOLDERS`] in the archive
/// replace those of the same name, and other files in those folders stay.
const RESTORED: [&str; 7] =
    ["lodestar.db", "lodestar.db-wal", "lodestar.db-shm", "index", "dictionaries", "config.toml", "remote_models.toml"];

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The archive to write (a zip file; replaced when it exists)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// An archive written by `lodestar backup`
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Restore into a home that is not empty, replacing its database, index, config and
    /// dictionaries (files of the backup's uploads/, drafts/ and reports/ replace those of the
    /// same name; other files there stay)
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    created_at: String,
    lodestar_version: String,
    /// The home the backup was taken from.
    source_home: String,
    files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ManifestFile {
    path: String,
    size: u64,
    sha256: String,
}

/// A staging folder beside `near`, removed when dropped.
struct Staging(PathBuf);

impl Staging {
    fn beside(near: &Path, what: &str) -> Result<Self> {
        let parent = near.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = near.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = parent.join(format!(".{name}.{what}-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut entries: Vec<_> = std::fs::read_dir(from)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if skip(&p) {
            continue;
        }
        let ty = e.file_type()?;
        if ty.is_dir() {
            copy_tree(&p, &to.join(e.file_name()), skip)?;
        } else if ty.is_file() {
            std::fs::copy(&p, to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// Copies a folder of the home's files while the server may add or discard some: a file or
/// folder that vanishes between the listing and the copy is left out (a discarded upload), any
/// other error stops the backup. Symbolic links are not followed.
fn copy_files_live(from: &Path, to: &Path) -> std::io::Result<()> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut entries: Vec<_> = match std::fs::read_dir(from) {
        Ok(d) => d.filter_map(|e| e.ok()).collect(),
        Err(e) if gone(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    std::fs::create_dir_all(to)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let (p, dst) = (e.path(), to.join(e.file_name()));
        let ty = match e.file_type() {
            Ok(t) => t,
            Err(err) if gone(&err) => continue,
            Err(err) => return Err(err),
        };
        let res = if ty.is_dir() {
            copy_files_live(&p, &dst)
        } else if ty.is_file() && !not_backed_up(&p) {
            std::fs::copy(&p, &dst).map(|_| ())
        } else {
            Ok(())
        };
        match res {
            Err(err) if gone(&err) => {
                let _ = std::fs::remove_file(&dst);
            }
            other => other?,
        }
    }
    Ok(())
}

/// Copies the index folder while another process may be writing it. Its saves are ordered —
/// BM25 commit, then `vectors.bin` (temp + rename) and the graph dump with its marker last, then
/// `catalog.json` (temp + rename) — so the catalogue is copied first and everything after it is at
/// least as new: orphan vectors are dropped and a newer BM25 commit is rebuilt from the catalogue
/// when the restored index is opened. A file that vanishes mid-copy (a BM25 merge) or a graph dump
/// that changes under the copy starts it again.
fn copy_index(from: &Path, to: &Path) -> Result<()> {
    let mut last_err = None;
    for _ in 0..5 {
        let _ = std::fs::remove_dir_all(to);
        std::fs::create_dir_all(to)?;
        match copy_index_once(from, to) {
            Ok(true) => return Ok(()),
            Ok(false) => last_err = Some(anyhow!("the vector graph changed during the copy")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => last_err = Some(e.into()),
            Err(e) => return Err(e).with_context(|| format!("cannot copy {}", from.display())),
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow!("no attempt made"))).context("the index kept changing during the backup")
}

/// Files of the index folder a backup leaves out: temp files and locks of a running writer, and a
/// damaged vector file the doctor moved aside.
fn not_backed_up(p: &Path) -> bool {
    let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    n.ends_with(".tmp") || n.ends_with(".lock") || n == "vectors.bin.damaged"
}

/// One try of [`copy_index`]: `Ok(false)` when the graph dump changed under it.
fn copy_index_once(from: &Path, to: &Path) -> std::io::Result<bool> {
    let cat = from.join("catalog.json");
    if cat.exists() {
        std::fs::copy(&cat, to.join("catalog.json"))?;
    }
    let marker = std::fs::read(from.join("vectors.graph.ok")).ok();
    let mut entries: Vec<_> = std::fs::read_dir(from)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name();
        if not_backed_up(&p) || name == "catalog.json" || name == "vectors.graph.ok" {
            continue;
        }
        if e.file_type()?.is_dir() {
            copy_tree(&p, &to.join(&name), &not_backed_up)?;
        } else {
            std::fs::copy(&p, to.join(&name))?;
        }
    }
    if marker != std::fs::read(from.join("vectors.graph.ok")).ok() {
        return Ok(false);
    }
    if let Some(m) = marker {
        std::fs::write(to.join("vectors.graph.ok"), m)?;
    }
    Ok(true)
}

/// Files under `dir`, relative paths with `/`, sorted.
fn files_under(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                walk(root, &p, out)?;
            } else if e.file_type()?.is_file() {
                let rel: Vec<String> = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), p));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

pub fn run_backup(ctx: &Ctx, args: BackupArgs) -> Result<()> {
    let home = &ctx.home;
    let db = home.db_path();
    if !db.exists() {
        bail!("no database at {}: nothing to back up", db.display());
    }
    let stage = Staging::beside(&args.out, "backup")?;
    let staged = stage.0.join("home");
    std::fs::create_dir_all(&staged)?;
    lodestar_store::health::backup_database(&db, &staged.join("lodestar.db"))
        .with_context(|| format!("cannot copy the database {}", db.display()))?;
    if home.index_dir().is_dir() {
        copy_index(&home.index_dir(), &staged.join("index"))?;
    }
    for f in HOME_FILES {
        let p = home.root().join(f);
        if p.is_file() {
            std::fs::copy(&p, staged.join(f)).with_context(|| format!("cannot copy {}", p.display()))?;
        }
    }
    if home.dict_dir().is_dir() {
        copy_tree(&home.dict_dir(), &staged.join("dictionaries"), &|_| false)
            .with_context(|| format!("cannot copy {}", home.dict_dir().display()))?;
    }
    for folder in HOME_FOLDERS {
        let p = home.root().join(folder);
        if p.is_dir() {
            copy_files_live(&p, &staged.join(folder)).with_context(|| format!("cannot copy {}", p.display()))?;
        }
    }

    let files = files_under(&staged)?;
    let tmp = stage.0.join("archive.zip");
    let out = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(out));
    let mut manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created_at: lodestar_store::now(),
        lodestar_version: env!("CARGO_PKG_VERSION").into(),
        source_home: home.root().display().to_string(),
        files: Vec::with_capacity(files.len()),
    };
    let mut buf = vec![0u8; 1 << 16];
    for (rel, path) in &files {
        let name = format!("{PREFIX}{rel}");
        let size = std::fs::metadata(path)?.len();
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(size > u32::MAX as u64 / 2);
        zip.start_file(name.as_str(), opts)?;
        let mut f = std::fs::File::open(path)?;
        let mut h = Sha256::new();
        let mut n = 0u64;
        loop {
            let k = f.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            zip.write_all(&buf[..k])?;
            n += k as u64;
        }
        manifest.files.push(ManifestFile { path: name, size: n, sha256: hex::encode(h.finalize()) });
    }
    zip.start_file(MANIFEST, zip::write::SimpleFileOptions::default())?;
    zip.write_all(&serde_json::to_vec_pretty(&manifest)?)?;
    let w = zip.finish()?;
    let file = w.into_inner().map_err(|e| anyhow!("cannot write {}: {}", tmp.display(), e.error()))?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, &args.out)
        .or_else(|_| std::fs::copy(&tmp, &args.out).map(|_| ()))
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let bytes = std::fs::metadata(&args.out)?.len();
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "archive": args.out.display().to_string(),
            "bytes": bytes,
            "created_at": manifest.created_at,
            "files": manifest.files,
        }));
    }
    let data: u64 = manifest.files.iter().map(|f| f.size).sum();
    println!(
        "backed up {} ({} files, {:.1} MB) to {} ({:.1} MB)",
        home.root().display(),
        manifest.files.len(),
        data as f64 / 1e6,
        args.out.display(),
        bytes as f64 / 1e6
    );
    Ok(())
}

/// Moves the files under `from` into `to`, replacing files of the same name and leaving the
/// others in `to` alone (the home's uploads, drafts and reports on `restore --force`).
fn merge_into(from: &Path, to: &Path) -> Result<()> {
    for (rel, src) in files_under(from)? {
        let dst = to.join(&rel);
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        if dst.is_dir() {
            std::fs::remove_dir_all(&dst).with_context(|| format!("cannot replace {}", dst.display()))?;
        }
        std::fs::rename(&src, &dst).with_context(|| format!("cannot move {} into place", dst.display()))?;
    }
    Ok(())
}

/// An archive path that stays inside the home: `home/` then plain names only.
fn safe_rel(name: &str) -> Option<PathBuf> {
    let rel = name.strip_prefix(PREFIX)?;
    let p = Path::new(rel);
    if rel.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(p.to_path_buf())
}

type Archive = zip::ZipArchive<std::io::BufReader<std::fs::File>>;

fn open_archive(file: &Path) -> Result<(Archive, Manifest)> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f))
        .with_context(|| format!("{} is not a readable lodestar backup (not a whole zip archive)", file.display()))?;
    let manifest: Manifest = {
        let mut m = zip
            .by_name(MANIFEST)
            .map_err(|_| anyhow!("{} is not a lodestar backup: it has no {MANIFEST}", file.display()))?;
        let mut s = Vec::new();
        m.read_to_end(&mut s).with_context(|| format!("{MANIFEST} of {} is damaged", file.display()))?;
        serde_json::from_slice(&s).with_context(|| format!("{MANIFEST} of {} is damaged", file.display()))?
    };
    if manifest.format != FORMAT {
        bail!("{} is not a lodestar backup (format `{}`)", file.display(), manifest.format);
    }
    if manifest.version > VERSION {
        bail!(
            "{} is a backup of format version {}; this lodestar reads up to {VERSION}",
            file.display(),
            manifest.version
        );
    }
    Ok((zip, manifest))
}

/// Reads one archive entry, checking it against the manifest; with `to`, writes it there too.
fn verify_entry(zip: &mut Archive, f: &ManifestFile, to: Option<&Path>) -> Result<()> {
    let fail = |why: String| anyhow!("archive file {} failed verification: {why}; nothing was restored", f.path);
    let mut e = zip.by_name(&f.path).map_err(|_| fail("it is missing from the archive".into()))?;
    let mut out = match to {
        Some(p) => {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir)?;
            }
            Some(std::io::BufWriter::new(std::fs::File::create(p)?))
        }
        None => None,
    };
    let mut h = Sha256::new();
    let mut n = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = e.read(&mut buf).map_err(|err| fail(format!("unreadable ({err})")))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
        if let Some(w) = out.as_mut() {
            w.write_all(&buf[..k])?;
        }
    }
    if n != f.size {
        return Err(fail(format!("{n} bytes, the manifest says {}", f.size)));
    }
    let sum = hex::encode(h.finalize());
    if sum != f.sha256 {
        return Err(fail(format!("SHA-256 {sum}, the manifest says {}", f.sha256)));
    }
    if let Some(w) = out {
        w.into_inner().map_err(|e| anyhow!("cannot write {}: {}", f.path, e.error()))?.sync_all()?;
    }
    Ok(())
}

pub fn run_restore(ctx: &Ctx, args: RestoreArgs) -> Result<()> {
    let home = &ctx.home;
    let (mut zip, manifest) = open_archive(&args.file)?;

    // 1. verify everything before touching the home
    let listed: std::collections::HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for i in 0..zip.len() {
        let e = zip.by_index_raw(i)?;
        let name = e.name()?.into_owned();
        if !e.is_dir() && name != MANIFEST && !listed.contains(name.as_str()) {
            bail!("archive file {name} is not in the manifest; nothing was restored");
        }
    }
    if !manifest.files.iter().any(|f| f.path == format!("{PREFIX}lodestar.db")) {
        bail!("{} holds no database ({PREFIX}lodestar.db); nothing was restored", args.file.display());
    }
    for f in &manifest.files {
        if safe_rel(&f.path).is_none() {
            bail!("archive file {} has a path outside the home; nothing was restored", f.path);
        }
        verify_entry(&mut zip, f, None)?;
    }

    // 2. the home must be empty, or --force
    let root = home.root();
    let non_empty = std::fs::read_dir(root).map(|mut d| d.next().is_some()).unwrap_or(false);
    if non_empty && !args.force {
        bail!(
            "{} is not empty; restore into an empty or new folder, or add --force to replace its database, index, config and dictionaries (and the files of uploads/, drafts/ and reports/ the backup holds)",
            root.display()
        );
    }
    if root.exists() && !root.is_dir() {
        bail!("{} is not a folder", root.display());
    }

    // 3. extract beside the home (same file system), checking again while writing, then move in
    let stage = Staging::beside(root, "restore")?;
    for f in &manifest.files {
        let rel = safe_rel(&f.path).expect("checked above");
        verify_entry(&mut zip, f, Some(&stage.0.join(&rel)))?;
    }
    home.ensure().with_context(|| format!("cannot create {}", root.display()))?;
    for name in RESTORED {
        let p = root.join(name);
        if p.is_dir() {
            std::fs::remove_dir_all(&p).with_context(|| format!("cannot replace {}", p.display()))?;
        } else if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot replace {}", p.display()))?;
        }
    }
    let mut top: Vec<_> = std::fs::read_dir(&stage.0)?.collect::<std::io::Result<_>>()?;
    top.sort_by_key(|e| e.file_name());
    for e in top {
        let to = root.join(e.file_name());
        if HOME_FOLDERS.iter().any(|f| e.file_name() == *f) && to.is_dir() {
            merge_into(&e.path(), &to)?;
        } else {
            std::fs::rename(e.path(), &to).with_context(|| format!("cannot move {} into place", to.display()))?;
        }
    }
    drop(stage);

    // 4. the restored home must pass the doctor's checks
    let rep = crate::cmd::doctor::diagnose(home, false);
    let problems: Vec<String> =
        rep.checks.iter().flat_map(|c| c.remaining.iter().map(move |r| format!("{}: {r}", c.name))).collect();
    let report = serde_json::json!({
            "home": root.display().to_string(),
            "archive": args.file.display().to_string(),
            "created_at": manifest.created_at,
            "source_home": manifest.source_home,
            "files": manifest.files.len(),
            "verified": true,
            "problems": problems,
    });
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        println!(
            "restored {} files (backup of {} taken {}) into {}; every checksum verified",
            manifest.files.len(),
            manifest.source_home,
            manifest.created_at,
            root.display()
        );
    }
    if !problems.is_empty() {
        eprintln!("error: the restored home has problems (see `lodestar doctor`): {}", problems.join("; "));
        std::process::exit(1);
    }
    Ok(())
}
