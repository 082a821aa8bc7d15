//! Reading a workbook (工作簿) into sheets: `.xlsx`, `.xlsm`, `.xls`, `.ods` through calamine,
//! and `.csv` as a one-sheet workbook. Merged regions come along so key columns can be filled.

use calamine::{Cell, Data, DataRef, Dimensions, Range, Reader, Sheets};
use lodestar_core::ReadLimits;
use std::collections::HashMap;
use std::io::{Cursor, Read, Seek};
use std::path::Path;

/// One worksheet: its cells (absolute positions, as calamine gives them) and merged regions.
#[derive(Debug, Clone)]
pub struct SheetGrid {
    /// Sheet name as in the workbook.
    pub name: String,
    /// The used cells, at their absolute positions.
    pub range: Range<Data>,
    /// Merged cell regions.
    pub merges: Vec<Dimensions>,
    /// Hidden (or very hidden) in the workbook: usually a copy or a helper of a visible sheet.
    pub hidden: bool,
}

impl SheetGrid {
    /// First absolute (row, col) of the used range; (0, 0) when empty.
    pub fn origin(&self) -> (u32, u32) {
        self.range.start().unwrap_or((0, 0))
    }

    /// Rows of the used range, each as a slice over the used columns.
    pub fn rows(&self) -> impl Iterator<Item = &[Data]> {
        self.range.rows()
    }
}

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure(pub String);

/// Reads every sheet of a workbook from its bytes. `ext` (lower-case, no dot) picks the reader;
/// an unknown extension is sniffed. The zip container and each sheet's dimensions are held to
/// `limits` before the cells are read.
///
/// calamine panics on some malformed files (slice bounds in its `.xls` compound-file reader, for
/// one): a panic while reading becomes a [`ReadFailure`], like any other unreadable file.
pub fn read_sheets(bytes: &[u8], ext: &str, limits: &ReadLimits) -> Result<Vec<SheetGrid>, ReadFailure> {
    if ext == "csv" {
        return read_csv(bytes, limits).map(|g| vec![g]);
    }
    check_container(bytes, limits)?;
    check_xls(bytes, limits)?;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_book(bytes, ext, limits))) {
        Ok(r) => r,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(ReadFailure(format!("the workbook is malformed; the reader gave up ({why})")))
        }
    }
}

