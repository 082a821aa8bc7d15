//! Resource limits (`[limits]` of config.toml): zip bombs, too many entries and absurd sheet
//! dimensions are refused with an error that names the file, the limit and its key — before any
//! cell is read, and with nothing stored.

use crate::common::{book, count, dicts, sheet, C};
use lodestar_core::ReadLimits;
use lodestar_ingest::{import_file, ImportOptions, IngestError};
use lodestar_store::Store;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A small, sound sales workbook.
fn sales_book(dir: &Path) -> PathBuf {
    let rows = vec![
        vec![
            C::S("月份"),
            C::S("国家"),
            C::S("客户"),
            C::S("品类"),
            C::S("规格"),
            C::S("销量"),
            C::S("销售额"),
            C::S("币种"),
        ],
        vec![
            C::S("2026-09"),
            C::S("俄罗斯"),
            C::S("Sibir Logistics"),
            C::S("TBR"),
            C::S("315/80R22.5"),
            C::N(10.0),
            C::N(1000.0),
            C::S("USD"),
        ],
    ];
    book(dir, "sales.xlsx", &[sheet("Sales", rows)])
}

/// The zip's entries (name, bytes).
fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().map(|n| n.into_owned()).unwrap(), b)
        })
        .collect()
}

fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

/// Imports `path` under `limits`; the error's text. Nothing may be stored, and the refusal must
/// come fast (before the work).
fn refused(path: &Path, limits: ReadLimits) -> String {
    let mut store = Store::open_in_memory().unwrap();
    let t = Instant::now();
    let err =
        import_file(&mut store, &dicts(), path, &ImportOptions { limits, ..ImportOptions::default() }).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(20), "refused only after {:?}", t.elapsed());
    assert!(matches!(err, IngestError::Unreadable { .. }), "{err:?}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM import_batches"), 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sales"), 0);
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "the error names the file: {msg}");
    msg
}

#[test]
fn the_sound_book_imports_under_the_default_limits() {
    let dir = tempfile::tempdir().unwrap();
    let p = sales_book(dir.path());
    let mut store = Store::open_in_memory().unwrap();
    let r = import_file(&mut store, &dicts(), &p, &ImportOptions::default()).unwrap();
    assert_eq!(r.imported, 1, "{r:?}");
}

#[test]
fn zip_bomb_part_is_refused_by_its_compression_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = entries(&sales_book(dir.path()));
    // 64 MiB of spaces deflate to about 64 KiB: a ratio of about 1000
    e.push(("xl/media/pad.xml".into(), vec![b' '; 64 << 20]));
    let p = dir.path().join("bomb.xlsx");
    write_zip(&p, &e);
    assert!(std::fs::metadata(&p).unwrap().len() < 256 << 10);
    let msg = refused(&p, ReadLimits::default());
    assert!(
        msg.contains("xl/media/pad.xml") && msg.contains("max_compression_ratio") && msg.contains("zip bomb"),
        "{msg}"
    );
}

