//! Reading minutes (.md / .txt / .docx) and the small text helpers the extractor shares.

use crate::LedgerError;
use lodestar_core::{LimitExceeded, ReadLimits};
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
/// [`docx_text`]. Errors name the file. Held to the default `[limits]`; see [`read_minutes_with`].
pub fn read_minutes(path: &Path) -> Result<String, LedgerError> {
    read_minutes_with(path, &ReadLimits::default())
}

/// [`read_minutes`] under the given `[limits]` of `config.toml`: the text is held to
/// `max_minutes_bytes` (a meeting's minutes run to tens of kilobytes; the extraction links
/// clauses across the whole text, and a 5 MB file of repeated lines ran past ten seconds), a
/// `.docx` to the zip limits, `max_docx_xml_bytes` and `max_xml_depth`.
pub fn read_minutes_with(path: &Path, limits: &ReadLimits) -> Result<String, LedgerError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let max = usize::try_from(limits.max_minutes_bytes).unwrap_or(usize::MAX);
    let too_long = |n: usize| {
        LedgerError::Invalid(format!(
            "{}: {}",
            path.display(),
            LimitExceeded::new(
                format!("{n} bytes of minutes text, over the limit of {max} read at once (split the file by meeting)"),
                "max_minutes_bytes"
            )
        ))
    };
    if ext != "docx" {
        // the size on disk first: a text file over the limit is not read at all
        if let Ok(m) = std::fs::metadata(path) {
            let n = m.len();
            if n > (max as u64).saturating_add(3) {
                return Err(too_long(usize::try_from(n).unwrap_or(usize::MAX)));
            }
        }
    }
    let bytes = std::fs::read(path).map_err(|source| LedgerError::Io { path: path.display().to_string(), source })?;
    if ext != "docx" && bytes.len() > max.saturating_add(3) {
        return Err(too_long(bytes.len()));
    }
    let text = lone_cr_to_lf(read_minutes_bytes(path, &ext, bytes, limits)?);
    if text.len() > max {
        return Err(too_long(text.len()));
    }
    Ok(text)
}