/// [`read_sheets`] of a workbook that passed the container checks.
fn read_book(bytes: &[u8], ext: &str, limits: &ReadLimits) -> Result<Vec<SheetGrid>, ReadFailure> {
    let cursor = Cursor::new(bytes);
    let mut book: Sheets<Cursor<&[u8]>> = match ext {
        "xlsx" | "xlsm" | "xlam" => Sheets::Xlsx(calamine::open_workbook_from_rs(cursor).map_err(|e| fail(&e))?),
        "xls" | "xla" => Sheets::Xls(calamine::open_workbook_from_rs(cursor).map_err(|e| fail(&e))?),
        "xlsb" => Sheets::Xlsb(calamine::open_workbook_from_rs(cursor).map_err(|e| fail(&e))?),
        "ods" => Sheets::Ods(calamine::open_workbook_from_rs(cursor).map_err(|e| fail(&e))?),
        _ => calamine::open_workbook_auto_from_rs(cursor).map_err(|e| fail(&e))?,
    };
    let names = book.sheet_names();
    let hidden: Vec<bool> = names
        .iter()
        .map(|n| {
            book.sheets_metadata()
                .iter()
                .find(|m| &m.name == n)
                .is_some_and(|m| !matches!(m.visible, calamine::SheetVisible::Visible))
        })
        .collect();
    if let Sheets::Xlsx(x) = &mut book {
        // The merged regions sit at the end of each sheet's XML, so finding them is a second full
        // pass over it: do that pass on a second reader in parallel with reading the cells.
        // a sheet refused on the main side stops the second pass at its next sheet (the scope
        // waits for it before the refusal is returned)
        let stop = std::sync::atomic::AtomicBool::new(false);
        return std::thread::scope(|scope| {
            let merges = scope.spawn(|| -> Vec<Vec<Dimensions>> {
                let second: Result<calamine::Xlsx<_>, _> = calamine::open_workbook_from_rs(Cursor::new(bytes));
                match second {
                    Ok(mut y) => names
                        .iter()
                        .map(|n| {
                            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                                return Vec::new();
                            }
                            y.merge_cells_by_sheet_name(n).unwrap_or_default()
                        })
                        .collect(),
                    Err(_) => vec![Vec::new(); names.len()],
                }
            });
            let mut ranges = Vec::with_capacity(names.len());
            for name in &names {
                match xlsx_range(x, name, limits) {
                    Ok(r) => ranges.push(r),
                    Err(e) => {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            let merges = merges.join().unwrap_or_else(|_| vec![Vec::new(); names.len()]);
            Ok(names
                .iter()
                .zip(ranges)
                .zip(merges)
                .zip(&hidden)
                .map(|(((name, range), merges), &hidden)| {
                    let merges = clip_merges(merges, &range);
                    SheetGrid { name: name.clone(), range, merges, hidden }
                })
                .collect())
        });
    }
    let mut out = Vec::with_capacity(names.len());
    for (name, hidden) in names.into_iter().zip(hidden) {
        let range = book.worksheet_range(&name).map_err(|e| ReadFailure(format!("sheet \"{name}\": {e}")))?;
        let merges = match &mut book {
            Sheets::Xls(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
            _ => Vec::new(),
        };
        let merges = clip_merges(merges, &range);
        out.push(SheetGrid { name, range, merges, hidden });
    }
    Ok(out)
}

/// `A1`-style name of a 0-based (row, column).
fn a1(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col as u64;
    loop {
        letters.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), row as u64 + 1)
}

/// An `.xlsx` sheet's cells, read one by one so that the sheet's span is known — and refused when
/// over `limits.max_sheet_cells` — before room for the whole span is taken. The dimension the
/// sheet declares (`<dimension ref="A1:XFD1048576"/>`) is held to the same limit before any cell is
/// read.
fn xlsx_range<RS: Read + Seek>(
    x: &mut calamine::Xlsx<RS>,
    name: &str,
    limits: &ReadLimits,
) -> Result<Range<Data>, ReadFailure> {
    let fail = |e: &dyn std::fmt::Display| ReadFailure(format!("sheet \"{name}\": {e}"));
    let mut reader = match x.worksheet_cells_reader(name) {
        Ok(r) => r,
        // a chart sheet or dialog sheet: no cells (as `worksheet_range` has it)
        Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok(Range::default()),
        Err(e) => return Err(fail(&e)),
    };
    let d = reader.dimensions();
    if d.end.0 >= d.start.0 && d.end.1 >= d.start.1 {
        let what = format!("declares the dimension {}:{},", a1(d.start.0, d.start.1), a1(d.end.0, d.end.1));
        limits
            .check_sheet(name, u64::from(d.end.0 - d.start.0) + 1, u64::from(d.end.1 - d.start.1) + 1, &what)
            .map_err(|e| ReadFailure(e.0))?;
    }
    let mut cells: Vec<Cell<Data>> = Vec::new();
    let (mut top, mut left, mut bottom, mut right) = (u32::MAX, u32::MAX, 0u32, 0u32);
    while let Some(cell) = reader.next_cell().map_err(|e| fail(&e))? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (r, c) = cell.get_position();
        (top, left, bottom, right) = (top.min(r), left.min(c), bottom.max(r), right.max(c));
        let (rows, cols) = (u64::from(bottom - top) + 1, u64::from(right - left) + 1);
        if rows.saturating_mul(cols) > limits.max_sheet_cells || cells.len() as u64 >= limits.max_sheet_cells {
            let what = format!("has cells from {} to {}:", a1(top, left), a1(bottom, right));
            let e = limits
                .check_sheet(name, rows, cols, &what)
                .err()
                .map_or_else(|| format!("sheet \"{name}\": over {} cells", limits.max_sheet_cells), |e| e.0);
            return Err(ReadFailure(format!("{e}; delete the stray cells far from the data")));
        }
        cells.push(Cell::new((r, c), Data::from(cell.get_value().clone())));
    }
    Ok(Range::from_sparse(cells))
}

/// The merged regions whose top-left cell (the one that holds the text) lies in the sheet's used
/// cells, cut to them; the others carry no text. Once the regions kept cover as many cells as the
/// sheet spans (they cannot overlap in a sound file), the rest are dropped: filling key columns
/// from merges then takes at most one pass over the sheet, whatever the file declares.
fn clip_merges(merges: Vec<Dimensions>, range: &Range<Data>) -> Vec<Dimensions> {
    let (Some(start), Some(end)) = (range.start(), range.end()) else { return Vec::new() };
    let inside = |(r, c): (u32, u32)| (start.0..=end.0).contains(&r) && (start.1..=end.1).contains(&c);
    let budget = (end.0 - start.0) as u64 + 1;
    let mut budget = budget * ((end.1 - start.1) as u64 + 1);
    let mut out: Vec<Dimensions> = Vec::new();
    for m in merges {
        if !inside(m.start) || m.end.0 < m.start.0 || m.end.1 < m.start.1 {
            continue;
        }
        let end = (m.end.0.min(end.0), m.end.1.min(end.1));
        let area = (end.0 - m.start.0) as u64 + 1;
        let area = area * ((end.1 - m.start.1) as u64 + 1);
        if area > budget {
            break;
        }
        budget -= area;
        out.push(Dimensions { start: m.start, end });
    }
    out
}

/// Checks of a zip container (`.xlsx`, `.xlsm`, `.ods`) before the workbook reader opens it:
/// [`ReadLimits::check_zip`] (entries, declared and real uncompressed sizes, compression ratio),
/// the count a shared-string table announces, and the repeat counts of an `.ods`. Not a zip, or a
/// zip that does not open: left to the reader to report.
fn check_container(bytes: &[u8], limits: &ReadLimits) -> Result<(), ReadFailure> {
    if !bytes.starts_with(b"PK") {
        return Ok(());
    }
    limits.check_zip(bytes).map_err(|e| ReadFailure(e.0))?;
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else { return Ok(()) };
    for i in 0..zip.len() {
        let Ok(f) = zip.by_index(i) else { continue };
        let (name, size) = (f.name().map(|n| n.into_owned()).unwrap_or_default(), f.size());
        if !name.to_ascii_lowercase().ends_with(".xml") {
            continue;
        }
        let mut head = Vec::new();
        if f.take(64 << 10).read_to_end(&mut head).is_err() {
            continue;
        }
        if let Some(n) = announced_strings(&head) {
            // the reader reserves room for the announced count before reading any: a table may
            // announce up to `max_shared_strings`, or as many as its bytes could hold
            if n > limits.max_shared_strings && n > size / 4 {
                return Err(ReadFailure(
                    lodestar_core::LimitExceeded::new(
                        format!(
                            "{name} announces {n} shared strings in {size} bytes, over the limit of {}",
                            limits.max_shared_strings
                        ),
                        "max_shared_strings",
                    )
                    .0,
                ));
            }
        }
    }
    check_sheet_parts(&mut zip)?;
    if let Ok(content) = zip.by_name("content.xml") {
        check_ods_repeats(content, limits.max_sheet_cells)?;
    }
    Ok(())
}

/// `.xlsx`: each `<sheet>` of the workbook part must name its own worksheet part. The reader reads
/// a part once per sheet that names it, so one part named by hundreds of sheet entries (a fuzzed
/// file: 167 entries on one 64 MiB part took 108 s) multiplies the work by that count. Sheets are
/// told apart by the target their relationship gives (by the relationship id where none does).
fn check_sheet_parts<RS: Read + Seek>(zip: &mut zip::ZipArchive<RS>) -> Result<(), ReadFailure> {
    use quick_xml::events::Event;
    let books: Vec<String> = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i).and_then(|n| n.ok()).map(|n| n.into_owned()))
        .filter(|n| n.to_ascii_lowercase().ends_with("workbook.xml") && !n.contains("_rels"))
        .collect();
    let local = |k: &str| -> String { k.rsplit(':').next().unwrap_or(k).to_string() };
    for book in books {
        // Id → Target of the workbook's relationships (`xl/_rels/workbook.xml.rels`)
        let (dir, file) = book.rsplit_once('/').map_or(("", book.as_str()), |(d, f)| (d, f));
        let rels_name = if dir.is_empty() { format!("_rels/{file}.rels") } else { format!("{dir}/_rels/{file}.rels") };
        let mut targets: HashMap<String, String> = HashMap::new();
        if let Ok(f) = zip.by_name(&rels_name) {
            let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(f));
            let mut buf = Vec::new();
            loop {
                match xml.read_event_into(&mut buf) {
                    Ok(Event::Start(e) | Event::Empty(e)) if local(e.name().as_ref()) == "Relationship" => {
                        let (mut id, mut target) = (None, None);
                        for a in e.attributes().flatten() {
                            match local(a.key.as_ref()).as_str() {
                                "Id" => id = Some(a.value.to_string()),
                                "Target" => {
                                    let t = a.value.to_string();
                                    target = Some(match t.strip_prefix('/') {
                                        Some(abs) => abs.to_string(),
                                        None if dir.is_empty() => t,
                                        None => format!("{dir}/{t}"),
                                    });
                                }
                                _ => {}
                            }
                        }
                        if let (Some(i), Some(t)) = (id, target) {
                            targets.insert(i, t);
                        }
                    }
                    Ok(Event::Eof) | Err(_) => break,
                    _ => {}
                }
                buf.clear();
            }
        }
        let Ok(f) = zip.by_name(&book) else { continue };
        let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(f));
        let mut buf = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        loop {
            match xml.read_event_into(&mut buf) {
                Ok(Event::Start(e) | Event::Empty(e)) if local(e.name().as_ref()) == "sheet" => {
                    let (mut name, mut rel) = (String::new(), None);
                    for a in e.attributes().flatten() {
                        match local(a.key.as_ref()).as_str() {
                            "name" => name = a.value.to_string(),
                            "id" => rel = Some(a.value.to_string()),
                            _ => {}
                        }
                    }
                    let Some(rel) = rel else { continue };
                    let part = targets.get(&rel).cloned().unwrap_or(rel);
                    if let Some(first) = seen.insert(part.clone(), name.clone()) {
                        return Err(ReadFailure(format!(
                            "{book}: sheets \"{first}\" and \"{name}\" both name the part {part} (a damaged workbook)"
                        )));
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
            buf.clear();
        }
    }
    Ok(())
}

/// `.ods`: rows and cells say how often they repeat (`table:number-rows-repeated`,
/// `table:number-columns-repeated`), a few bytes that can ask for billions of cells. The reader
/// expands the columns of every row, then every row of a table's used block: both counts are
/// worked out here first and refused over `max_cells`, per table and for all the tables together
/// (the reader expands every table while it opens the file: 67 tables of a million rows each
/// took minutes). Cells with no value (the thousand-column blank rows that pad real files) take
/// no room and are not counted.
fn check_ods_repeats(content: impl Read, max_cells: u64) -> Result<(), ReadFailure> {
    use quick_xml::events::Event;
    const MAX_ROWS: u64 = 1 << 20; // the reader's caps: rows of a table, columns of a row
    const MAX_COLS: u64 = 1 << 14;
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(content));
    xml.config_mut().expand_empty_elements = true;
    let repeat = |e: &quick_xml::events::BytesStart, attr: &str| -> u64 {
        e.try_get_attribute(attr).ok().flatten().and_then(|a| a.value.trim().parse::<u64>().ok()).unwrap_or(1)
    };
    let mut table = String::new();
    // the blocks of the tables before this one
    let mut done = 0u64;
    let mut block = 0u64;
    let (mut row, mut row_rep, mut col, mut in_cell, mut cell_rep, mut cell_value) =
        (0u64, 1u64, 0u64, false, 1u64, false);
    let (mut expanded, mut row_last, mut first_row, mut last_row, mut left, mut right) =
        (0u64, 0u64, None::<u64>, 0u64, u64::MAX, 0u64);
    let mut buf = Vec::new();
    // open elements: content.xml must close them all — calamine's .ods reader loops for ever on
    // one cut short, and gives up on broken XML anyway
    let mut depth = 0usize;
    loop {
        buf.clear();
        let ev = match xml.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => return Err(ReadFailure(format!("content.xml is not well-formed XML: {e}"))),
        };
        match &ev {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof if depth > 0 => {
                return Err(ReadFailure(format!(
                    "content.xml ends inside {depth} open elements: the file is cut short or malformed"
                )))
            }
            _ => {}
        }
        match ev {
            Event::Start(e) => match e.local_name().as_ref() {
                "table" => {
                    table = e
                        .try_get_attribute("table:name")
                        .ok()
                        .flatten()
                        .map(|a| a.value.to_string())
                        .unwrap_or_default();
                    done = done.saturating_add(block);
                    (row, expanded, block, first_row, last_row, left, right) = (0, 0, 0, None, 0, u64::MAX, 0);
                }
                "table-row" => {
                    // a sound file never repeats past the grid (its padding ends at the last row
                    // or column exactly); a count past it made the reader loop for minutes
                    row_rep = repeat(&e, "table:number-rows-repeated");
                    if row.saturating_add(row_rep) > MAX_ROWS {
                        return Err(past_grid(&table, row_rep, "rows", MAX_ROWS));
                    }
                    (col, row_last) = (0, 0);
                }
                "table-cell" | "covered-table-cell" => {
                    cell_rep = repeat(&e, "table:number-columns-repeated");
                    if col.saturating_add(cell_rep) > MAX_COLS {
                        return Err(past_grid(&table, cell_rep, "columns", MAX_COLS));
                    }
                    in_cell = true;
                    cell_value = e.try_get_attribute("office:value-type").ok().flatten().is_some();
                }
                _ => {}
            },
            Event::Text(t) if in_cell && t.chars().any(|c| !c.is_whitespace()) => cell_value = true,
            Event::End(e) => match e.local_name().as_ref() {
                "table-cell" | "covered-table-cell" => {
                    in_cell = false;
                    let end = col.saturating_add(cell_rep).min(MAX_COLS);
                    if cell_value && end > col {
                        (left, right, row_last) = (left.min(col), right.max(end - 1), end);
                    }
                    col = end;
                }
                "table-row" => {
                    expanded = expanded.saturating_add(row_last);
                    if row_last > 0 {
                        first_row.get_or_insert(row);
                        last_row = row.saturating_add(row_rep.max(1) - 1);
                    }
                    row = row.saturating_add(row_rep);
                    block = first_row.map_or(0, |f| (last_row - f + 1).saturating_mul(right.saturating_sub(left) + 1));
                    if expanded > max_cells || block > max_cells {
                        return Err(ReadFailure(format!(
                            "sheet \"{table}\": its repeated rows and columns come to {} cells, over the limit of {max_cells} (raise `[limits] max_sheet_cells` in config.toml to read it anyway)",
                            expanded.max(block)
                        )));
                    }
                    if done.saturating_add(block) > max_cells {
                        return Err(ReadFailure(format!(
                            "the sheets' repeated rows and columns come to {} cells together (at sheet \"{table}\"), over the limit of {max_cells} (raise `[limits] max_sheet_cells` in config.toml to read it anyway)",
                            done.saturating_add(block)
                        )));
                    }
                }
                _ => {}
            },
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn past_grid(table: &str, count: u64, what: &str, max: u64) -> ReadFailure {
    ReadFailure(format!(
        "sheet \"{table}\": a count of {count} repeated {what} runs past the sheet's {max} {what}: the file is malformed"
    ))
}

/// The `uniqueCount` of an `<sst …>` start tag at the head of a part.
fn announced_strings(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let tag_start = text.match_indices("sst").map(|(i, _)| i).find(|&i| {
        let before = text[..i].trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '-');
        before.ends_with('<') || before.ends_with(':')
    })?;
    let tag = &text[tag_start..tag_start + text[tag_start..].find('>')?];
    let at = tag.find("uniqueCount")? + "uniqueCount".len();
    let v = tag[at..].trim_start().strip_prefix('=')?.trim_start();
    let v = v.trim_start_matches(['"', '\'']).trim_start_matches('+');
    let digits: String = v.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
}

fn fail(e: &dyn std::fmt::Display) -> ReadFailure {
    ReadFailure(e.to_string())
}

/// A CSV file (UTF-8, optional BOM; `,` `;` or tab separated) as one sheet of text cells.
fn read_csv(bytes: &[u8], limits: &ReadLimits) -> Result<SheetGrid, ReadFailure> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ReadFailure("CSV file is not UTF-8 text (save it as CSV UTF-8)".into()))?
        .trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or("");
    let delim =
        [b',', b';', b'\t'].into_iter().max_by_key(|d| first.bytes().filter(|b| b == d).count()).unwrap_or(b',');
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delim).from_reader(text.as_bytes());
    let mut rows: Vec<Vec<String>> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| ReadFailure(format!("CSV: {e}")))?;
        rows.push(rec.iter().map(|s| s.to_string()).collect());
    }
    let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    limits.check_sheet("csv", rows.len() as u64, width as u64, "has").map_err(|e| ReadFailure(e.0))?;
    let range = if rows.is_empty() || width == 0 {
        Range::empty()
    } else {
        let mut range = Range::new((0, 0), (rows.len() as u32 - 1, width as u32 - 1));
        for (r, row) in rows.into_iter().enumerate() {
            for (c, v) in row.into_iter().enumerate() {
                if !v.is_empty() {
                    range.set_value((r as u32, c as u32), Data::String(v));
                }
            }
        }
        range
    };
    Ok(SheetGrid { name: "csv".into(), range, merges: Vec::new(), hidden: false })
}

