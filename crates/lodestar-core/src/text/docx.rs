//! Word `.docx` text (the one reader): `word/document.xml` read as a stream of paragraphs (with
//! their style) and tables (rows of cells), and the title of `docProps/core.xml`. The knowledge
//! index renders it as Markdown, minutes as lines; both go through the same hardening:
//!
//! - the zip container is measured by [`ReadLimits::check_zip`] before it is opened;
//! - `word/document.xml` is read up to [`DocxLimits::max_xml_bytes`] (refused over it, or cut
//!   there, as the caller asks);
//! - an element nesting deeper than [`DocxLimits::max_depth`] is refused when the caller sets one;
//! - the XML is streamed, never built into a tree, and a table inside a table cell reads as text
//!   of the outer cell (nested tables would otherwise repeat the rows within, once per level).

use crate::ReadLimits;
use std::io::Read;

/// One block of a Word document's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph.
    Para {
        /// Style id (`Heading1`, `标题 1`), if any.
        style: Option<String>,
        /// Text (`w:tab` as `\t`, `w:br` as `\n`).
        text: String,
    },
    /// An outermost table: rows of cells; a cell's text is its paragraphs (trimmed, empty ones
    /// left out) joined by a space, nested tables' paragraphs included.
    Table(Vec<Vec<String>>),
}

/// A document's blocks and its title (`dc:title`, when not blank).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Docx {
    /// The document title (`dc:title` of `docProps/core.xml`), when not blank.
    pub title: Option<String>,
    /// The body's paragraphs and outermost tables, in document order.
    pub blocks: Vec<Block>,
}

/// The caller's caps on `word/document.xml`.
#[derive(Debug, Clone, Copy)]
pub struct DocxLimits {
    /// The most uncompressed bytes of `word/document.xml` read.
    pub max_xml_bytes: u64,
    /// Over `max_xml_bytes`: refuse (`true`) or read the first `max_xml_bytes` (`false`).
    pub refuse_over: bool,
    /// The deepest element nesting accepted (`None`: any; the reader does not recurse).
    pub max_depth: Option<usize>,
}

/// Reads a `.docx` from memory. Errors are messages for people (`not a docx (zip): …`).
pub fn read(bytes: &[u8], zip_limits: &ReadLimits, caps: DocxLimits) -> Result<Docx, String> {
    zip_limits.check_zip(bytes).map_err(|e| e.0)?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a docx (zip): {e}"))?;
    let mut xml = String::new();
    {
        let entry = zip.by_name("word/document.xml").map_err(|e| format!("no word/document.xml: {e}"))?;
        let cap = caps.max_xml_bytes;
        if caps.refuse_over && entry.size() > cap {
            return Err(format!("word/document.xml is {} bytes uncompressed (at most {cap} are read)", entry.size()));
        }
        let take = if caps.refuse_over { cap.saturating_add(1) } else { cap };
        entry.take(take).read_to_string(&mut xml).map_err(|e| format!("word/document.xml: {e}"))?;
        if caps.refuse_over && xml.len() as u64 > cap {
            return Err(format!("word/document.xml is over {cap} bytes uncompressed"));
        }
    }
    if let Some(max) = caps.max_depth {
        let depth = xml_depth(&xml);
        if depth > max {
            return Err(format!("word/document.xml nests elements {depth} levels deep, over the limit of {max}"));
        }
    }
    let mut title = None;
    if let Ok(f) = zip.by_name("docProps/core.xml") {
        let mut core = String::new();
        if f.take(caps.max_xml_bytes).read_to_string(&mut core).is_ok() {
            title = xml_element_text(&core, "dc:title").filter(|t| !t.trim().is_empty());
        }
    }
    let blocks = blocks(&xml)?;
    Ok(Docx { title, blocks })
}

