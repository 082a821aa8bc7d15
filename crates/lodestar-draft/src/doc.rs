//! A small document model for drafted business documents (客户画像, 经营分析会材料)
//! and its Markdown / plain-text writers. The `.docx` writer lives in the sibling
//! `docx` module.

use std::fmt::Write as _;

/// A drafted document: customer profile (客户画像) or monthly business-review material (经营分析会材料).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Doc {
    /// Document title (heading of the first page).
    pub title: String,
    /// One line under the title (e.g. "2026年9月 · 生成于 2026-12-05 · 状态：待复核").
    pub subtitle: Option<String>,
    /// Shown in a highlighted box at the top (grounding-check violations, missing data). Empty = none.
    pub warnings: Vec<String>,
    /// The body sections, in order.
    pub sections: Vec<Section>,
}

/// One section of a [`Doc`]: a heading and its blocks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Section {
    /// Section heading.
    pub heading: String,
    /// 1 = top-level section heading, 2 = sub-heading.
    pub level: u8,
    /// The section's content, in order.
    pub blocks: Vec<Block>,
}

/// One block of a section's content.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph of prose; an AI-written one is rendered with a small "AI" marker.
    Para {
        /// The paragraph text.
        text: String,
        /// Written by the language model (needs review).
        #[serde(default)]
        ai: bool,
    },
    /// A bulleted list, one string per item.
    Bullets {
        /// The items, one line each.
        items: Vec<String>,
    },
    /// A table, with an optional note under it (e.g. the metric definition "口径：达成率 = 实际 / 目标").
    Table {
        /// Column headers.
        header: Vec<String>,
        /// Rows of cells, as displayed.
        rows: Vec<Vec<String>>,
        /// `numeric[i]`: column i holds numbers (right-aligned).
        numeric: Vec<bool>,
        /// Shown under the table in small grey text.
        note: Option<String>,
    },
    /// Grey italic note (e.g. "待补充：客户知识库中没有相关资料").
    Note {
        /// The note text.
        text: String,
    },
    /// Numbered sources, e.g. (1, "客户开发知识库 · 客户档案：西伯利亚物流 · 信用与付款条件").
    Sources {
        /// `(number, text)` per source.
        items: Vec<(usize, String)>,
    },
}

/// Label shown above a [`Block::Sources`] list (Markdown, plain text and docx alike).
pub const SOURCES_LABEL: &str = "来源";
/// Marker put in front of AI-written paragraphs.
pub const AI_MARKER: &str = "AI";

impl Section {
    /// The section level clamped to the two supported levels (1 or 2).
    pub fn effective_level(&self) -> u8 {
        self.level.clamp(1, 2)
    }
}

/// Number of columns of a table block: the widest of the header and every row.
pub(crate) fn table_columns(header: &[String], rows: &[Vec<String>]) -> usize {
    rows.iter().map(Vec::len).fold(header.len(), usize::max)
}

/// Renders the document as GitHub-flavoured Markdown.
///
/// Layout: `# title`, the subtitle in italics, warnings as a blockquote of `⚠` lines,
/// `##` / `###` for level-1 / level-2 sections, GitHub tables (numeric columns
/// right-aligned), notes in italics and sources as `[n] text` lines under a bold
/// "来源" label. Blocks are separated by one blank line; the output ends with a newline.
pub fn to_markdown(doc: &Doc) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.push(format!("# {}", one_line(&doc.title)));
    if let Some(sub) = non_empty(doc.subtitle.as_deref()) {
        parts.push(italic(sub));
    }
    if !doc.warnings.is_empty() {
        let lines: Vec<String> = doc.warnings.iter().map(|w| format!("> ⚠ {}", one_line(w))).collect();
        parts.push(lines.join("\n>\n"));
    }
    for section in &doc.sections {
        let hashes = "#".repeat(usize::from(section.effective_level()) + 1);
        parts.push(format!("{hashes} {}", one_line(&section.heading)));
        for block in &section.blocks {
            if let Some(md) = block_markdown(block) {
                parts.push(md);
            }
        }
    }
    let mut out = parts.join("\n\n");
    out.push('\n');
    out
}

fn block_markdown(block: &Block) -> Option<String> {
    match block {
        Block::Para { text, ai } => {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            Some(if *ai { format!("`{AI_MARKER}` {text}") } else { text.to_string() })
        }
        Block::Bullets { items } => {
            if items.is_empty() {
                return None;
            }
            let lines: Vec<String> = items.iter().map(|i| format!("- {}", one_line(i))).collect();
            Some(lines.join("\n"))
        }
        Block::Table { header, rows, numeric, note } => {
            let ncols = table_columns(header, rows);
            if ncols == 0 {
                return non_empty(note.as_deref()).map(italic);
            }
            let mut s = String::new();
            s.push_str(&md_row(header, ncols));
            s.push('\n');
            let aligns: Vec<&str> =
                (0..ncols).map(|i| if numeric.get(i).copied().unwrap_or(false) { "---:" } else { "---" }).collect();
            let _ = write!(s, "| {} |", aligns.join(" | "));
            for row in rows {
                s.push('\n');
                s.push_str(&md_row(row, ncols));
            }
            if let Some(note) = non_empty(note.as_deref()) {
                s.push_str("\n\n");
                s.push_str(&italic(note));
            }
            Some(s)
        }
        Block::Note { text } => non_empty(Some(text)).map(italic),
        Block::Sources { items } => {
            if items.is_empty() {
                return None;
            }
            let mut lines = vec![format!("**{SOURCES_LABEL}**")];
            lines.extend(items.iter().map(|(n, t)| format!("[{n}] {}", one_line(t))));
            Some(lines.join("\n\n"))
        }
    }
}

