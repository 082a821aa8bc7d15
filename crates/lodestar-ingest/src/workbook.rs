//! Reading a workbook (工作簿) into sheets: `.xlsx`, `.xlsm`, `.xls`, `.ods` through calamine,
//! and `.csv` as a one-sheet workbook. Merged regions come along so key columns can be filled.

use calamine::{Data, Dimensions, Range, Reader, Sheets};
use std::io::Cursor;
use std::path::Path;

/// One worksheet: its cells (absolute positions, as calamine gives them) and merged regions.
#[derive(Debug, Clone)]
pub struct SheetGrid {
    pub name: String,
    pub range: Range<Data>,
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
/// an unknown extension is sniffed.
pub fn read_sheets(bytes: &[u8], ext: &str) -> Result<Vec<SheetGrid>, ReadFailure> {
    if ext == "csv" {
        return read_csv(bytes).map(|g| vec![g]);
    }
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
        return std::thread::scope(|scope| {
            let merges = scope.spawn(|| -> Vec<Vec<Dimensions>> {
                let second: Result<calamine::Xlsx<_>, _> = calamine::open_workbook_from_rs(Cursor::new(bytes));
                match second {
                    Ok(mut y) => names.iter().map(|n| y.merge_cells_by_sheet_name(n).unwrap_or_default()).collect(),
                    Err(_) => vec![Vec::new(); names.len()],
                }
            });
            let mut ranges = Vec::with_capacity(names.len());
            for name in &names {
                ranges.push(x.worksheet_range(name).map_err(|e| ReadFailure(format!("sheet \"{name}\": {e}")))?);
            }
            let merges = merges.join().unwrap_or_else(|_| vec![Vec::new(); names.len()]);
            Ok(names
                .iter()
                .zip(ranges)
                .zip(merges)
                .zip(&hidden)
                .map(|(((name, range), merges), &hidden)| SheetGrid { name: name.clone(), range, merges, hidden })
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
        out.push(SheetGrid { name, range, merges, hidden });
    }
    Ok(out)
}

fn fail(e: &dyn std::fmt::Display) -> ReadFailure {
    ReadFailure(e.to_string())
}

/// A CSV file (UTF-8, optional BOM; `,` `;` or tab separated) as one sheet of text cells.
fn read_csv(bytes: &[u8]) -> Result<SheetGrid, ReadFailure> {
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