/// Line ends of old Mac text (a lone `\r`) become `\n`; `\r\n` stays. Read as they were, a
/// whole file was one line: its clauses ran together, and the per-line rules went quadratic
/// over a 1.4 MB "line" (a fuzzed file took 11 s).
pub fn lone_cr_to_lf(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() != Some(&'\n') {
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

fn read_minutes_bytes(path: &Path, ext: &str, bytes: Vec<u8>, limits: &ReadLimits) -> Result<String, LedgerError> {
    match ext {
        "docx" => docx_text_with(&bytes, limits).map_err(|e| match e {
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

/// The text of a Word document: one line per paragraph of `word/document.xml`; a table becomes
/// Markdown-style rows (`| a | b |`, header row followed by `|---|`), so tables read like Markdown tables.
/// Held to the default `[limits]`; see [`docx_text_with`].
pub fn docx_text(bytes: &[u8]) -> Result<String, LedgerError> {
    docx_text_with(bytes, &ReadLimits::default())
}

/// [`docx_text`] under the given `[limits]`, read by the text layer's one `.docx` reader
/// ([`lodestar_core::text::docx`]): the zip container is measured before it is opened (entries,
/// declared and real sizes, compression ratio), `word/document.xml` is refused over
/// `max_docx_xml_bytes` and its nesting over `max_xml_depth`.
pub fn docx_text_with(bytes: &[u8], limits: &ReadLimits) -> Result<String, LedgerError> {
    use lodestar_core::text::docx::{self, Block, DocxLimits};
    let bad = |m: String| LedgerError::Invalid(format!("not a readable .docx: {m}"));
    let caps = DocxLimits {
        max_xml_bytes: limits.max_docx_xml_bytes,
        refuse_over: true,
        max_depth: Some(usize::try_from(limits.max_xml_depth).unwrap_or(usize::MAX)),
    };
    let doc = docx::read(bytes, limits, caps).map_err(|m| {
        // name the key that raises the limit that refused it
        let key = if m.starts_with("word/document.xml is") && m.contains("uncompressed") {
            Some("max_docx_xml_bytes")
        } else if m.contains("levels deep") {
            Some("max_xml_depth")
        } else {
            None
        };
        bad(match key {
            Some(k) => LimitExceeded::new(m, k).0,
            None => m,
        })
    })?;
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

    fn docx_of(xml: &str) -> Vec<u8> {
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file("word/document.xml", zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(xml.as_bytes()).unwrap();
        z.finish().unwrap();
        buf.into_inner()
    }

    #[test]
    fn configured_limits_refuse_minutes_text_docx_xml_and_nesting() {
        let dir = tempfile::tempdir().unwrap();
        // 10 lines of 21 bytes (7 three-byte characters) = 210 bytes, then a newline each: 220
        let text = "西伯利亚物流催\n".repeat(10);
        assert_eq!(text.len(), 220);
        let md = dir.path().join("m.md");
        std::fs::write(&md, &text).unwrap();
        // the defaults read it; a configured limit of 100 bytes refuses it, naming file, size and key
        assert_eq!(read_minutes(&md).unwrap(), text);
        let tight = ReadLimits { max_minutes_bytes: 100, ..ReadLimits::default() };
        let e = read_minutes_with(&md, &tight).unwrap_err().to_string();
        assert!(e.contains("m.md") && e.contains("220 bytes") && e.contains("over the limit of 100"), "{e}");
        assert!(e.contains("[limits] max_minutes_bytes"), "{e}");
        // exactly at the limit passes
        let exact = ReadLimits { max_minutes_bytes: 220, ..ReadLimits::default() };
        assert_eq!(read_minutes_with(&md, &exact).unwrap(), text);

        // the text of a .docx is held to the same limit
        let body = format!(
            r#"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{}</w:body></w:document>"#,
            "<w:p><w:r><w:t>催收</w:t></w:r></w:p>".repeat(50)
        );
        let docx = dir.path().join("m.docx");
        std::fs::write(&docx, docx_of(&body)).unwrap();
        assert_eq!(read_minutes(&docx).unwrap().len(), 50 * 7); // "催收" (6 bytes) and a newline
        let e = read_minutes_with(&docx, &ReadLimits { max_minutes_bytes: 300, ..ReadLimits::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.docx") && e.contains("350 bytes") && e.contains("max_minutes_bytes"), "{e}");
        // word/document.xml over max_docx_xml_bytes
        let xml_len = body.len() as u64;
        let e = read_minutes_with(&docx, &ReadLimits { max_docx_xml_bytes: xml_len - 1, ..ReadLimits::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.docx") && e.contains(&format!("{xml_len} bytes")), "{e}");
        assert!(e.contains("[limits] max_docx_xml_bytes"), "{e}");
        assert!(read_minutes_with(&docx, &ReadLimits { max_docx_xml_bytes: xml_len, ..ReadLimits::default() }).is_ok());
        // nesting: document > body > p > r > t is 5 levels
        let e = read_minutes_with(&docx, &ReadLimits { max_xml_depth: 4, ..ReadLimits::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.docx") && e.contains("5 levels deep") && e.contains("[limits] max_xml_depth"), "{e}");
        assert!(read_minutes_with(&docx, &ReadLimits { max_xml_depth: 5, ..ReadLimits::default() }).is_ok());
        // the zip limits of [limits] apply to a minutes .docx too
        let e = read_minutes_with(&docx, &ReadLimits { max_uncompressed_bytes: 100, ..ReadLimits::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.docx") && e.contains("max_uncompressed_bytes"), "{e}");
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        assert_eq!(lone_cr_to_lf("a\rb\r\nc\n\rd\r".into()), "a\nb\r\nc\n\nd\n");
        assert_eq!(lone_cr_to_lf("无回车".into()), "无回车");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mac.txt");
        std::fs::write(&p, "## 行动项\r1. 报关资料补齐。责任人：张伟。\r2. 发运确认。责任人：孙晓东。\r").unwrap();
        assert_eq!(read_minutes(&p).unwrap().lines().count(), 3);
    }

    #[test]
    fn jaccard_of_bigrams() {
        // "abcd" → {ab, bc, cd}; "abce" → {ab, bc, ce}: 2 shared of 4 distinct → 0.5
        assert!((jaccard("abcd", "abce") - 0.5).abs() < 1e-9);
        assert_eq!(jaccard("", "abc"), 0.0);
        assert!((jaccard("西伯利亚物流", "西伯利亚物流") - 1.0).abs() < 1e-9);
    }
}
