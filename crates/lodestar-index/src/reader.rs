//! Document readers (文档读取): Markdown / text with YAML-style front matter, Word `.docx`
//! (zip + XML), spreadsheets (`.xlsx` / `.xls` / `.xlsm` / `.ods`, each row with its header row),
//! and PDF text layers. Every reader produces Markdown so that one chunker serves all formats.

use crate::{IndexError, Result};
use lodestar_core::text::{docx, front_matter};
use lodestar_core::ReadLimits;
use std::path::Path;

/// The front matter of a knowledge file (between `---` lines at the top).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontMatter {
    /// `kb:` (knowledge base id or Chinese name), as written.
    pub kb: Option<String>,
    /// `title:`.
    pub title: Option<String>,
    /// `sensitivity:` / `密级:` (公开 / 内部 / 敏感 / 机密), as written.
    pub sensitivity: Option<String>,
    /// `date:`, as written.
    pub date: Option<String>,
    /// Country codes (`RU;KZ` or `[RU, KZ]`).
    pub countries: Vec<String>,
    /// `customer:` id.
    pub customer: Option<String>,
    /// `owner:` staff id.
    pub owner: Option<String>,
}

/// A document read from disk, before chunking.
#[derive(Debug, Clone)]
pub struct SourceText {
    /// The front matter (all `None` / empty when the file has none).
    pub meta: FrontMatter,
    /// Body as Markdown (headings, paragraphs, tables).
    pub body: String,
}

/// File extensions the readers understand.
pub const SUPPORTED: &[&str] = &["md", "markdown", "txt", "docx", "xlsx", "xlsm", "xls", "ods", "pdf"];

/// Whether the file's extension is one the readers understand ([`SUPPORTED`]).
pub fn is_supported(path: &Path) -> bool {
    extension(path).is_some_and(|e| SUPPORTED.contains(&e.as_str()))
}

fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase())
}

/// Reads one file into Markdown with its front matter.
pub fn read_file(path: &Path) -> Result<SourceText> {
    let bytes = std::fs::read(path).map_err(|source| IndexError::Io { path: path.into(), source })?;
    read_bytes(path, &bytes)
}

/// Like [`read_file`] for bytes already in memory (`path` gives the format and error context).
pub fn read_bytes(path: &Path, bytes: &[u8]) -> Result<SourceText> {
    read_bytes_with(path, bytes, &ReadLimits::default())
}

/// [`read_bytes`] under the given resource limits (`[limits]` of `config.toml`): a zip container
/// (`.docx`, `.xlsx`, `.ods`) is measured before it is opened, a sheet's dimensions before its
/// cells are read.
pub fn read_bytes_with(path: &Path, bytes: &[u8], limits: &ReadLimits) -> Result<SourceText> {
    let bad = |m: String| IndexError::Read { path: path.into(), message: m };
    match extension(path).as_deref() {
        Some("md" | "markdown" | "txt") => {
            let text = String::from_utf8_lossy(bytes);
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            Ok(split_front_matter(text))
        }
        Some("docx") => docx_to_markdown(bytes, limits).map_err(bad),
        Some("xlsx" | "xlsm" | "xls" | "ods") => sheet_to_markdown(path, bytes, limits).map_err(bad),
        Some("pdf") => pdf_to_text(bytes).map_err(bad),
        _ => Err(bad(format!("unsupported file type (supported: {})", SUPPORTED.join(", ")))),
    }
}

/// Splits `---\nkey: value\n---\n` off the top of a text (the text layer's
/// [`lodestar_core::text::front_matter`] parser; this maps the fields a knowledge file knows).
pub fn split_front_matter(text: &str) -> SourceText {
    let mut meta = FrontMatter::default();
    let Some((fields, body)) = front_matter::split(text) else {
        return SourceText { meta, body: text.to_string() };
    };
    for (k, v) in fields {
        let opt = || if v.is_empty() { None } else { Some(v.clone()) };
        match k.to_ascii_lowercase().as_str() {
            "kb" | "knowledge_base" => meta.kb = opt(),
            "title" => meta.title = opt(),
            "sensitivity" | "密级" => meta.sensitivity = opt(),
            "date" => meta.date = opt(),
            "country" | "countries" => {
                meta.countries = front_matter::list(&v).into_iter().map(|s| s.to_ascii_uppercase()).collect()
            }
            "customer" => meta.customer = opt(),
            "owner" => meta.owner = opt(),
            _ => {}
        }
    }
    SourceText { meta, body: body.to_string() }
}

/// `.docx`: paragraphs (heading styles become `#` levels) and tables (Markdown tables), read by the
/// text layer's one `.docx` reader ([`lodestar_core::text::docx`]); `word/document.xml` is read up
/// to `max_uncompressed_bytes`.
fn docx_to_markdown(bytes: &[u8], limits: &ReadLimits) -> std::result::Result<SourceText, String> {
    use docx::{Block, DocxLimits};
    let caps = DocxLimits { max_xml_bytes: limits.max_uncompressed_bytes, refuse_over: false, max_depth: None };
    let doc = docx::read(bytes, limits, caps)?;
    let mut out = String::new();
    for block in doc.blocks {
        match block {
            Block::Para { style, text } => {
                let text = text.replace('\t', " ");
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                if let Some(level) = style.as_deref().and_then(docx::heading_level) {
                    out.push_str(&"#".repeat(level));
                    out.push(' ');
                }
                out.push_str(text);
                out.push_str("\n\n");
            }
            Block::Table(rows) => {
                for (i, row) in rows.iter().enumerate() {
                    let row: Vec<String> = row.iter().map(|c| c.replace('\t', " ")).collect();
                    out.push_str(&docx::markdown_row(&row));
                    if i == 0 {
                        out.push_str(&docx::markdown_rule(row.len()));
                    }
                }
                out.push('\n');
            }
        }
    }
    Ok(SourceText { meta: FrontMatter { title: doc.title, ..Default::default() }, body: out })
}