fn md_row(cells: &[String], ncols: usize) -> String {
    let cells: Vec<String> = (0..ncols).map(|i| cells.get(i).map(|c| md_cell(c)).unwrap_or_default()).collect();
    format!("| {} |", cells.join(" | "))
}

/// A table cell: one line, `|` escaped.
fn md_cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// Collapses line breaks (which would end a Markdown heading, list item or table row) into spaces.
fn one_line(s: &str) -> String {
    s.trim().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

fn italic(s: &str) -> String {
    format!("*{}*", one_line(s))
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// All visible text of the document, one element per line, in reading order:
/// title, subtitle, warnings (with their `⚠`), headings, paragraphs, bullet items,
/// table header and rows (cells separated by tabs), notes, and sources as
/// `[n] text` lines after a "来源" line. The AI marker is not included.
pub fn plain_text(doc: &Doc) -> String {
    let mut lines: Vec<String> = vec![doc.title.clone()];
    if let Some(sub) = non_empty(doc.subtitle.as_deref()) {
        lines.push(sub.to_string());
    }
    lines.extend(doc.warnings.iter().map(|w| format!("⚠ {w}")));
    for section in &doc.sections {
        lines.push(section.heading.clone());
        for block in &section.blocks {
            match block {
                Block::Para { text, .. } => lines.push(text.clone()),
                Block::Bullets { items } => lines.extend(items.iter().cloned()),
                Block::Table { header, rows, note, .. } => {
                    if !header.is_empty() {
                        lines.push(header.join("\t"));
                    }
                    lines.extend(rows.iter().map(|r| r.join("\t")));
                    if let Some(note) = non_empty(note.as_deref()) {
                        lines.push(note.to_string());
                    }
                }
                Block::Note { text } => lines.push(text.clone()),
                Block::Sources { items } => {
                    if !items.is_empty() {
                        lines.push(SOURCES_LABEL.to_string());
                    }
                    lines.extend(items.iter().map(|(n, t)| format!("[{n}] {t}")));
                }
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Doc {
        Doc {
            title: "客户画像：西伯利亚物流".into(),
            subtitle: Some("2026年9月 · 状态：待复核".into()),
            warnings: vec!["数字 12.5% 未在数据中找到".into(), "缺少回款数据".into()],
            sections: vec![
                Section {
                    heading: "一、基本情况".into(),
                    level: 1,
                    blocks: vec![
                        Block::Para { text: "客户成立于2010年。".into(), ai: false },
                        Block::Para { text: "合作稳定。".into(), ai: true },
                        Block::Bullets { items: vec!["铁路运输".into(), "仓储\n服务".into()] },
                    ],
                },
                Section {
                    heading: "1.1 经营数据".into(),
                    level: 2,
                    blocks: vec![
                        Block::Table {
                            header: vec!["指标".into(), "金额".into(), "达成率".into()],
                            rows: vec![
                                vec!["收入".into(), "1,989,235.80".into(), "96.35%".into()],
                                vec!["A|B".into(), "10".into()],
                            ],
                            numeric: vec![false, true, true],
                            note: Some("口径：达成率 = 实际 / 目标".into()),
                        },
                        Block::Note { text: "待补充：客户知识库中没有相关资料".into() },
                        Block::Sources {
                            items: vec![(1, "客户档案 · 信用".into()), (2, "合同台账".into())]
                        },
                    ],
                },
            ],
        }
    }

    #[test]
    fn markdown_exact() {
        let expected = "\
# 客户画像：西伯利亚物流

*2026年9月 · 状态：待复核*

> ⚠ 数字 12.5% 未在数据中找到
>
> ⚠ 缺少回款数据

## 一、基本情况

客户成立于2010年。

`AI` 合作稳定。

- 铁路运输
- 仓储 服务

### 1.1 经营数据

| 指标 | 金额 | 达成率 |
| --- | ---: | ---: |
| 收入 | 1,989,235.80 | 96.35% |
| A\\|B | 10 |  |

*口径：达成率 = 实际 / 目标*

*待补充：客户知识库中没有相关资料*

**来源**

[1] 客户档案 · 信用

[2] 合同台账
";
        assert_eq!(to_markdown(&tiny()), expected);
    }

    #[test]
    fn markdown_minimal_doc() {
        let doc = Doc { title: "空".into(), subtitle: None, warnings: vec![], sections: vec![] };
        assert_eq!(to_markdown(&doc), "# 空\n");
    }

    #[test]
    fn plain_text_has_all_visible_text() {
        let text = plain_text(&tiny());
        for needle in [
            "客户画像：西伯利亚物流",
            "2026年9月",
            "⚠ 缺少回款数据",
            "1.1 经营数据",
            "合作稳定。",
            "仓储\n服务",
            "收入\t1,989,235.80\t96.35%",
            "口径：达成率",
            "待补充",
            "来源\n[1] 客户档案 · 信用",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
        assert!(!text.contains("`AI`"));
    }

    #[test]
    fn serde_shape() {
        let block = Block::Para { text: "x".into(), ai: true };
        let json = serde_json::to_value(&block).expect("serialize");
        assert_eq!(json, serde_json::json!({"kind": "para", "text": "x", "ai": true}));
        let back: Block = serde_json::from_str(r#"{"kind":"para","text":"y"}"#).expect("ai defaults to false");
        assert_eq!(back, Block::Para { text: "y".into(), ai: false });
        let doc = tiny();
        let round: Doc = serde_json::from_str(&serde_json::to_string(&doc).expect("serialize")).expect("parse");
        assert_eq!(round, doc);
    }
}
