//! `.docx` writer for [`Doc`] (built with the `docx-rs` crate).
//!
//! Layout: A4 page, title + subtitle, the warnings in a yellow box, a table of
//! contents field (pre-filled with the headings; marked dirty so Word refreshes the page
//! numbers on open), then the sections with real Word heading styles ("heading 1" /
//! "heading 2", outline levels 0 / 1), bordered tables with a shaded header row, grey
//! notes, a small "[AI]" marker on AI-written paragraphs, and numbered sources.

use std::io::Cursor;
use std::path::Path;

use docx_rs::{
    AbstractNumbering, AlignmentType, BorderType, BreakType, Docx, FieldCharType, Hyperlink, HyperlinkType,
    IndentLevel, InstrPAGEREF, InstrText, InstrToC, Level, LevelJc, LevelText, LineSpacing, NumberFormat, Numbering,
    NumberingId, PageMargin, Paragraph, ParagraphBorder, ParagraphBorderPosition, ParagraphBorders, Run, RunFonts,
    Shading, SpecialIndentType, Start, Style, StyleType, Tab, TabLeaderType, TabValueType, Table, TableBorder,
    TableBorderPosition, TableBorders, TableCell, TableCellMargins, TableLayoutType, TableRow, VAlignType, WidthType,
};

use super::doc::{table_columns, Block, Doc, Section, AI_MARKER, SOURCES_LABEL};

/// Errors from writing a `.docx` file (messages kept as strings so the error is `Clone`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocxError {
    /// Writing the file failed.
    #[error("cannot write docx file: {0}")]
    Io(String),
    /// docx-rs failed to build or zip the package.
    #[error("cannot build docx: {0}")]
    Docx(String),
}

impl From<std::io::Error> for DocxError {
    fn from(e: std::io::Error) -> Self {
        DocxError::Io(e.to_string())
    }
}

// ---- page geometry (twentieths of a point, "dxa") ----
const A4_WIDTH: u32 = 11906;
const A4_HEIGHT: u32 = 16838;
const MARGIN_TOP_BOTTOM: i32 = 1440; // 2.54 cm
const MARGIN_LEFT_RIGHT: i32 = 1417; // 2.5 cm
/// Text width between the margins: 11906 - 2 * 1417 = 9072 dxa (16 cm).
const TEXT_WIDTH: usize = (A4_WIDTH as usize) - 2 * (MARGIN_LEFT_RIGHT as usize);

// ---- fonts and sizes (sizes in half-points) ----
const FONT_LATIN: &str = "Calibri";
const FONT_EAST_ASIA: &str = "Microsoft YaHei";
const BODY_SIZE: usize = 21; // 10.5 pt
const TABLE_SIZE: usize = 19; // 9.5 pt
/// Tables of more than six columns are set smaller so that money figures stay on one line.
const WIDE_TABLE_SIZE: usize = 15; // 7.5 pt
const SMALL_SIZE: usize = 17; // 8.5 pt
const AI_MARKER_SIZE: usize = 15; // 7.5 pt

// ---- colours ----
const COLOR_TITLE: &str = "1F3864";
const COLOR_HEADING1: &str = "1F4E79";
const COLOR_HEADING2: &str = "2E74B5";
const COLOR_GREY: &str = "7F7F7F";
const COLOR_SUBTITLE: &str = "595959";
const COLOR_TABLE_BORDER: &str = "A6A6A6";
const FILL_TABLE_HEADER: &str = "DCE6F2";
const FILL_WARNING: &str = "FFF4CC";
const COLOR_WARNING_BORDER: &str = "E6B800";

// ---- style ids ----
const STYLE_NORMAL: &str = "Normal";
const STYLE_TITLE: &str = "Title";
const STYLE_SUBTITLE: &str = "Subtitle";
const STYLE_HEADING1: &str = "Heading1";
const STYLE_HEADING2: &str = "Heading2";
const STYLE_TOC_HEADING: &str = "TOCHeading";

/// Numbering instance used for bullet lists (id 1 is docx-rs' built-in default).
const BULLET_NUM_ID: usize = 2;
const TOC_TITLE: &str = "目录";

