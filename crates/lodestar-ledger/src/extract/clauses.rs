//! Structure (stage 1): lines become clauses. Headings set the section and a country context, tables
//! become rows with their columns, multi-line blocks are joined, prose is split into sentences.

use super::*;

/// Column roles of a Markdown table.
#[derive(Debug, Clone, Default)]
pub(super) struct Columns {
    desc: Option<usize>,
    owner: Option<usize>,
    deadline: Option<usize>,
    kind: Option<usize>,
    status: Option<usize>,
    note: Option<usize>,
}

/// The span of `raw` that `piece` (a slice of `folded`, which is `fold(raw)`) covers, by character
/// position: `fold` maps one character to one character. Falls back to `piece` itself.
pub(super) fn raw_piece(folded: &str, raw: &str, piece: &str) -> (String, usize) {
    let base = folded.as_ptr() as usize;
    let p = piece.as_ptr() as usize;
    if p < base || p + piece.len() > base + folded.len() {
        return (piece.to_string(), 0);
    }
    let start = folded[..p - base].chars().count();
    let n = piece.chars().count();
    if folded.chars().count() != raw.chars().count() {
        return (piece.to_string(), start);
    }
    (raw.chars().skip(start).take(n).collect(), start)
}

/// The raw counterpart of `sub`, a substring of the folded `text` (found by position).
pub(super) fn raw_of(sub: &str, text: &str, raw_text: &str) -> String {
    if text.chars().count() != raw_text.chars().count() {
        return sub.to_string();
    }
    match text.find(sub) {
        Some(i) => raw_text.chars().skip(text[..i].chars().count()).take(sub.chars().count()).collect(),
        None => sub.to_string(),
    }
}

pub(super) fn section_of(k: &Cues, heading: &str) -> Option<Section> {
    let h = heading.to_lowercase();
    if k.get("section_review").any_in(&h) {
        Some(Section::Review)
    } else if k.get("section_action").any_in(&h) {
        Some(Section::Action)
    } else {
        Some(Section::Info)
    }
}

pub(super) fn split_cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| c.trim().to_string()).collect()
}

pub(super) fn is_separator_row(cells: &[String]) -> bool {
    !cells.is_empty()
        && cells.iter().all(|c| {
            let c = c.trim();
            !c.is_empty() && c.chars().all(|x| matches!(x, '-' | ':' | ' '))
        })
}

pub(super) fn columns(k: &Cues, header: &[String]) -> Columns {
    let mut cols = Columns::default();
    for (i, h) in header.iter().enumerate() {
        let h = fold(h).to_lowercase();
        let has = |kind: &str| k.get(kind).any_in(&h);
        if cols.owner.is_none() && has("column_owner") {
            cols.owner = Some(i);
        } else if cols.kind.is_none() && has("column_kind") {
            cols.kind = Some(i);
        } else if cols.status.is_none() && has("column_status") {
            cols.status = Some(i);
        } else if cols.deadline.is_none() && has("column_deadline") {
            cols.deadline = Some(i);
        } else if cols.desc.is_none() && has("column_desc") {
            cols.desc = Some(i);
        } else if cols.note.is_none() && has("column_note") {
            cols.note = Some(i);
        }
    }
    cols
}

pub(super) fn strip_marker(s: &str) -> &str {
    match re().list_marker.captures(s) {
        Some(c) => {
            let m = c.get(0).expect("match");
            let rest = &s[m.end()..];
            // `1.58亿` is a number, not a list marker
            if c.get(1).is_some_and(|p| p.as_str() == ".") && rest.starts_with(|ch: char| ch.is_ascii_digit()) {
                s
            } else {
                rest
            }
        }
        None => s,
    }
}

