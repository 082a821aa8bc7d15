//! Document readers (文档读取): Markdown / text with YAML-style front matter, Word `.docx`
//! (zip + XML), spreadsheets (`.xlsx` / `.xls` / `.xlsm` / `.ods`, each row with its header row),
//! and PDF text layers. Every reader produces Markdown so that one chunker serves all formats.

use crate::{IndexError, Result};
use lodestar_core::ReadLimits;
use std::io::Read;
use std::path::Path;

/// The front matter of a knowledge file (between `---` lines at the top).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontMatter {
    pub kb: Option<String>,
    pub title: Option<String>,
    pub sensitivity: Option<String>,
    pub date: Option<String>,
    /// Country codes (`RU;KZ` or `[RU, KZ]`).
    pub countries: Vec<String>,
    pub customer: Option<String>,
    pub owner: Option<String>,
}

/// A document read from disk, before chunking.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub meta: FrontMatter,
    /// Body as Markdown (headings, paragraphs, tables).
    pub body: String,
}

/// File extensions the readers understand.
pub const SUPPORTED: &[&str] = &["md", "markdown", "txt", "docx", "xlsx", "xlsm", "xls", "ods", "pdf"];

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

/// Splits `---\nkey: value\n---\n` off the top of a text.
pub fn split_front_matter(text: &str) -> SourceText {
    let mut meta = FrontMatter::default();
    let trimmed = text.trim_start_matches(['\n', '\r']);
    let Some(rest) = trimmed.strip_prefix("---") else {
        return SourceText { meta, body: text.to_string() };
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let Some(rest) = rest.strip_prefix('\n').or_else(|| rest.strip_prefix("\r\n")) else {
        return SourceText { meta, body: text.to_string() };
    };
    let mut end = None;
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" || line.trim_end() == "..." {
            end = Some((pos, pos + line.len()));
            break;
        }
        pos += line.len();
    }
    let Some((head_end, body_start)) = end else {
        return SourceText { meta, body: text.to_string() };
    };
    for line in rest[..head_end].lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let v = unquote(v.trim());
        let opt = || if v.is_empty() { None } else { Some(v.to_string()) };
        match k.trim().to_ascii_lowercase().as_str() {
            "kb" | "knowledge_base" => meta.kb = opt(),
            "title" => meta.title = opt(),
            "sensitivity" | "密级" => meta.sensitivity = opt(),
            "date" => meta.date = opt(),
            "country" | "countries" => {
                meta.countries = v
                    .trim_matches(['[', ']'])
                    .split([';', ',', '；', '，'])
                    .map(|s| unquote(s.trim()).to_ascii_uppercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "customer" => meta.customer = opt(),
            "owner" => meta.owner = opt(),
            _ => {}
        }
    }
    SourceText { meta, body: rest[body_start..].to_string() }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// `.docx`: paragraphs (heading styles become `#` levels) and tables (Markdown tables).
fn docx_to_markdown(bytes: &[u8], limits: &ReadLimits) -> std::result::Result<SourceText, String> {
    use quick_xml::events::Event;
    limits.check_zip(bytes).map_err(|e| e.0)?;
    let cap = limits.max_uncompressed_bytes;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a docx (zip): {e}"))?;
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .map_err(|e| format!("no word/document.xml: {e}"))?
        .take(cap)
        .read_to_string(&mut xml)
        .map_err(|e| format!("word/document.xml: {e}"))?;
    let mut title = None;
    if let Ok(f) = zip.by_name("docProps/core.xml") {
        let mut core = String::new();
        if f.take(cap).read_to_string(&mut core).is_ok() {
            title = xml_element_text(&core, "dc:title").filter(|t| !t.trim().is_empty());
        }
    }
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = String::new();
    let mut para = String::new();
    let mut style: Option<String> = None;
    let mut in_text = false;
    let mut table_depth = 0usize;
    let mut row: Vec<String> = Vec::new();
    let mut rows_in_table = 0usize;
    let mut cell = String::new();
    loop {
        match reader.read_event() {
            Err(e) => return Err(format!("word/document.xml: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => match e.name().as_ref() {
                "w:t" => in_text = true,
                // a table inside a table cell reads as text of the outer cell: only the outermost
                // table makes rows (nested tables would otherwise repeat the rows within, once
                // per level: a 10,000-deep nesting grew to gigabytes)
                "w:tbl" => {
                    table_depth += 1;
                    if table_depth == 1 {
                        rows_in_table = 0;
                    }
                }
                "w:tr" if table_depth == 1 => row.clear(),
                "w:tc" if table_depth == 1 => cell.clear(),
                "w:p" => {
                    para.clear();
                    style = None;
                }
                _ => {}
            },
            Ok(Event::Empty(e)) => match e.name().as_ref() {
                "w:pStyle" => {
                    for a in e.attributes().flatten() {
                        if a.key.as_ref() == "w:val" {
                            style = Some(a.value.to_string());
                        }
                    }
                }
                "w:tab" => para.push(' '),
                "w:br" => para.push('\n'),
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => {
                para.push_str(&t.xml10_content());
            }
            Ok(Event::GeneralRef(r)) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    para.push(c);
                    continue;
                }
                let name: &str = r.as_ref();
                let ch = match name {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                para.push_str(ch);
            }
            Ok(Event::End(e)) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:p" => {
                    let text = para.trim().to_string();
                    if table_depth > 0 {
                        if !cell.is_empty() && !text.is_empty() {
                            cell.push(' ');
                        }
                        cell.push_str(&text);
                    } else if !text.is_empty() {
                        match style.as_deref().and_then(heading_level) {
                            Some(level) => {
                                out.push_str(&"#".repeat(level));
                                out.push(' ');
                                out.push_str(&text);
                                out.push_str("\n\n");
                            }
                            None => {
                                out.push_str(&text);
                                out.push_str("\n\n");
                            }
                        }
                    }
                    para.clear();
                }
                "w:tc" if table_depth == 1 => row.push(cell.replace('|', "/").replace('\n', " ")),
                "w:tr" if table_depth == 1 => {
                    out.push_str(&format!("| {} |\n", row.join(" | ")));
                    if rows_in_table == 0 {
                        out.push_str(&format!("|{}\n", "---|".repeat(row.len().max(1))));
                    }
                    rows_in_table += 1;
                }
                "w:tbl" => {
                    table_depth = table_depth.saturating_sub(1);
                    if table_depth == 0 {
                        out.push('\n');
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(SourceText { meta: FrontMatter { title, ..Default::default() }, body: out })
}

/// `Heading1`, `heading 2`, `Title`, `标题 1`, `1` → Markdown heading level.
fn heading_level(style: &str) -> Option<usize> {
    let s = style.to_ascii_lowercase().replace(' ', "");
    if s == "title" {
        return Some(1);
    }
    let digits = s.strip_prefix("heading").or_else(|| s.strip_prefix("标题")).unwrap_or(&s);
    match digits.parse::<usize>() {
        Ok(n @ 1..=6) => Some(n),
        _ => None,
    }
}

fn xml_element_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}");
    let start = xml.find(&open)?;
    let after = xml[start..].find('>')? + start + 1;
    let end = xml[after..].find(&format!("</{tag}>"))? + after;
    quick_xml::escape::unescape(&xml[after..end]).ok().map(|s| s.into_owned())
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