/// Spreadsheets: each sheet becomes a section with one Markdown table; the first non-empty row is
/// the header, so every chunked row keeps it.
fn sheet_to_markdown(path: &Path, bytes: &[u8], limits: &ReadLimits) -> std::result::Result<SourceText, String> {
    // the import's workbook reader: the same container and dimension checks before any cell
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let grids = lodestar_ingest::workbook::read_sheets(bytes, &ext, limits).map_err(|f| f.0)?;
    let mut out = String::new();
    let sheets = grids.into_iter().map(|g| (g.name, g.range));
    for (name, range) in sheets {
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(cell_text).collect::<Vec<_>>())
            .filter(|r: &Vec<String>| r.iter().any(|c| !c.is_empty()))
            .collect();
        let Some((header, data)) = rows.split_first() else { continue };
        let width = header.len();
        out.push_str(&format!("## {name}\n\n"));
        out.push_str(&format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(width.max(1))));
        for r in data {
            let mut cells = r.clone();
            cells.resize(width, String::new());
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out.push('\n');
    }
    Ok(SourceText { meta: FrontMatter::default(), body: out })
}

fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    let s = match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt.as_datetime().map(|t| t.date().to_string()).unwrap_or_else(|| dt.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("{e:?}"),
    };
    s.replace('|', "/").replace(['\n', '\r'], " ").trim().to_string()
}

/// PDF text layer (no OCR). `pdf-extract` may panic on malformed files; that becomes an error.
/// The document is loaded here first so that what would make the extractor loop is refused
/// before it runs (see [`check_parent_chains`]).
fn pdf_to_text(bytes: &[u8]) -> std::result::Result<SourceText, String> {
    let owned = bytes.to_vec();
    let res = std::panic::catch_unwind(move || -> std::result::Result<String, String> {
        let mut doc = pdf_extract::Document::load_mem(&owned).map_err(|e| format!("PDF: {e}"))?;
        check_parent_chains(&doc)?;
        // as `pdf_extract::extract_text_from_mem` does: an empty user password is tried
        if doc.is_encrypted() {
            doc.decrypt("").map_err(|e| format!("PDF: encrypted ({e})"))?;
        }
        let mut text = String::new();
        {
            let mut out = pdf_extract::PlainTextOutput::new(&mut text);
            pdf_extract::output_doc(&doc, &mut out).map_err(|e| format!("PDF: {e}"))?;
        }
        Ok(text)
    });
    let text = match res {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err("PDF: the text layer could not be decoded".into()),
    };
    if text.trim().is_empty() {
        return Err("PDF has no text layer (scanned image?)".into());
    }
    // Pages are separated by form feeds; lines inside a paragraph are joined by the chunker.
    let body = text.replace('\u{c}', "\n\n");
    Ok(SourceText { meta: FrontMatter::default(), body })
}

/// Refuses a PDF in which an object's `/Parent` chain comes back to an object already on it. The
/// extractor looks a page's resources and media box up through its parents without counting the
/// steps, so a page that is its own parent made it loop for ever (a fuzzed file). Each object is
/// walked once: a chain that reached the top is not walked again.
fn check_parent_chains(doc: &pdf_extract::Document) -> std::result::Result<(), String> {
    use pdf_extract::{Object, ObjectId};
    use std::collections::HashSet;
    let parent = |id: ObjectId| -> Option<ObjectId> {
        let dict = match doc.objects.get(&id)? {
            Object::Dictionary(d) => d,
            Object::Stream(s) => &s.dict,
            _ => return None,
        };
        dict.get(b"Parent").ok()?.as_reference().ok()
    };
    let mut settled: HashSet<ObjectId> = HashSet::new();
    for &start in doc.objects.keys() {
        let mut path: Vec<ObjectId> = Vec::new();
        let mut on_path: HashSet<ObjectId> = HashSet::new();
        let mut at = Some(start);
        while let Some(id) = at {
            if settled.contains(&id) {
                break;
            }
            if !on_path.insert(id) {
                return Err(format!(
                    "PDF: the page tree loops (the /Parent chain of object {} {} comes back to object {} {})",
                    start.0, start.1, id.0, id.1
                ));
            }
            path.push(id);
            at = parent(id);
        }
        settled.extend(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestar_core::text::docx::heading_level;

    #[test]
    fn front_matter_fields() {
        let t = "---\nkb: product\ntitle: \"315/80R22.5 说明\"\nsensitivity: 内部\ndate: 2026-03-10\ncountry: RU;KZ;BY\nowner: S21\n---\n\n# 标题\n正文";
        let s = split_front_matter(t);
        assert_eq!(s.meta.kb.as_deref(), Some("product"));
        assert_eq!(s.meta.title.as_deref(), Some("315/80R22.5 说明"));
        assert_eq!(s.meta.sensitivity.as_deref(), Some("内部"));
        assert_eq!(s.meta.countries, vec!["RU", "KZ", "BY"]);
        assert_eq!(s.meta.customer, None);
        assert!(s.body.trim_start().starts_with("# 标题"));
    }

    #[test]
    fn no_front_matter_keeps_text() {
        let s = split_front_matter("# A\n---\nb");
        assert_eq!(s.meta, FrontMatter::default());
        assert_eq!(s.body, "# A\n---\nb");
    }

    #[test]
    fn heading_styles() {
        assert_eq!(heading_level("Heading2"), Some(2));
        assert_eq!(heading_level("标题 1"), Some(1));
        assert_eq!(heading_level("Normal"), None);
    }
}