fn blocks(xml: &str) -> Result<Vec<Block>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut para = String::new();
    let mut style: Option<String> = None;
    let mut in_text = false;
    let mut table_depth = 0usize;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    loop {
        match reader.read_event() {
            Err(e) => return Err(format!("word/document.xml: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => match e.name().as_ref() {
                "w:t" => in_text = true,
                "w:tbl" => {
                    table_depth += 1;
                    if table_depth == 1 {
                        rows.clear();
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
                "w:tab" => para.push('\t'),
                "w:br" => para.push('\n'),
                // an empty paragraph is a paragraph (minutes keep its line)
                "w:p" if table_depth == 0 => out.push(Block::Para { style: None, text: String::new() }),
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => para.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    para.push(c);
                    continue;
                }
                let name: &str = r.as_ref();
                para.push_str(match name {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                });
            }
            Ok(Event::End(e)) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:p" => {
                    let text = std::mem::take(&mut para);
                    if table_depth > 0 {
                        let t = text.trim();
                        if !cell.is_empty() && !t.is_empty() {
                            cell.push(' ');
                        }
                        cell.push_str(t);
                    } else {
                        out.push(Block::Para { style: style.take(), text });
                    }
                }
                "w:tc" if table_depth == 1 => row.push(std::mem::take(&mut cell)),
                "w:tr" if table_depth == 1 => rows.push(std::mem::take(&mut row)),
                "w:tbl" => {
                    table_depth = table_depth.saturating_sub(1);
                    if table_depth == 0 {
                        out.push(Block::Table(std::mem::take(&mut rows)));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(out)
}

/// The text of the first `<tag>` element of an XML text, unescaped.
fn xml_element_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}");
    let start = xml.find(&open)?;
    let after = xml[start..].find('>')? + start + 1;
    let end = xml[after..].find(&format!("</{tag}>"))? + after;
    quick_xml::escape::unescape(&xml[after..end]).ok().map(|s| s.into_owned())
}

/// `Heading1`, `heading 2`, `Title`, `标题 1`, `1` → heading level 1–6.
pub fn heading_level(style: &str) -> Option<usize> {
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

/// A table row as a Markdown row: `| a | b |` (`|` inside a cell becomes `/`, line breaks spaces).
pub fn markdown_row(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "/").replace('\n', " ")).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// The Markdown rule under a header row of `n` cells: `|---|---|`.
pub fn markdown_rule(n: usize) -> String {
    format!("|{}\n", "---|".repeat(n.max(1)))
}

/// The deepest element nesting of an XML text, counted from its tags (comments, processing
/// instructions and declarations skipped; quoted attribute values may hold `>`).
pub fn xml_depth(xml: &str) -> usize {
    let b = xml.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while let Some(p) = b[i..].iter().position(|&c| c == b'<') {
        i += p + 1;
        match b.get(i) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(b'!' | b'?') => {
                let end: &[u8] = if b[i..].starts_with(b"!--") {
                    b"-->"
                } else if b[i..].starts_with(b"![CDATA[") {
                    b"]]>"
                } else {
                    b">"
                };
                match b[i..].windows(end.len()).position(|w| w == end) {
                    Some(q) => i += q + end.len(),
                    None => break,
                }
            }
            _ => {
                let mut quote = None;
                while let Some(&c) = b.get(i) {
                    match (quote, c) {
                        (None, b'"' | b'\'') => quote = Some(c),
                        (Some(q), _) if c == q => quote = None,
                        (None, b'>') => break,
                        _ => {}
                    }
                    i += 1;
                }
                // a self-closing element is one level deeper while it lasts
                max = max.max(depth + 1);
                if b.get(i.saturating_sub(1)) != Some(&b'/') {
                    depth += 1;
                }
            }
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_nesting_depth() {
        assert_eq!(xml_depth("<?xml version=\"1.0\"?><a><b x=\"1>2\"/><c><d></d></c></a>"), 3);
        assert_eq!(xml_depth("<!-- <x><y> --><a/>"), 1);
        assert_eq!(xml_depth(&format!("{}{}", "<t>".repeat(300), "</t>".repeat(300))), 300);
    }

    #[test]
    fn paragraphs_styles_and_tables() {
        let xml = r#"<w:document><w:body><w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>售后 &amp; 服务</w:t></w:r></w:p><w:p/>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>a|b</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>c</w:t><w:tab/><w:t>d</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>"#;
        let b = blocks(xml).unwrap();
        assert_eq!(b[0], Block::Para { style: Some("Heading1".into()), text: "售后 & 服务".into() });
        assert_eq!(b[1], Block::Para { style: None, text: String::new() });
        assert_eq!(b[2], Block::Table(vec![vec!["a|b".into(), "c\td".into()]]));
        assert_eq!(heading_level("标题 2"), Some(2));
        assert_eq!(markdown_row(&["a|b".into(), "c".into()]), "| a/b | c |\n");
    }
}
