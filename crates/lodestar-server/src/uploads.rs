//! Uploads (上传): multipart reading under a size limit, the file type checked by its content,
//! zip archives (xlsx, xlsm, docx, ods) checked against zip bombs before any parser sees them, and
//! storage under `<home>/uploads/` with generated names — no path from the client is ever used.

use crate::error::ApiError;
use axum::extract::Multipart;
use axum::http::StatusCode;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Default largest upload (bytes): 50 MB.
pub const DEFAULT_UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

/// Limits on what a zip archive may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Entries in the archive.
    pub max_entries: usize,
    /// Sum of the entries' uncompressed sizes (bytes), declared and actually inflated.
    pub max_total: u64,
    /// Uncompressed / compressed of the whole archive.
    pub max_ratio: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self { max_entries: 20_000, max_total: 1024 * 1024 * 1024, max_ratio: 200 }
    }
}

/// The zip limits of `[limits]` in `config.toml`: entries, uncompressed bytes, compression ratio.
impl From<&lodestar_core::ReadLimits> for ZipLimits {
    fn from(l: &lodestar_core::ReadLimits) -> Self {
        Self {
            max_entries: usize::try_from(l.max_zip_entries).unwrap_or(usize::MAX),
            max_total: l.max_uncompressed_bytes,
            max_ratio: l.max_compression_ratio,
        }
    }
}

/// An uploaded file and the form's other fields.
#[derive(Debug, Default)]
pub struct Upload {
    /// The client's file name reduced to a safe base name (display only).
    pub name: String,
    /// Lower-case extension of that name (`xlsx`).
    pub ext: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The form's other fields, by name.
    pub fields: BTreeMap<String, String>,
}

impl Upload {
    /// A text field, trimmed; `None` when absent or empty.
    pub fn field(&self, k: &str) -> Option<&str> {
        self.fields.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        "upload_too_large",
        format!("upload over the limit of {} MB (文件超过上传大小限制)", limit / (1024 * 1024)),
    )
}

/// Reads a multipart form with one file part named `file`; more than `limit` bytes → 413.
pub async fn read(mut mp: Multipart, limit: usize) -> Result<Upload, ApiError> {
    let mut up = Upload::default();
    let mut have_file = false;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(limit)),
            Err(e) => return Err(ApiError::bad_request("bad_multipart", e.body_text())),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            if have_file {
                return Err(ApiError::bad_request("bad_multipart", "one file per upload"));
            }
            have_file = true;
            up.name = safe_name(field.file_name().unwrap_or(""));
            up.ext = extension(&up.name);
            let mut field = field;
            loop {
                match field.chunk().await {
                    Ok(Some(c)) => {
                        if up.bytes.len() + c.len() > limit {
                            return Err(too_large(limit));
                        }
                        up.bytes.extend_from_slice(&c);
                    }
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(limit)),
                    Err(e) => return Err(ApiError::bad_request("bad_multipart", e.body_text())),
                }
            }
        } else {
            let v = match field.text().await {
                Ok(v) => v,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(limit)),
                Err(e) => return Err(ApiError::bad_request("bad_multipart", e.body_text())),
            };
            if v.len() > 4096 {
                return Err(ApiError::bad_request("bad_multipart", format!("form field `{name}` is too long")));
            }
            up.fields.insert(name, v);
        }
    }
    if !have_file || up.bytes.is_empty() {
        return Err(ApiError::bad_request("no_file", "no file in the upload (form field `file`), or it is empty"));
    }
    Ok(up)
}

/// The base name of a client's file name with anything but letters, digits and `-_.()` replaced.
pub fn safe_name(client: &str) -> String {
    let base = client.rsplit(['/', '\\']).next().unwrap_or("");
    let mut s: String = base
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')') { c } else { '_' })
        .collect();
    while s.starts_with('.') {
        s.remove(0);
    }
    if s.chars().count() > 120 {
        let ext = extension(&s);
        let stem: String = s.chars().take(100).collect();
        s = if ext.is_empty() { stem } else { format!("{stem}.{ext}") };
    }
    if s.is_empty() || s.chars().all(|c| c == '_') {
        "upload".into()
    } else {
        s
    }
}

fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// What a file's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// OOXML workbook (xlsx, xlsm).
    Workbook,
    /// OpenDocument spreadsheet.
    Ods,
    /// OOXML document.
    Docx,
    /// OLE2 compound file (xls).
    Ole,
    /// PDF document.
    Pdf,
    /// Text (UTF-8, UTF-16 with BOM, GBK …): csv, md, txt.
    Text,
    /// Some other zip archive.
    OtherZip,
    /// Anything else.
    Binary,
}

impl Content {
    fn describe(self) -> &'static str {
        match self {
            Content::Workbook => "an Excel workbook (xlsx)",
            Content::Ods => "an OpenDocument spreadsheet (ods)",
            Content::Docx => "a Word document (docx)",
            Content::Ole => "an old-format Office file (xls/doc)",
            Content::Pdf => "a PDF",
            Content::Text => "plain text",
            Content::OtherZip => "a zip archive that is no Office file",
            Content::Binary => "binary data of an unknown kind",
        }
    }
    /// The extensions this content may carry.
    fn extensions(self) -> &'static [&'static str] {
        match self {
            Content::Workbook => &["xlsx", "xlsm"],
            Content::Ods => &["ods"],
            Content::Docx => &["docx"],
            Content::Ole => &["xls"],
            Content::Pdf => &["pdf"],
            Content::Text => &["csv", "md", "txt", "markdown"],
            Content::OtherZip | Content::Binary => &[],
        }
    }
}