/// Writes `doc` as a `.docx` file at `path`.
pub fn write_docx(doc: &Doc, path: &Path) -> Result<(), DocxError> {
    let bytes = to_docx_bytes(doc)?;
    std::fs::write(path, bytes).map_err(|e| DocxError::Io(format!("{}: {e}", path.display())))
}

/// Renders `doc` as the bytes of a `.docx` file.
pub fn to_docx_bytes(doc: &Doc) -> Result<Vec<u8>, DocxError> {
    let mut cursor = Cursor::new(Vec::new());
    build(doc).pack(&mut cursor).map_err(|e| DocxError::Docx(e.to_string()))?;
    Ok(cursor.into_inner())
}

fn build(doc: &Doc) -> Docx {
    let mut docx = base_document();

    docx = docx.add_paragraph(text_paragraph(&doc.title).style(STYLE_TITLE));
    if let Some(sub) = doc.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
        docx = docx.add_paragraph(text_paragraph(sub).style(STYLE_SUBTITLE));
    }
    if !doc.warnings.is_empty() {
        docx = docx.add_table(warnings_box(&doc.warnings)).add_paragraph(spacer());
    }

    let headings: Vec<&Section> = doc.sections.iter().filter(|s| !s.heading.trim().is_empty()).collect();
    if !headings.is_empty() {
        docx = docx.add_paragraph(Paragraph::new().style(STYLE_TOC_HEADING).add_run(Run::new().add_text(TOC_TITLE)));
        for p in table_of_contents(&headings) {
            docx = docx.add_paragraph(p);
        }
    }

    let mut bookmark = 0;
    for section in &doc.sections {
        let id = if section.heading.trim().is_empty() {
            None
        } else {
            bookmark += 1;
            Some(bookmark)
        };
        docx = add_section(docx, section, id);
    }
    // Every table is followed by a paragraph, so the body never ends with a table
    // (which Word dislikes).
    docx
}

fn base_document() -> Docx {
    let fonts = RunFonts::new().ascii(FONT_LATIN).hi_ansi(FONT_LATIN).cs(FONT_LATIN).east_asia(FONT_EAST_ASIA);
    let bullet_level =
        Level::new(0, Start::new(1), NumberFormat::new("bullet"), LevelText::new("•"), LevelJc::new("left")).indent(
            Some(420),
            Some(SpecialIndentType::Hanging(280)),
            None,
            None,
        );

    Docx::new()
        .page_size(A4_WIDTH, A4_HEIGHT)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TOP_BOTTOM)
                .bottom(MARGIN_TOP_BOTTOM)
                .left(MARGIN_LEFT_RIGHT)
                .right(MARGIN_LEFT_RIGHT)
                .header(720)
                .footer(720),
        )
        .default_fonts(fonts)
        .default_size(BODY_SIZE)
        // docx-rs always writes an empty "Normal" style itself (a second one would be a
        // duplicate style id), so body spacing goes into the document defaults.
        .default_line_spacing(LineSpacing::new().after(120).line(276))
        .default_tab_stop(420)
        .add_abstract_numbering(AbstractNumbering::new(BULLET_NUM_ID).add_level(bullet_level))
        .add_numbering(Numbering::new(BULLET_NUM_ID, BULLET_NUM_ID))
        .add_style(title_style())
        .add_style(
            Style::new(STYLE_SUBTITLE, StyleType::Paragraph)
                .name("Subtitle")
                .based_on(STYLE_NORMAL)
                .next(STYLE_NORMAL)
                .size(20)
                .color(COLOR_SUBTITLE)
                .line_spacing(LineSpacing::new().after(240)),
        )
        .add_style(heading_style(1))
        .add_style(heading_style(2))
        .add_style(
            Style::new(STYLE_TOC_HEADING, StyleType::Paragraph)
                .name("TOC Heading")
                .based_on(STYLE_NORMAL)
                .next(STYLE_NORMAL)
                .size(26)
                .bold()
                .color(COLOR_HEADING1)
                .line_spacing(LineSpacing::new().before(120).after(120)),
        )
        .add_style(toc_entry_style(1))
        .add_style(toc_entry_style(2))
}