/// Splits minutes into clauses with their section and heading context.
pub fn clauses(text: &str, scanner: &Scanner) -> (Vec<Clause>, usize) {
    let r = re();
    let k = scanner.cues();
    let (lines, line_nos) = physical_lines(text);
    let crlf = text.contains("\r\n");
    let mut out: Vec<Clause> = Vec::new();
    // heading stack: (level, section, country)
    let mut stack: Vec<(usize, Option<Section>, Option<String>)> = Vec::new();
    let mut nonempty = 0usize;
    let mut first_seen = false;
    let mut table: Option<Columns> = None;
    let mut table_is_data = false;
    let mut last_block: Option<usize> = None; // index in `out` a continuation line may join
                                              // `亚美尼亚：…` at the start of a paragraph: the country of that paragraph (until a blank line)
    let mut para_country: Option<String> = None;
    let heading_country = |h: &str| -> Option<String> {
        let mut codes: Vec<String> = scanner
            .scan(&fold(h))
            .into_iter()
            .filter(|m| matches!(m.kind, Kind::Country | Kind::City))
            .map(|m| m.id)
            .collect();
        codes.sort();
        codes.dedup();
        (codes.len() == 1).then(|| codes.remove(0))
    };
    for (ix, raw) in lines.iter().enumerate() {
        let line = fold(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            table = None;
            para_country = None;
            continue;
        }
        nonempty += 1;
        let section = stack.iter().rev().find_map(|s| s.1).unwrap_or(Section::None);
        let ctx_country = stack.iter().rev().find_map(|s| s.2.clone());

        // tables
        if trimmed.starts_with('|') {
            last_block = None;
            let cells = split_cells(trimmed);
            if is_separator_row(&cells) {
                continue;
            }
            let next_is_sep = lines.get(ix + 1).map(|l| is_separator_row(&split_cells(&fold(l)))).unwrap_or(false);
            if table.is_none() || next_is_sep {
                let cols = columns(k, &cells);
                table_is_data = cols.owner.is_none() && cols.deadline.is_none() && cols.status.is_none();
                table = Some(cols);
                continue;
            }
            let Some(cols) = table.as_ref() else { continue };
            if table_is_data {
                continue;
            }
            let get =
                |i: Option<usize>| i.and_then(|i| cells.get(i)).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let desc = get(cols.desc).unwrap_or_else(|| {
                cells
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        Some(*i) != cols.owner
                            && Some(*i) != cols.deadline
                            && Some(*i) != cols.kind
                            && Some(*i) != cols.status
                            && Some(*i) != cols.note
                    })
                    .map(|(_, c)| c.clone())
                    .max_by_key(|c| c.chars().count())
                    .unwrap_or_default()
            });
            if desc.chars().all(|c| c.is_ascii_digit() || c.is_whitespace()) {
                continue;
            }
            let raw_cells = split_cells(raw);
            let raw_desc = cells
                .iter()
                .position(|c| *c == desc)
                .and_then(|i| raw_cells.get(i).filter(|_| raw_cells.len() == cells.len()))
                .filter(|rc| rc.chars().count() == desc.chars().count())
                .cloned()
                .unwrap_or_else(|| desc.clone());
            out.push(Clause {
                line_no: line_nos[ix] + 1,
                line_ix: ix,
                source: raw.trim().to_string(),
                raw_text: raw_desc,
                src_start: (ix, 0),
                text: desc.clone(),
                section,
                heading_country: ctx_country,
                row: Some(RowCells {
                    desc,
                    owner: get(cols.owner),
                    deadline: get(cols.deadline),
                    kind: get(cols.kind),
                    status: get(cols.status),
                    note: get(cols.note),
                }),
                after_semicolon: false,
            });
            continue;
        }
        table = None;

        // headings
        let heading: Option<(usize, String)> = if let Some(c) = r.md_heading.captures(trimmed) {
            Some((c[1].len(), c[2].to_string()))
        } else if let Some(c) = r.bold_heading.captures(trimmed) {
            Some((4, c[1].to_string()))
        } else if let Some(c) = r.cn_heading.captures(trimmed).filter(|c| {
            c[1].chars().count() <= 30 && !c[1].contains('。') && !c[1].contains(':') && !c[1].contains(',')
        }) {
            Some((2, c[1].to_string()))
        } else if let Some(c) =
            r.paren_heading.captures(trimmed).filter(|c| c[1].chars().count() <= 30 && !c[1].contains('。'))
        {
            Some((3, c[1].to_string()))
        } else if let Some(c) = r.colon_heading.captures(trimmed).filter(|c| !r.meta.is_match(&format!("{}:", &c[1]))) {
            Some((5, c[1].to_string()))
        } else if let Some(c) = r.numbered.captures(trimmed).filter(|c| {
            let t = &c[1];
            let next = lines[ix + 1..].iter().map(|l| l.trim()).find(|l| !l.is_empty()).unwrap_or("");
            t.chars().count() <= 30
                && !t.contains('。')
                && !t.contains(',')
                && !t.contains(':')
                && (next.starts_with('-') || next.starts_with('*') || next.starts_with('•'))
        }) {
            Some((3, c[1].to_string()))
        } else if !first_seen
            && !trimmed.starts_with('-')
            && trimmed.chars().count() <= 40
            && !trimmed.contains([':', ',', '。', ';'])
        {
            Some((1, trimmed.to_string()))
        } else {
            None
        };
        first_seen = true;
        if heading.is_some() {
            para_country = None;
        }
        if let Some((level, h)) = heading {
            while stack.last().is_some_and(|s| s.0 >= level) {
                stack.pop();
            }
            // a level-1 heading is the document title (纪要, minutes, the first line) unless it names a
            // section itself: `# Action items`, `# 决议`, `# 下一步工作` start an action section
            let hl = h.to_lowercase();
            let titled = k.get("title_heading").any_in(&hl);
            let named = section_of(k, &h).filter(|s| *s != Section::Info);
            let sec = if level == 1 && stack.is_empty() && (titled || named.is_none()) {
                if k.get("action_title").any_in(&h) {
                    section_of(k, &h)
                } else {
                    None
                }
            } else {
                section_of(k, &h)
            };
            stack.push((level, sec, heading_country(&h)));
            last_block = None;
            continue;
        }

        let body = strip_marker(trimmed);
        if body.len() == trimmed.len() {
            if let Some((label, _)) = body.split_once(':') {
                let label = label.trim().trim_matches('*');
                let ms = scanner.scan(label);
                if label.chars().count() <= 10
                    && ms.len() == 1
                    && matches!(ms[0].kind, Kind::Country | Kind::City)
                    && !r.meta.is_match(&format!("{label}:"))
                {
                    para_country = Some(ms[0].id.clone());
                }
            }
        }
        let ctx_country = para_country.clone().or(ctx_country);
        let body_plain = body.trim_start_matches('>').trim().trim_start_matches("**");
        if r.meta.is_match(body_plain)
            || (k.get("meta_chair").any_in(body_plain) && k.get("meta_recorder").any_in(body_plain))
        {
            last_block = None;
            continue;
        }
        // continuation of a multi-line block (负责人：… / 完成时间：…)
        // (a block already past MAX_LINE_CHARS takes no more lines: its text and source are rebuilt
        // with every line it takes)
        if r.field_label.is_match(body) && body.len() == trimmed.len() {
            if let Some(b) = last_block.filter(|&b| out[b].text.len() < MAX_LINE_CHARS * 4) {
                out[b].text.push_str("; ");
                out[b].text.push_str(body.trim());
                out[b].raw_text.push_str("; ");
                out[b].raw_text.push_str(&raw_piece(&line, raw, body.trim()).0);
                // the source runs from the block's first line through this one, as written
                let (l0, c0) = out[b].src_start;
                let nl = if crlf { "\r\n" } else { "\n" };
                let mut src: String = lines[l0].chars().skip(c0).collect();
                for l in &lines[l0 + 1..=ix] {
                    src.push_str(nl);
                    src.push_str(l);
                }
                out[b].source = src.trim_end().to_string();
                continue;
            }
        }
        // sentences
        // (folded text, raw text aligned with it, after `;`, raw start char, raw end char)
        let mut pieces: Vec<(String, String, bool, usize, usize)> = Vec::new();
        for sent in split_sentences(body) {
            let s = sent.trim();
            if s.is_empty() || !s.chars().any(|c| c.is_alphanumeric()) {
                continue;
            }
            let continues = r.field_label.is_match(s)
                || (!s.contains('。')
                    && pieces.last().is_some()
                    && !scanner.scan(s).iter().any(|m| matches!(m.kind, Kind::Staff | Kind::Customer))
                    && sent_was_semicolon(body, s));
            let (raw_s, at) = raw_piece(&line, raw, s);
            let end = at + s.chars().count();
            if continues {
                if let Some(p) = pieces.last_mut() {
                    p.0.push_str("; ");
                    p.0.push_str(s);
                    p.1.push_str("; ");
                    p.1.push_str(&raw_s);
                    p.4 = end;
                    continue;
                }
            }
            pieces.push((s.to_string(), raw_s, sent_was_semicolon(body, s), at, end));
        }
        let start = out.len();
        for (p, raw_p, semi, a, e) in pieces {
            let source: String = if line.chars().count() == raw.chars().count() {
                raw.chars().skip(a).take(e - a).collect()
            } else {
                p.clone()
            };
            out.push(Clause {
                line_no: line_nos[ix] + 1,
                line_ix: ix,
                source,
                raw_text: raw_p,
                src_start: (ix, a),
                text: p,
                section,
                heading_country: ctx_country.clone(),
                row: None,
                after_semicolon: semi,
            });
        }
        last_block = if out.len() > start { Some(out.len() - 1) } else { None };
    }
    (out, nonempty)
}