/// Lower-case extension of a path ("" when none).
pub fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_default()
}

/// `.xls`: calamine reads every sheet while it opens the file, reserving room for the cells a
/// sheet's DIMENSIONS record declares and then for the whole span of its cell records — sizes a
/// few bytes of the file choose (a fuzzed file asked for 1.3 TB). The BIFF records of the workbook
/// stream are walked here first and each sheet held to `limits.max_sheet_cells`.
fn check_xls(bytes: &[u8], limits: &ReadLimits) -> Result<(), ReadFailure> {
    let Some(stream) = cfb_stream(bytes, &["Workbook", "Book"]) else { return Ok(()) };
    let stream = stream.map_err(ReadFailure)?;
    let u16at = |d: &[u8], o: usize| d.get(o..o + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
    let u32at = |d: &[u8], o: usize| d.get(o..o + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
    let mut sheet = 0usize;
    // substream 1 holds the globals: sheet n is substream n + 1
    let name = |sheet: usize| format!("#{}", sheet.saturating_sub(1));
    let (mut top, mut left, mut bottom, mut right) = (u32::MAX, u32::MAX, 0u32, 0u32);
    let mut pos = 0usize;
    while let (Some(typ), Some(len)) = (u16at(&stream, pos), u16at(&stream, pos + 2)) {
        let end = (pos + 4 + len as usize).min(stream.len());
        let data = &stream[pos + 4..end];
        pos = end;
        let cell = match typ {
            // BOF: a new substream (the globals, then one per sheet)
            0x0809 | 0x0409 | 0x0209 | 0x0009 => {
                sheet += 1;
                (top, left, bottom, right) = (u32::MAX, u32::MAX, 0, 0);
                None
            }
            // DIMENSIONS, as calamine reads it (end before start wraps around there)
            0x0200 => {
                let (rf, rl, cf, cl) = match data.len() {
                    10 => (
                        u32::from(u16at(data, 0).unwrap_or(0)),
                        u32::from(u16at(data, 2).unwrap_or(0)),
                        u32::from(u16at(data, 4).unwrap_or(0)),
                        u32::from(u16at(data, 6).unwrap_or(0)),
                    ),
                    14 | 16 => (
                        u32at(data, 0).unwrap_or(0),
                        u32at(data, 4).unwrap_or(0),
                        u32::from(u16at(data, 8).unwrap_or(0)),
                        u32::from(u16at(data, 10).unwrap_or(0)),
                    ),
                    _ => (0, 0, 0, 0),
                };
                let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
                if rl >= 1 && cl >= 1 {
                    let rows = if rl > rf { u64::from(rl - rf) } else { u64::MAX };
                    let cols = if cl > cf { u64::from(cl - cf) } else { u64::MAX };
                    limits.check_sheet(&name(sheet), rows, cols, "declares").map_err(|e| ReadFailure(e.0))?;
                }
                None
            }
            // cells: row, column first
            0x0203 | 0x0204 | 0x00FD | 0x027E | 0x0006 | 0x0205 | 0x00D6 | 0x0201 | 0x0002 | 0x0003 | 0x0004
            | 0x0005 | 0x0406 => match (u16at(data, 0), u16at(data, 2)) {
                (Some(r), Some(c)) => Some((u32::from(r), u32::from(c), u32::from(c))),
                _ => None,
            },
            // MULRK / MULBLANK: row, first column, …, last column
            0x00BD | 0x00BE if data.len() >= 6 => match (u16at(data, 0), u16at(data, 2), u16at(data, data.len() - 2)) {
                (Some(r), Some(c0), Some(c1)) => Some((u32::from(r), u32::from(c0), u32::from(c1.max(c0)))),
                _ => None,
            },
            _ => None,
        };
        if let Some((r, c0, c1)) = cell {
            (top, left, bottom, right) = (top.min(r), left.min(c0), bottom.max(r), right.max(c1));
            let (rows, cols) = (u64::from(bottom - top) + 1, u64::from(right - left) + 1);
            limits.check_sheet(&name(sheet), rows, cols, "has cells spanning").map_err(|e| ReadFailure(e.0))?;
        }
    }
    Ok(())
}

/// A stream of a compound file (the container of `.xls`), by name; `None` when the bytes are not a
/// compound file or the stream cannot be found (calamine then reports the file); sectors past the
/// end of a cut file are skipped. Every sector
/// chain is bounded by the sectors the file holds, so a looping or lying chain ends.
fn cfb_stream(b: &[u8], names: &[&str]) -> Option<Result<Vec<u8>, String>> {
    const SIG: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    const LAST: u32 = 0xFFFF_FFFA; // ids from here on are markers (end of chain, free, FAT, DIFAT)
    if b.len() < 512 || b[..8] != SIG {
        return None;
    }
    let u16at = |d: &[u8], o: usize| d.get(o..o + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
    let u32at = |d: &[u8], o: usize| d.get(o..o + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
    // the sector sizes calamine reads (it refuses any other): 512 or 4096 bytes, mini sectors of 64
    let shift = u16at(b, 0x1E)?;
    if !matches!(shift, 9 | 12) || u16at(b, 0x20)? != 6 {
        return None;
    }
    let (ss, ms) = (1usize << shift, 64usize);
    let max_sectors = b.len() / ss + 1;
    let sector = |n: u32| -> Option<&[u8]> {
        // the last sector of a cut file may be partial: what is there is read
        let off = (n as usize).checked_add(1)?.checked_mul(ss)?;
        b.get(off..off.checked_add(ss)?.min(b.len())).filter(|s| !s.is_empty())
    };
    let mut fat_ids: Vec<u32> = (0..109).filter_map(|i| u32at(b, 0x4C + 4 * i)).filter(|&id| id < LAST).collect();
    let mut difat = u32at(b, 0x44)?;
    let mut hops = 0;
    while difat < LAST && hops < max_sectors {
        hops += 1;
        let Some(s) = sector(difat) else { break };
        fat_ids.extend(
            s[..s.len().saturating_sub(4)]
                .chunks_exact(4)
                .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
                .filter(|&id| id < LAST),
        );
        difat = if s.len() == ss { u32at(s, ss - 4).unwrap_or(LAST) } else { LAST };
    }
    fat_ids.truncate(max_sectors);
    let mut fat: Vec<u32> = Vec::new();
    // a sector past the end of a cut file is skipped, as calamine reads on without it
    for id in fat_ids {
        let Some(sec) = sector(id) else { continue };
        fat.extend(sec.chunks_exact(4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]])));
    }
    let chain = |start: u32, table: &[u32]| -> Vec<u32> {
        let mut out = Vec::new();
        let mut n = start;
        while n < LAST && out.len() < table.len() {
            out.push(n);
            n = match table.get(n as usize) {
                Some(&next) => next,
                None => break,
            };
        }
        out
    };
    let read =
        |start: u32| -> Vec<u8> { chain(start, &fat).into_iter().filter_map(sector).flatten().copied().collect() };
    // the directory entries as calamine reads them: the name is the 64-byte field up to its first
    // NUL (whatever the length field and the entry type say), the first entry is the root (its
    // chain is the mini stream), and the first name of `names` found wins
    let dir = read(u32at(b, 0x30)?);
    let entries: Vec<(String, u32, u64)> = dir
        .chunks_exact(128)
        .filter_map(|e| {
            let name: String = char::decode_utf16(e[..64].chunks_exact(2).map(|x| u16::from_le_bytes([x[0], x[1]])))
                .map(|c| c.unwrap_or('\u{fffd}'))
                .take_while(|&c| c != '\0')
                .collect();
            let size = if shift == 9 {
                u64::from(u32at(e, 120)?)
            } else {
                u64::from(u32at(e, 120)?) | u64::from(u32at(e, 124)?) << 32
            };
            Some((name, u32at(e, 116)?, size))
        })
        .collect();
    let root = entries.first().map(|e| e.1);
    let (_, start, size) = names.iter().find_map(|n| entries.iter().find(|e| e.0.eq_ignore_ascii_case(n)).cloned())?;
    // streams under 4,096 bytes live in the mini stream: calamine takes that cutoff as fixed, not
    // from the header (a header saying 65,535 once hid a sheet's cells from this check)
    let mut data = if size < 4096 {
        if u32at(b, 0x40)? == 0 {
            // no mini FAT: calamine would read the stream from wherever its reader stands
            return Some(Err(format!(
                "the {size}-byte workbook stream belongs in the mini stream, but the file has no mini FAT (a damaged .xls)"
            )));
        }
        let mini = read(root?);
        let minifat: Vec<u32> =
            read(u32at(b, 0x3C)?).chunks_exact(4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]])).collect();
        chain(start, &minifat)
            .into_iter()
            .filter_map(|n| mini.get(n as usize * ms..(n as usize + 1) * ms))
            .flatten()
            .copied()
            .collect()
    } else {
        read(start)
    };
    data.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    Some(Ok(data))
}