fn title_style() -> Style {
    let mut style = Style::new(STYLE_TITLE, StyleType::Paragraph)
        .name("Title")
        .based_on(STYLE_NORMAL)
        .next(STYLE_NORMAL)
        .size(36)
        .bold()
        .color(COLOR_TITLE)
        .line_spacing(LineSpacing::new().after(80));
    style.paragraph_property = style.paragraph_property.keep_next(true);
    style
}

/// "heading 1" / "heading 2": the built-in names Word and LibreOffice map to their
/// heading styles, with outline levels 0 / 1 so that a TOC field picks them up.
fn heading_style(level: u8) -> Style {
    let (id, size, color, before) =
        if level <= 1 { (STYLE_HEADING1, 30, COLOR_HEADING1, 360) } else { (STYLE_HEADING2, 25, COLOR_HEADING2, 240) };
    let mut style = Style::new(id, StyleType::Paragraph)
        .name(format!("heading {}", level.clamp(1, 2)))
        .based_on(STYLE_NORMAL)
        .next(STYLE_NORMAL)
        .size(size)
        .bold()
        .color(color)
        .outline_lvl(usize::from(level.clamp(1, 2) - 1))
        .line_spacing(LineSpacing::new().before(before).after(120));
    style.paragraph_property = style.paragraph_property.keep_next(true).keep_lines(true);
    if level <= 1 {
        style.paragraph_property = style.paragraph_property.set_borders(
            ParagraphBorders::with_empty().set(
                ParagraphBorder::new(ParagraphBorderPosition::Bottom)
                    .val(BorderType::Single)
                    .size(6)
                    .space(2)
                    .color(COLOR_HEADING1),
            ),
        );
    }
    style
}

/// "toc 1" / "toc 2" (ids "ToC1" / "ToC2") with a dotted right tab at the text margin
/// for the page numbers; Word also uses these names when it rebuilds the TOC.
fn toc_entry_style(level: i32) -> Style {
    let mut style = Style::new(format!("ToC{level}"), StyleType::Paragraph)
        .name(format!("toc {level}"))
        .based_on(STYLE_NORMAL)
        .next(STYLE_NORMAL)
        .indent(Some((level - 1) * 420), None, None, None)
        .line_spacing(LineSpacing::new().after(60));
    style.paragraph_property = style
        .paragraph_property
        .add_tab(Tab::new().val(TabValueType::Right).leader(TabLeaderType::Dot).pos(TEXT_WIDTH));
    style
}

/// Name of the bookmark around the `id`-th heading (1-based), the target of its TOC entry.
fn bookmark_name(id: usize) -> String {
    format!("_Toc{id:08}")
}

/// The table of contents: a `TOC \o "1-2" \h \u \z` field whose cached result already
/// lists the headings (as hyperlinks to bookmarks on them, with `PAGEREF` fields for the
/// page numbers), so viewers that do not update fields still show the entries. The field
/// is marked dirty so that Word rebuilds it (page numbers included) when the file is opened.
///
/// Written as plain paragraphs rather than docx-rs' `TableOfContents`: that one wraps the
/// entries in a bare content control, which makes LibreOffice print the field codes.
fn table_of_contents(headings: &[&Section]) -> Vec<Paragraph> {
    let instr = InstrToC::new()
        .heading_styles_range(1, 2)
        .hyperlink()
        .use_applied_paragraph_line_level()
        .hide_tab_and_page_numbers_in_webview();
    let last = headings.len().saturating_sub(1);
    headings
        .iter()
        .enumerate()
        .map(|(i, section)| {
            let bookmark = bookmark_name(i + 1);
            let mut p = Paragraph::new().style(&format!("ToC{}", section.effective_level()));
            if i == 0 {
                p = p
                    .add_run(Run::new().add_field_char(FieldCharType::Begin, true))
                    .add_run(Run::new().add_instr_text(InstrText::TOC(instr.clone())))
                    .add_run(Run::new().add_field_char(FieldCharType::Separate, false));
            }
            let text: String = section
                .heading
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .filter(|&c| is_xml_char(c))
                .collect();
            p = p.add_hyperlink(
                Hyperlink::new(&bookmark, HyperlinkType::Anchor)
                    .add_run(Run::new().add_text(text))
                    .add_run(Run::new().add_tab())
                    // Empty cached page number: Word fills it in when it updates the dirty
                    // TOC field; LibreOffice shows the entry without a number until the
                    // index is updated (Tools ▸ Update).
                    .add_run(
                        Run::new()
                            .add_field_char(FieldCharType::Begin, false)
                            .add_instr_text(InstrText::PAGEREF(InstrPAGEREF::new(&bookmark).hyperlink()))
                            .add_field_char(FieldCharType::Separate, false)
                            .add_text("")
                            .add_field_char(FieldCharType::End, false),
                    ),
            );
            if i == last {
                p = p.add_run(Run::new().add_field_char(FieldCharType::End, false));
            }
            p
        })
        .collect()
}