/// Sets the uncompressed size an entry declares, in its local header and its central-directory
/// record (the zip then lies about it).
fn declare_size(zip: &mut [u8], name: &str, size: u32) {
    let n = name.as_bytes();
    let mut patched = 0;
    for i in 0..zip.len().saturating_sub(46) {
        if zip[i..].starts_with(b"PK\x03\x04") && zip[i + 30..].starts_with(n) {
            zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
        if zip[i..].starts_with(b"PK\x01\x02") && zip[i + 46..].starts_with(n) {
            zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "{name}");
}

#[test]
fn total_uncompressed_size_is_refused_declared_or_real() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = entries(&sales_book(dir.path()));
    e.push(("xl/media/pad.xml".into(), vec![b' '; 8 << 20]));
    let p = dir.path().join("big.xlsx");
    write_zip(&p, &e);
    // no ratio limit: the total is what refuses it
    let limits = ReadLimits { max_uncompressed_bytes: 4 << 20, max_compression_ratio: u64::MAX, ..Default::default() };
    let msg = refused(&p, limits.clone());
    assert!(msg.contains("declare") && msg.contains("max_uncompressed_bytes"), "{msg}");
    // the same part declaring a tiny size: what it really inflates to is counted (the workbook
    // reader's zip would inflate all of it)
    let mut bytes = std::fs::read(&p).unwrap();
    declare_size(&mut bytes, "xl/media/pad.xml", 1000);
    let lying = dir.path().join("lying.xlsx");
    std::fs::write(&lying, &bytes).unwrap();
    let msg = refused(&lying, limits);
    assert!(msg.contains("inflate to") && msg.contains("max_uncompressed_bytes"), "{msg}");
    // a declared 4 GiB part under the default limits
    let mut bytes = std::fs::read(&p).unwrap();
    declare_size(&mut bytes, "xl/media/pad.xml", u32::MAX - 1);
    let huge = dir.path().join("huge.xlsx");
    std::fs::write(&huge, &bytes).unwrap();
    let msg = refused(&huge, ReadLimits::default());
    assert!(msg.contains("max_uncompressed_bytes") || msg.contains("max_compression_ratio"), "{msg}");
}

#[test]
fn too_many_zip_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = entries(&sales_book(dir.path()));
    for i in 0..10_001 {
        e.push((format!("xl/media/p{i}.xml"), b"<a/>".to_vec()));
    }
    let p = dir.path().join("many.xlsx");
    write_zip(&p, &e);
    let msg = refused(&p, ReadLimits::default());
    assert!(msg.contains(&format!("{} entries", e.len())) && msg.contains("max_zip_entries"), "{msg}");
}

/// The sales book with its sheet XML edited.
fn edited_sheet(dir: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let mut e = entries(&sales_book(dir));
    let sheet = e.iter_mut().find(|(n, _)| n == "xl/worksheets/sheet1.xml").expect("sheet1.xml");
    let xml = edit(std::str::from_utf8(&sheet.1).unwrap());
    sheet.1 = xml.into_bytes();
    let p = dir.join(name);
    write_zip(&p, &e);
    p
}

#[test]
fn a_declared_dimension_of_the_whole_grid_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = edited_sheet(dir.path(), "dimension.xlsx", |x| {
        let start = x.find("<dimension ref=\"").expect("a dimension") + "<dimension ref=\"".len();
        let end = start + x[start..].find('"').unwrap();
        format!("{}A1:XFD1048576{}", &x[..start], &x[end..])
    });
    let msg = refused(&p, ReadLimits::default());
    assert!(
        msg.contains("sheet \"Sales\"")
            && msg.contains("A1:XFD1048576")
            && msg.contains("1048576 rows × 16384 columns")
            && msg.contains("max_sheet_cells"),
        "{msg}"
    );
}

#[test]
fn a_stray_cell_far_from_the_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = edited_sheet(dir.path(), "stray.xlsx", |x| {
        x.replace("</sheetData>", "<row r=\"1048576\"><c r=\"XFD1048576\"><v>1</v></c></row></sheetData>")
    });
    let msg = refused(&p, ReadLimits::default());
    assert!(msg.contains("XFD1048576") && msg.contains("max_sheet_cells") && msg.contains("stray"), "{msg}");
}

#[test]
fn the_sheet_limit_comes_from_the_config_and_covers_csv() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("wide.csv");
    let line = vec!["x"; 60].join(",");
    std::fs::write(&p, vec![line; 60].join("\n")).unwrap();
    let limits: ReadLimits =
        toml::from_str::<lodestar_core::config::Config>("[limits]\nmax_sheet_cells = 1000\n").unwrap().limits;
    let msg = refused(&p, limits);
    assert!(msg.contains("60 rows × 60 columns") && msg.contains("max_sheet_cells"), "{msg}");
}