fn unprocessable(code: &'static str, msg: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request_error", code, msg)
}

/// Entry names of a zip archive, after the bomb checks: declared sizes, entry count and ratio
/// first, then every entry actually inflated with a running cap (declared sizes can lie).
pub fn zip_entries(bytes: &[u8], limits: &ZipLimits) -> Result<Vec<String>, ApiError> {
    let bomb = |why: String| unprocessable("zip_bomb", format!("refused: {why} (疑似压缩炸弹，未解析)"));
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| unprocessable("unreadable", format!("not a readable zip archive: {e}")))?;
    if z.len() > limits.max_entries {
        return Err(bomb(format!(
            "{} entries in the archive, over the limit of {} (`[limits] max_zip_entries` in config.toml)",
            z.len(),
            limits.max_entries
        )));
    }
    let mut names = Vec::with_capacity(z.len());
    let mut declared: u64 = 0;
    for i in 0..z.len() {
        let f = z.by_index_raw(i).map_err(|e| unprocessable("unreadable", format!("zip entry {i}: {e}")))?;
        declared = declared.saturating_add(f.size());
        names.push(f.name().map(|n| n.into_owned()).unwrap_or_default());
    }
    let cap = limits.max_total.min((bytes.len() as u64).saturating_mul(limits.max_ratio).max(1024 * 1024));
    let keys = "`[limits] max_uncompressed_bytes` and `max_compression_ratio` in config.toml";
    if declared > cap {
        return Err(bomb(format!(
            "the archive declares {declared} bytes uncompressed, over the limit of {cap} ({keys})"
        )));
    }
    let mut inflated: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for (i, name) in names.iter().enumerate() {
        let mut f = z.by_index(i).map_err(|e| unprocessable("unreadable", format!("zip entry {i}: {e}")))?;
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => return Err(unprocessable("unreadable", format!("zip entry `{name}`: {e}"))),
            };
            inflated += n as u64;
            if inflated > cap {
                return Err(bomb(format!("the archive inflates past {cap} bytes ({keys})")));
            }
        }
    }
    Ok(names)
}

/// Sniffs the content of `bytes` (zip archives are bomb-checked on the way).
pub fn sniff(bytes: &[u8], limits: &ZipLimits) -> Result<Content, ApiError> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        let names = zip_entries(bytes, limits)?;
        let has = |n: &str| names.iter().any(|x| x == n);
        return Ok(if has("xl/workbook.xml") || has("xl/workbook.bin") {
            Content::Workbook
        } else if has("word/document.xml") {
            Content::Docx
        } else if has("mimetype") && has("content.xml") {
            Content::Ods
        } else {
            Content::OtherZip
        });
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Content::Ole);
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(Content::Pdf);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Ok(Content::Text);
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let controls = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C)).count();
    Ok(if !head.contains(&0) && controls * 100 <= head.len().max(1) { Content::Text } else { Content::Binary })
}

/// Checks that the upload is one of `allowed` (extensions) by name and by content; 415 if not.
pub fn check(up: &Upload, allowed: &[&str], limits: &ZipLimits) -> Result<Content, ApiError> {
    let unsupported =
        |msg: String| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request_error", "file_type", msg);
    if !allowed.contains(&up.ext.as_str()) {
        return Err(unsupported(format!(
            "`{}`: file type .{} is not accepted here (accepted: {})",
            up.name,
            up.ext,
            allowed.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(", ")
        )));
    }
    let content = sniff(&up.bytes, limits)?;
    if !content.extensions().contains(&up.ext.as_str()) {
        return Err(unsupported(format!(
            "`{}` is named .{} but its content is {} (文件内容与扩展名不符)",
            up.name,
            up.ext,
            content.describe()
        )));
    }
    Ok(content)
}

/// Stores the upload as `<home>/uploads/<area>/<time>-<random>/<safe name>` and returns the path.
pub fn store(home: &Path, area: &str, up: &Upload) -> Result<PathBuf, ApiError> {
    store_in(home, area, None, up)
}

/// [`store`] with one more folder level (`sub`, e.g. a knowledge-base id) under the upload's own.
pub fn store_in(home: &Path, area: &str, sub: Option<&str>, up: &Upload) -> Result<PathBuf, ApiError> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let token = lodestar_store::accounts::random_token(6);
    let token: String = token.chars().filter(|c| c.is_ascii_alphanumeric()).take(8).collect();
    let mut dir = home.join("uploads").join(area).join(format!("{stamp}-{token}"));
    if let Some(s) = sub {
        dir = dir.join(s);
    }
    std::fs::create_dir_all(&dir).map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(&up.name);
    let tmp = dir.join(format!(".{}.part", up.name));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &up.bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| ApiError::internal(format!("cannot store the upload: {e}")))?;
    Ok(path)
}

/// Removes an upload's folder again (the upload was refused after storing).
pub fn discard(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_paths_never_survive() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Users\\x\\销售 9月.xlsx"), "销售_9月.xlsx");
        assert_eq!(safe_name(".hidden.md"), "hidden.md");
        assert_eq!(safe_name(""), "upload");
        assert_eq!(safe_name("a/..."), "upload");
    }

    #[test]
    fn text_and_binary_are_told_apart() {
        let l = ZipLimits::default();
        assert_eq!(sniff("客户,金额\n甲,1".as_bytes(), &l).unwrap(), Content::Text);
        assert_eq!(sniff(&[0u8, 1, 2, 3, 0, 0, 7], &l).unwrap(), Content::Binary);
        assert_eq!(sniff(b"%PDF-1.7 ...", &l).unwrap(), Content::Pdf);
    }
}