fn add_section(mut docx: Docx, section: &Section, bookmark: Option<usize>) -> Docx {
    if let Some(id) = bookmark {
        let style = if section.effective_level() == 1 { STYLE_HEADING1 } else { STYLE_HEADING2 };
        let p = Paragraph::new().style(style).add_bookmark_start(id, bookmark_name(id));
        docx = docx.add_paragraph(add_text_runs(p, &section.heading, &Run::new()).add_bookmark_end(id));
    }
    for block in &section.blocks {
        docx = add_block(docx, block);
    }
    docx
}

fn add_block(mut docx: Docx, block: &Block) -> Docx {
    match block {
        // Blank prose is skipped, as in the Markdown output.
        Block::Para { text, .. } | Block::Note { text } if text.trim().is_empty() => docx,
        Block::Para { text, ai } => {
            let mut p = Paragraph::new();
            if *ai {
                p = p.add_run(Run::new().add_text(format!("[{AI_MARKER}] ")).size(AI_MARKER_SIZE).color(COLOR_GREY));
            }
            docx.add_paragraph(add_text_runs(p, text, &Run::new()))
        }
        Block::Bullets { items } => {
            for item in items {
                let p = Paragraph::new()
                    .numbering(NumberingId::new(BULLET_NUM_ID), IndentLevel::new(0))
                    .line_spacing(LineSpacing::new().after(40));
                docx = docx.add_paragraph(add_text_runs(p, item, &Run::new()));
            }
            if !items.is_empty() {
                docx = docx.add_paragraph(spacer());
            }
            docx
        }
        Block::Table { header, rows, numeric, note } => {
            let note = note.as_deref().filter(|n| !n.trim().is_empty());
            if let Some(table) = data_table(header, rows, numeric, note.is_some()) {
                docx = docx.add_table(table);
            }
            // Always follow a table with a paragraph: it keeps two consecutive tables
            // from merging into one and gives some space before the next block.
            match note {
                Some(note) => docx
                    .add_paragraph(small_grey_paragraph(note).line_spacing(LineSpacing::new().before(60).after(200))),
                None => docx.add_paragraph(spacer()),
            }
        }
        Block::Note { text } => {
            docx.add_paragraph(add_text_runs(Paragraph::new(), text, &Run::new().italic().color(COLOR_GREY)))
        }
        Block::Sources { items } => {
            if items.is_empty() {
                return docx;
            }
            docx = docx.add_paragraph(
                Paragraph::new()
                    .keep_next(true)
                    .line_spacing(LineSpacing::new().before(120).after(40))
                    .add_run(Run::new().add_text(SOURCES_LABEL).bold().size(SMALL_SIZE).color(COLOR_SUBTITLE)),
            );
            for (n, text) in items {
                docx = docx.add_paragraph(
                    small_grey_paragraph(&format!("[{n}] {text}"))
                        .indent(Some(360), Some(SpecialIndentType::Hanging(360)), None, None)
                        .line_spacing(LineSpacing::new().after(20)),
                );
            }
            docx.add_paragraph(spacer())
        }
    }
}

