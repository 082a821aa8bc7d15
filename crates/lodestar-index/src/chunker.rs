//! Heading-aware chunking (切片). A chunk never crosses a heading; it keeps the heading path as its
//! section; a Markdown table row is never separated from its header row (a table split across
//! chunks repeats the header); chunks aim at 300–500 characters (Chinese characters count one each).

/// Size targets in characters.
#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    /// A chunk is closed once it reaches this size and the next unit would overflow `max`.
    pub target: usize,
    /// Hard upper bound (a single longer sentence is cut).
    pub max: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self { target: 300, max: 500 }
    }
}

/// A chunk before ids and metadata are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftChunk {
    /// Heading path (outermost first).
    pub section: Vec<String>,
    /// The chunk's text (Markdown).
    pub text: String,
}

/// A unit that is never split further (except over-long sentences).
#[derive(Debug, Clone)]
enum Unit {
    Text(String),
    /// A table row with its header (header line + separator line).
    Row {
        header: String,
        row: String,
    },
}

/// Splits a Markdown body into chunks. `title` is dropped from the front of section paths when
/// the document's `# H1` repeats it.
pub fn chunk_markdown(body: &str, title: &str, opts: ChunkOptions) -> Vec<DraftChunk> {
    let mut out = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    let lines: Vec<&str> = body.lines().collect();
    let mut i = 0;
    let mut para: Vec<&str> = Vec::new();
    let flush_para = |para: &mut Vec<&str>, units: &mut Vec<Unit>| {
        if !para.is_empty() {
            let t = join_paragraph(para);
            if !t.is_empty() {
                units.push(Unit::Text(t));
            }
            para.clear();
        }
    };
    let mut in_fence = false;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            para.push(line);
            i += 1;
            continue;
        }
        if in_fence {
            para.push(line);
            i += 1;
            continue;
        }
        if let Some((level, heading)) = heading(t) {
            flush_para(&mut para, &mut units);
            emit(&mut out, &section_of(&path, title), std::mem::take(&mut units), opts);
            path.retain(|(l, _)| *l < level);
            path.push((level, heading));
            i += 1;
            continue;
        }
        if t.is_empty() {
            flush_para(&mut para, &mut units);
            i += 1;
            continue;
        }
        if is_table_line(t) && i + 1 < lines.len() && is_separator(lines[i + 1].trim()) {
            flush_para(&mut para, &mut units);
            let header = format!("{}\n{}", t, lines[i + 1].trim());
            i += 2;
            while i < lines.len() && is_table_line(lines[i].trim()) {
                units.push(Unit::Row { header: header.clone(), row: lines[i].trim().to_string() });
                i += 1;
            }
            continue;
        }
        if is_list_item(t) && !para.is_empty() && !para.iter().all(|l| is_list_item(l.trim())) {
            // A list right after a paragraph line: keep the lead-in with the list.
            para.push(line);
            i += 1;
            continue;
        }
        if is_list_item(t) && !para.is_empty() {
            // One unit per list item so long lists can split between items.
            flush_para(&mut para, &mut units);
        }
        para.push(line);
        i += 1;
    }
    flush_para(&mut para, &mut units);
    emit(&mut out, &section_of(&path, title), units, opts);
    out
}

fn heading(t: &str) -> Option<(usize, String)> {
    let level = t.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&level) {
        let rest = &t[level..];
        if rest.starts_with(' ') || rest.starts_with('\t') {
            let h = rest.trim().trim_end_matches('#').trim().to_string();
            if !h.is_empty() {
                return Some((level, h));
            }
        }
    }
    None
}

fn is_table_line(t: &str) -> bool {
    t.starts_with('|') && t.len() > 1
}

fn is_separator(t: &str) -> bool {
    is_table_line(t) && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t')) && t.contains('-')
}

fn is_list_item(t: &str) -> bool {
    if t.starts_with("- ") || t.starts_with("* ") || t.starts_with("+ ") {
        return true;
    }
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && (t[digits..].starts_with(". ") || t[digits..].starts_with("、") || t[digits..].starts_with(") "))
}

/// Joins the lines of a paragraph: list items and hard-wrapped lines keep their line breaks.
fn join_paragraph(lines: &[&str]) -> String {
    lines.iter().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n").trim().to_string()
}

fn section_of(path: &[(usize, String)], title: &str) -> Vec<String> {
    let mut v: Vec<String> = path.iter().map(|(_, h)| h.clone()).collect();
    if v.first().is_some_and(|h| same_title(h, title)) {
        v.remove(0);
    }
    v
}

fn same_title(a: &str, b: &str) -> bool {
    let n = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    n(a) == n(b)
}

fn len(s: &str) -> usize {
    s.chars().count()
}

