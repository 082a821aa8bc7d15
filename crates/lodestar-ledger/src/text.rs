//! Reading minutes (.md / .txt / .docx) and the small text helpers the extractor shares.

use crate::LedgerError;
use std::collections::HashSet;
use std::path::Path;

/// Light normalization for analysis: full-width ASCII forms (Ａ１：；（），) → ASCII, ideographic and
/// no-break spaces → space. Keeps `。` and `、` (sentence and list separators) as they are.
pub fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' | '\u{00A0}' | '\u{2007}' | '\u{202F}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '“' | '”' | '「' | '」' => '"',
            _ => c,
        })
        .collect()
}

/// True for CJK ideographs (the text layer's [`lodestar_core::text::is_han`]).
pub use lodestar_core::text::is_han;

/// Character bigrams of the letters and digits of `s` (lower-cased; punctuation and spaces dropped).
pub fn bigrams(s: &str) -> HashSet<(char, char)> {
    let cs: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).flat_map(|c| c.to_lowercase()).collect();
    cs.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Character-bigram Jaccard similarity (0..1) of two texts.
pub fn jaccard(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let inter = x.intersection(&y).count();
    inter as f64 / (x.len() + y.len() - inter) as f64
}

/// Reads minutes from a file: `.md` / `.txt` as UTF-8 text (a UTF-8 BOM is dropped), `.docx` through
/// [`docx_text`]. Errors name the file.
pub fn read_minutes(path: &Path) -> Result<String, LedgerError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let bytes = std::fs::read(path).map_err(|source| LedgerError::Io { path: path.display().to_string(), source })?;
    let text = if ext != "docx" && bytes.len() > MAX_MINUTES_BYTES + 3 {
        String::from_utf8_lossy(&bytes[..MAX_MINUTES_BYTES + 4]).into_owned() // refused below
    } else {
        read_minutes_bytes(path, &ext, bytes)?
    };
    if text.len() > MAX_MINUTES_BYTES {
        return Err(LedgerError::Invalid(format!(
            "{}: {} bytes of minutes text, over the {MAX_MINUTES_BYTES} read at once (split the file by meeting)",
            path.display(),
            text.len()
        )));
    }
    Ok(text)
}

/// The most bytes of text one minutes file may hold (after `.docx` extraction): a meeting's
/// minutes run to tens of kilobytes; the extraction links clauses across the whole text, and a
/// 5 MB file of repeated lines ran past ten seconds.
pub const MAX_MINUTES_BYTES: usize = 2 << 20;

fn read_minutes_bytes(path: &Path, ext: &str, bytes: Vec<u8>) -> Result<String, LedgerError> {
    match ext {
        "docx" => docx_text(&bytes).map_err(|e| match e {
            LedgerError::Invalid(m) => LedgerError::Invalid(format!("{}: {m}", path.display())),
            other => other,
        }),
        "md" | "txt" | "markdown" | "text" | "" => String::from_utf8(bytes)
            .map(|s| s.trim_start_matches('\u{feff}').to_string())
            .map_err(|_| LedgerError::Invalid(format!("{} is not UTF-8 text", path.display()))),
        other => Err(LedgerError::Invalid(format!(
            "{}: unsupported minutes format `.{other}` (expected .md, .txt or .docx)",
            path.display()
        ))),
    }
}

/// The largest `word/document.xml` read (uncompressed bytes): a few kilobytes of zip can declare
/// and inflate to gigabytes, and the XML parser takes about 17 bytes of memory per byte of it
/// (64 MiB asked for 1.1 GB at once).
pub const MAX_DOCUMENT_XML: u64 = 8 << 20;

/// The deepest element nesting read in `word/document.xml` (the XML parser recurses once per
/// level; real documents stay far below).
pub const MAX_XML_DEPTH: usize = 256;

/// The text of a Word document: one line per paragraph of `word/document.xml`; a table becomes
/// Markdown-style rows (`| a | b |`, header row followed by `|---|`), so tables read like Markdown tables.
/// Read by the text layer's one `.docx` reader ([`lodestar_core::text::docx`]) under
/// [`MAX_DOCUMENT_XML`] (refused over it) and [`MAX_XML_DEPTH`].
pub fn docx_text(bytes: &[u8]) -> Result<String, LedgerError> {
    use lodestar_core::text::docx::{self, Block, DocxLimits};
    let bad = |m: String| LedgerError::Invalid(format!("not a readable .docx: {m}"));
    // entries, declared and real sizes, compression ratio: refused before anything is parsed
    let caps = DocxLimits { max_xml_bytes: MAX_DOCUMENT_XML, refuse_over: true, max_depth: Some(MAX_XML_DEPTH) };
    let doc = docx::read(bytes, &lodestar_core::ReadLimits::default(), caps).map_err(bad)?;
    let mut out = String::new();
    for block in doc.blocks {
        match block {
            Block::Para { text, .. } => {
                out.push_str(&text.replace('\n', " "));
                out.push('\n');
            }
            Block::Table(rows) => {
                for (i, row) in rows.iter().enumerate() {
                    out.push_str(&docx::markdown_row(row));
                    if i == 0 {
                        out.push_str(&docx::markdown_rule(row.len()));
                    }
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_keeps_chinese_separators() {
        assert_eq!(fold("责任人：张伟；截止：３月３１日。"), "责任人:张伟;截止:3月31日。");
        assert_eq!(fold("陈思远、李娜（RU）"), "陈思远、李娜(RU)");
    }

    #[test]
    fn docx_paragraphs_and_tables() {
        use std::io::Write;
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>四、行动项</w:t></w:r></w:p>
<w:p><w:r><w:t>1. 西伯利亚物流尾款催收。</w:t></w:r><w:r><w:t>责任人：张伟；截止：9月15日。</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>事项</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>负责人</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>截止时间</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>撒马尔罕运输发运</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>吴刚</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>本周内</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
</w:body></w:document>"#;
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            z.start_file("word/document.xml", zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(xml.as_bytes()).unwrap();
            z.finish().unwrap();
        }
        let text = docx_text(buf.get_ref()).unwrap();
        assert_eq!(
            text,
            "四、行动项\n1. 西伯利亚物流尾款催收。责任人：张伟；截止：9月15日。\n| 事项 | 负责人 | 截止时间 |\n|---|---|---|\n| 撒马尔罕运输发运 | 吴刚 | 本周内 |\n\n"
        );
        // and the extractor reads both the paragraph and the table row
        let d = lodestar_dict::Dictionaries::builtin().unwrap();
        let items = crate::extract(&text, crate::parse_date("2026-09-07").unwrap(), &d, None);
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].owner_ids, vec!["S08"]);
        assert!(docx_text(b"not a zip").is_err());
    }

    #[test]
    fn jaccard_of_bigrams() {
        // "abcd" → {ab, bc, cd}; "abce" → {ab, bc, ce}: 2 shared of 4 distinct → 0.5
        assert!((jaccard("abcd", "abce") - 0.5).abs() < 1e-9);
        assert_eq!(jaccard("", "abc"), 0.0);
        assert!((jaccard("西伯利亚物流", "西伯利亚物流") - 1.0).abs() < 1e-9);
    }
}