/// The yellow one-cell box listing the warnings, each line starting with ⚠.
fn warnings_box(warnings: &[String]) -> Table {
    let mut cell = TableCell::new().width(TEXT_WIDTH, WidthType::Dxa).shading(Shading::new().fill(FILL_WARNING));
    for w in warnings {
        let p = Paragraph::new()
            .line_spacing(LineSpacing::new().before(20).after(20))
            .add_run(Run::new().add_text("⚠ ").bold().color("C00000"));
        cell = cell.add_paragraph(add_text_runs(p, w, &Run::new()));
    }
    let border = |pos| TableBorder::new(pos).border_type(BorderType::Single).size(8).color(COLOR_WARNING_BORDER);
    Table::new(vec![TableRow::new(vec![cell])])
        .set_grid(vec![TEXT_WIDTH])
        .width(TEXT_WIDTH, WidthType::Dxa)
        .layout(TableLayoutType::Fixed)
        .margins(TableCellMargins::new().margin(100, 160, 100, 160))
        .set_borders(
            TableBorders::with_empty()
                .set(border(TableBorderPosition::Top))
                .set(border(TableBorderPosition::Left))
                .set(border(TableBorderPosition::Bottom))
                .set(border(TableBorderPosition::Right)),
        )
}

/// A full-width bordered table with a bold shaded header row; `None` when it has no columns.
/// The header row is kept with the first data row, and with `keep_with_next` the last row
/// is kept with the paragraph after the table (its note).
fn data_table(header: &[String], rows: &[Vec<String>], numeric: &[bool], keep_with_next: bool) -> Option<Table> {
    let ncols = table_columns(header, rows);
    if ncols == 0 {
        return None;
    }
    let widths = column_widths(header, rows, ncols);
    let is_numeric = |i: usize| numeric.get(i).copied().unwrap_or(false);
    let size = if ncols > 6 { WIDE_TABLE_SIZE } else { TABLE_SIZE };

    let make_row = |cells: &[String], is_header: bool, keep_next: bool| {
        let cells = (0..ncols)
            .map(|i| {
                let text = cells.get(i).map(String::as_str).unwrap_or("");
                let align = if is_numeric(i) { AlignmentType::Right } else { AlignmentType::Left };
                let mut run = Run::new().size(size);
                if is_header {
                    run = run.bold();
                }
                let p = Paragraph::new()
                    .align(align)
                    .keep_next(keep_next)
                    .line_spacing(LineSpacing::new().before(0).after(0).line(240));
                let mut cell = TableCell::new()
                    .width(widths[i], WidthType::Dxa)
                    .vertical_align(VAlignType::Center)
                    .add_paragraph(add_text_runs(p, text, &run));
                if is_header {
                    cell = cell.shading(Shading::new().fill(FILL_TABLE_HEADER));
                }
                cell
            })
            .collect();
        TableRow::new(cells).cant_split()
    };

    let mut table_rows = Vec::with_capacity(rows.len() + 1);
    if !header.is_empty() {
        table_rows.push(make_row(header, true, true));
    }
    let last = rows.len().saturating_sub(1);
    table_rows.extend(rows.iter().enumerate().map(|(i, r)| make_row(r, false, keep_with_next && i == last)));

    let border = |pos| TableBorder::new(pos).border_type(BorderType::Single).size(4).color(COLOR_TABLE_BORDER);
    let borders = TableBorders::with_empty()
        .set(border(TableBorderPosition::Top))
        .set(border(TableBorderPosition::Left))
        .set(border(TableBorderPosition::Bottom))
        .set(border(TableBorderPosition::Right))
        .set(border(TableBorderPosition::InsideH))
        .set(border(TableBorderPosition::InsideV));

    Some(
        Table::new(table_rows)
            .set_grid(widths)
            .width(TEXT_WIDTH, WidthType::Dxa)
            .layout(TableLayoutType::Fixed)
            .margins(TableCellMargins::new().margin(50, 100, 50, 100))
            .set_borders(borders),
    )
}