/// Lines longer than this many characters are read as several lines (cut after a `。` `；` `;` `!`
/// `?` where there is one, else at the limit): the clause rules compare a line's sentences with
/// each other, which made a 50,000-character line take seconds. People write no such lines.
pub const MAX_LINE_CHARS: usize = 2_000;

/// The lines of a text, long ones cut (see [`MAX_LINE_CHARS`]), with the 0-based number of the line
/// each comes from.
pub(super) fn physical_lines(text: &str) -> (Vec<&str>, Vec<usize>) {
    let (mut lines, mut nos) = (Vec::new(), Vec::new());
    for (no, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some((limit, _)) = rest.char_indices().nth(MAX_LINE_CHARS) {
            let head = &rest[..limit];
            let cut = head
                .char_indices()
                .rev()
                .find(|&(_, c)| matches!(c, '。' | '；' | ';' | '!' | '?' | '！' | '？'))
                .map(|(b, c)| b + c.len_utf8())
                .unwrap_or(limit);
            lines.push(&rest[..cut]);
            nos.push(no);
            rest = &rest[cut..];
        }
        lines.push(rest);
        nos.push(no);
    }
    (lines, nos)
}

/// Sentence pieces of a line: split at 。 ! ? and at `;`.
pub(super) fn split_sentences(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if matches!(c, '。' | '!' | '?' | ';') {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Whether piece `p` of `line` follows a `;` (as opposed to a full stop).
pub(super) fn sent_was_semicolon(line: &str, p: &str) -> bool {
    line.find(p).map(|i| line[..i].trim_end().ends_with(';')).unwrap_or(false)
}