/// Packs the units of one section into chunks.
fn emit(out: &mut Vec<DraftChunk>, section: &[String], units: Vec<Unit>, opts: ChunkOptions) {
    let mut cur = String::new();
    let mut open_header: Option<String> = None;
    let push = |out: &mut Vec<DraftChunk>, cur: &mut String| {
        let t = cur.trim();
        if !t.is_empty() {
            out.push(DraftChunk { section: section.to_vec(), text: t.to_string() });
        }
        cur.clear();
    };
    for unit in units {
        match unit {
            Unit::Text(t) => {
                for piece in split_long(&t, opts.max) {
                    let add = len(&piece) + 2;
                    if !cur.is_empty() && (len(&cur) >= opts.target || len(&cur) + add > opts.max) {
                        push(out, &mut cur);
                    }
                    if !cur.is_empty() {
                        cur.push_str("\n\n");
                    }
                    cur.push_str(&piece);
                    open_header = None;
                }
            }
            Unit::Row { header, row } => {
                let same_table = open_header.as_deref() == Some(header.as_str());
                let add = len(&row) + 1 + if same_table { 0 } else { len(&header) + 2 };
                if !cur.is_empty() && (len(&cur) + add > opts.max || (len(&cur) >= opts.target && !same_table)) {
                    push(out, &mut cur);
                    open_header = None;
                }
                if open_header.as_deref() != Some(header.as_str()) {
                    if !cur.is_empty() {
                        cur.push_str("\n\n");
                    }
                    cur.push_str(&header);
                    open_header = Some(header);
                }
                cur.push('\n');
                cur.push_str(&row);
            }
        }
    }
    push(out, &mut cur);
}

/// Cuts text longer than `max` at sentence ends (。！？；.!?\n), then hard at `max`.
fn split_long(t: &str, max: usize) -> Vec<String> {
    if len(t) <= max {
        return vec![t.to_string()];
    }
    let mut sentences: Vec<String> = Vec::new();
    let mut s = String::new();
    for c in t.chars() {
        s.push(c);
        if matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';' | '\n') {
            sentences.push(std::mem::take(&mut s));
        }
    }
    if !s.is_empty() {
        sentences.push(s);
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    for sent in sentences {
        if !cur.is_empty() && len(&cur) + len(&sent) > max {
            out.push(cur.trim().to_string());
            cur.clear();
        }
        if len(&sent) > max {
            let chars: Vec<char> = sent.chars().collect();
            for part in chars.chunks(max) {
                out.push(part.iter().collect::<String>().trim().to_string());
            }
        } else {
            cur.push_str(&sent);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out.retain(|s| !s.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_make_sections_and_h1_title_is_dropped() {
        let md =
            "# 产品说明\n\n概述一句。\n\n## 技术参数\n\n参数一句。\n\n### 轮辋\n\n轮辋一句。\n\n## 卖点\n\n卖点一句。";
        let c = chunk_markdown(md, "产品说明", ChunkOptions::default());
        let secs: Vec<String> = c.iter().map(|c| c.section.join(" > ")).collect();
        assert_eq!(secs, vec!["", "技术参数", "技术参数 > 轮辋", "卖点"]);
        assert_eq!(c[2].text, "轮辋一句。");
    }

    #[test]
    fn table_rows_keep_header_when_split() {
        // 40 rows of 20 characters each (`| 项目NN | 数值NNNNNNNN |` ≈ 22 chars) cannot fit in one
        // 120-character chunk, so the table splits — and every piece must start with the header.
        let mut md = String::from("## 表\n\n| 项目 | 数值 |\n|---|---|\n");
        for i in 0..40 {
            md.push_str(&format!("| 项目{i:02} | 数值{i:08} |\n"));
        }
        let c = chunk_markdown(&md, "T", ChunkOptions { target: 80, max: 120 });
        assert!(c.len() > 1);
        for ch in &c {
            assert!(ch.text.starts_with("| 项目 | 数值 |\n|---|---|\n| 项目"), "{}", ch.text);
        }
        let rows: usize = c.iter().map(|ch| ch.text.lines().count() - 2).sum();
        assert_eq!(rows, 40);
    }

    #[test]
    fn long_paragraph_is_cut_at_sentences() {
        let sent = "这是一个十个字的句子。"; // 11 characters with the full stop
        let md = sent.repeat(100);
        let c = chunk_markdown(&md, "T", ChunkOptions { target: 300, max: 500 });
        assert!(c.len() >= 3);
        for ch in &c {
            assert!(len(&ch.text) <= 500);
            assert!(ch.text.ends_with('。'));
        }
    }

    #[test]
    fn small_paragraphs_are_packed() {
        let md = "## A\n\n一。\n\n二。\n\n三。";
        let c = chunk_markdown(md, "T", ChunkOptions::default());
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].text, "一。\n\n二。\n\n三。");
    }
}