/// Splits the text width over the columns in proportion to their widest cell
/// (CJK characters count double), with every column getting a fair minimum.
fn column_widths(header: &[String], rows: &[Vec<String>], ncols: usize) -> Vec<usize> {
    let display_width = |s: &str| -> usize { s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum::<usize>() };
    let weights: Vec<usize> = (0..ncols)
        .map(|i| {
            std::iter::once(header)
                .chain(rows.iter().map(Vec::as_slice))
                .filter_map(|r| r.get(i))
                .map(|c| display_width(c))
                .max()
                .unwrap_or(0)
                .clamp(6, 40)
                // the cell's own margins take the same room in every column
                + 3
        })
        .collect();
    let total: usize = weights.iter().sum();
    let mut widths: Vec<usize> = weights.iter().map(|w| TEXT_WIDTH * w / total).collect();
    // Give the rounding remainder to the last column so the grid adds up exactly.
    let used: usize = widths.iter().sum();
    if let Some(last) = widths.last_mut() {
        *last += TEXT_WIDTH - used;
    }
    widths
}

fn small_grey_paragraph(text: &str) -> Paragraph {
    add_text_runs(Paragraph::new(), text, &Run::new().size(SMALL_SIZE).color(COLOR_GREY))
}

/// An empty paragraph used as vertical space (and as a separator after tables and lists).
fn spacer() -> Paragraph {
    Paragraph::new().size(SMALL_SIZE).line_spacing(LineSpacing::new().before(0).after(0).line(200))
}

fn text_paragraph(text: &str) -> Paragraph {
    add_text_runs(Paragraph::new(), text, &Run::new())
}

/// Appends `text` as runs formatted like `template`: line breaks become `<w:br/>`,
/// tabs become `<w:tab/>`, and characters that are not allowed in XML are dropped.
/// Adds `text` as runs: line breaks, tabs, and Markdown `**bold**` spans (the document model's
/// text is the Markdown the .md file shows, so emphasis must not appear as asterisks here).
fn add_text_runs(mut p: Paragraph, text: &str, template: &Run) -> Paragraph {
    let mut pending_break = false;
    for (i, line) in text.trim_end().lines().enumerate() {
        if i > 0 {
            pending_break = true;
        }
        for (k, span) in line.split("**").enumerate() {
            if span.is_empty() && !pending_break {
                continue;
            }
            let mut run = template.clone();
            if k % 2 == 1 {
                run = run.bold();
            }
            if pending_break {
                run = run.add_break(BreakType::TextWrapping);
                pending_break = false;
            }
            for (j, piece) in span.split('\t').enumerate() {
                if j > 0 {
                    run = run.add_tab();
                }
                let clean: String = piece.chars().filter(|&c| is_xml_char(c)).collect();
                if !clean.is_empty() {
                    run = run.add_text(clean);
                }
            }
            p = p.add_run(run);
        }
    }
    p
}

/// Characters allowed in XML 1.0 text (tab and line breaks are handled by the caller).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {

    #[test]
    fn markdown_bold_becomes_bold_runs_not_asterisks() {
        let doc = Doc {
            title: "t".into(),
            subtitle: None,
            warnings: vec![],
            sections: vec![Section {
                heading: "h".into(),
                level: 1,
                blocks: vec![Block::Para { text: "**应用场景**\n驱动轮 315/80R22.5".into(), ai: false }],
            }],
        };
        let bytes = to_docx_bytes(&doc).unwrap();
        let json = docx_rs::read_docx(&bytes).unwrap().json();
        assert!(json.contains("应用场景") && !json.contains("**"), "asterisks left in the Word text");
        // the run holding the span's text is bold, the one after it is not
        fn runs(v: &serde_json::Value, out: &mut Vec<(bool, String)>) {
            if v["type"] == "run" {
                let text: String = v["data"]["children"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["data"]["text"].as_str())
                    .collect();
                out.push((v["data"]["runProperty"]["bold"] == true, text));
            }
            match v {
                serde_json::Value::Array(a) => a.iter().for_each(|x| runs(x, out)),
                serde_json::Value::Object(o) => o.values().for_each(|x| runs(x, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        runs(&serde_json::from_str(&json).unwrap(), &mut all);
        assert!(all.contains(&(true, "应用场景".to_string())), "{all:?}");
        assert!(all.iter().any(|(b, t)| !b && t.contains("驱动轮")), "{all:?}");
    }
    use super::*;
    use crate::doc::{Block, Doc, Section};
    use docx_rs::{DocumentChild, ParagraphChild, RunChild, TableCellContent, TableChild, TableRowChild};

    pub(crate) fn sample_doc() -> Doc {
        Doc {
            title: "经营分析会材料：2026年9月".into(),
            subtitle: Some("2026年9月 · 生成于 2026-12-05 · 状态：待复核".into()),
            warnings: vec!["数字 12.5% 未在数据中找到，请核对".into(), "缺少：华东区 9 月回款数据".into()],
            sections: vec![
                Section {
                    heading: "一、经营概况".into(),
                    level: 1,
                    blocks: vec![
                        Block::Para {
                            text: "本月实现收入 1,989,235.80 元，目标达成率 96.35%。".into(), ai: false
                        },
                        Block::Para {
                            text: "整体经营稳健，重点客户回款及时。\n第二行：建议关注应收账款周转。".into(),
                            ai: true,
                        },
                        Block::Bullets {
                            items: vec!["铁路运输收入同比增长 8.2%".into(), "仓储服务收入持平".into()]
                        },
                    ],
                },
                Section {
                    heading: "1.1 分区域达成".into(),
                    level: 2,
                    blocks: vec![
                        Block::Table {
                            header: vec!["区域".into(), "目标（元）".into(), "实际（元）".into(), "达成率".into()],
                            rows: vec![
                                vec!["华北".into(), "2,064,600.00".into(), "1,989,235.80".into(), "96.35%".into()],
                                vec![
                                    "华东 | 华南".into(),
                                    "1,500,000.00".into(),
                                    "1,620,118.42".into(),
                                    "108.01%".into(),
                                ],
                            ],
                            numeric: vec![false, true, true, true],
                            note: Some("口径：达成率 = 实际 / 目标".into()),
                        },
                        Block::Note { text: "待补充：客户知识库中没有相关资料".into() },
                    ],
                },
                Section {
                    heading: "二、客户画像".into(),
                    level: 1,
                    blocks: vec![
                        Block::Para {
                            text: "西伯利亚物流为长期合作客户，信用等级 A。".into(), ai: true
                        },
                        Block::Sources {
                            items: vec![
                                (1, "客户开发知识库 · 客户档案：西伯利亚物流 · 信用与付款条件".into()),
                                (2, "财务系统 · 2026年9月收入明细".into()),
                            ],
                        },
                    ],
                },
            ],
        }
    }

    fn children_text(children: &[ParagraphChild], out: &mut String) {
        for child in children {
            match child {
                ParagraphChild::Run(run) => {
                    for rc in &run.children {
                        if let RunChild::Text(t) = rc {
                            out.push_str(&t.text);
                        }
                    }
                }
                ParagraphChild::Hyperlink(h) => children_text(&h.children, out),
                _ => {}
            }
        }
    }

    fn paragraph_text(p: &Paragraph) -> String {
        let mut s = String::new();
        children_text(&p.children, &mut s);
        s
    }

    fn table_texts(t: &Table) -> Vec<String> {
        let mut out = Vec::new();
        for TableChild::TableRow(row) in &t.rows {
            for TableRowChild::TableCell(cell) in &row.cells {
                for content in &cell.children {
                    if let TableCellContent::Paragraph(p) = content {
                        out.push(paragraph_text(p));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn docx_round_trip() {
        let bytes = to_docx_bytes(&sample_doc()).expect("write docx");
        assert!(bytes.starts_with(b"PK"), "not a zip archive");
        let read = docx_rs::read_docx(&bytes).expect("read back docx");

        // Heading styles are defined with Word's built-in names and outline levels.
        for (id, name, outline) in [("Heading1", "heading 1", 0), ("Heading2", "heading 2", 1)] {
            let style = read.styles.find_style_by_id(id).unwrap_or_else(|| panic!("style {id} missing"));
            assert_eq!(style.name, docx_rs::Name::new(name));
            assert_eq!(style.paragraph_property.outline_lvl.as_ref().map(|o| o.v), Some(outline));
        }
        assert!(read.styles.find_style_by_id("Title").is_some());
        let mut ids: Vec<&str> = read.styles.styles.iter().map(|s| s.style_id.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate style ids: {ids:?}");

        let mut headings: Vec<(String, String)> = Vec::new();
        let mut toc: Vec<(String, String)> = Vec::new();
        let mut table_cells: Vec<String> = Vec::new();
        for child in &read.document.children {
            match child {
                DocumentChild::Paragraph(p) => {
                    if let Some(style) = &p.property.style {
                        if style.val.starts_with("Heading") {
                            headings.push((style.val.clone(), paragraph_text(p)));
                        } else if style.val.starts_with("ToC") {
                            toc.push((style.val.clone(), paragraph_text(p)));
                        }
                    }
                }
                DocumentChild::Table(t) => table_cells.extend(table_texts(t)),
                _ => {}
            }
        }
        let expected = [
            ("Heading1", "ToC1", "一、经营概况"),
            ("Heading2", "ToC2", "1.1 分区域达成"),
            ("Heading1", "ToC1", "二、客户画像"),
        ];
        let owned = |f: fn(&(&str, &str, &str)) -> (String, String)| expected.iter().map(f).collect::<Vec<_>>();
        assert_eq!(headings, owned(|e| (e.0.to_string(), e.2.to_string())));
        assert_eq!(toc, owned(|e| (e.1.to_string(), e.2.to_string())));
        assert!(table_cells.iter().any(|c| c == "96.35%"), "{table_cells:?}");
        assert!(table_cells.iter().any(|c| c == "华东 | 华南"));
        assert!(table_cells.iter().any(|c| c == "⚠ 缺少：华东区 9 月回款数据"), "warning missing: {table_cells:?}");
    }

    #[test]
    fn document_xml_has_toc_field_and_a4() {
        let xml = build(&sample_doc()).build().document;
        let xml = String::from_utf8(xml).expect("utf-8");
        assert!(xml.contains(r#"TOC \o &quot;1-2&quot; \h \u \z"#), "{xml}");
        assert!(xml.contains(r#"w:w="11906""#) && xml.contains(r#"w:h="16838""#));
        assert!(xml.contains("[AI] "));
    }

    #[test]
    fn control_characters_are_dropped() {
        let doc = Doc {
            title: "bad\u{0}title\u{1b}".into(),
            subtitle: None,
            warnings: vec![],
            sections: vec![Section {
                heading: "h".into(),
                level: 7,
                blocks: vec![
                    Block::Table { header: vec![], rows: vec![], numeric: vec![], note: None },
                    Block::Bullets { items: vec![] },
                    Block::Sources { items: vec![] },
                ],
            }],
        };
        let bytes = to_docx_bytes(&doc).expect("write docx");
        let read = docx_rs::read_docx(&bytes).expect("read back docx");
        let title = read
            .document
            .children
            .iter()
            .find_map(|c| match c {
                DocumentChild::Paragraph(p) => Some(paragraph_text(p)),
                _ => None,
            })
            .expect("title paragraph");
        assert_eq!(title, "badtitle");
    }

    #[test]
    fn write_docx_to_file() {
        let dir = std::env::temp_dir().join(format!("draftdoc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("sample.docx");
        write_docx(&sample_doc(), &path).expect("write");
        let len = std::fs::metadata(&path).expect("stat").len();
        assert!(len > 1000);
        // Set DRAFTDOC_SAMPLE_OUT=/some/file.docx to keep a copy for a visual check
        // (e.g. `soffice --headless --convert-to pdf`).
        if let Ok(out) = std::env::var("DRAFTDOC_SAMPLE_OUT") {
            std::fs::copy(&path, out).expect("copy sample");
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn write_docx_reports_io_errors() {
        let path = std::env::temp_dir().join("draftdoc-no-such-dir/x/sample.docx");
        match write_docx(&sample_doc(), &path) {
            Err(DocxError::Io(msg)) => assert!(msg.contains("draftdoc-no-such-dir"), "{msg}"),
            other => panic!("expected an i/o error, got {other:?}"),
        }
    }

    #[test]
    fn column_widths_fill_the_text_width() {
        let header = vec!["区域".to_string(), "金额".to_string()];
        let rows = vec![vec!["华北".to_string(), "1,989,235.80".to_string()]];
        let w = column_widths(&header, &rows, 3);
        assert_eq!(w.len(), 3);
        assert_eq!(w.iter().sum::<usize>(), TEXT_WIDTH);
    }
}
