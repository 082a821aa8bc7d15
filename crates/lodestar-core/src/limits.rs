//! Resource limits of the readers of user files (`[limits]` in `config.toml`): zip containers
//! (`.xlsx` `.xlsm` `.ods` `.docx`), sheet dimensions, shared-string tables, the chunks of one
//! knowledge document, the text of one minutes file and its `.docx` XML, the aliases and name
//! lengths of one dictionary entry and the size of one web upload. Each is checked before the work it bounds
//! starts, and a refusal says which limit, by how much and which `config.toml` key raises it.

use serde::{Deserialize, Serialize};
use std::io::Read;

/// `[limits]` of `config.toml`. Every key has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadLimits {
    /// The most bytes the parts of one zip container may inflate to, all parts together (by the
    /// sizes the zip declares, then by what they really inflate to).
    pub max_uncompressed_bytes: u64,
    /// The most entries (parts) one zip container may hold.
    pub max_zip_entries: u64,
    /// The highest compression ratio (uncompressed ÷ compressed) of one part, for parts that
    /// inflate past 1 MiB (small parts may compress far better without harm).
    pub max_compression_ratio: u64,
    /// The most cells one sheet may span (rows × columns of its used block, or of the dimension
    /// the file declares): a stray cell at `XFD1048576` asks for 17 billion.
    pub max_sheet_cells: u64,
    /// The most chunks one knowledge document may be cut into.
    pub max_chunks: u64,
    /// The most strings a workbook's shared-string table may announce (when its bytes could not
    /// hold that many): the reader reserves room for the announced count before reading any.
    pub max_shared_strings: u64,
    /// The most bytes of text one minutes file may hold (`.md` / `.txt`, or the text of a
    /// `.docx`): a meeting's minutes run to tens of kilobytes, and the extraction links clauses
    /// across the whole text.
    pub max_minutes_bytes: u64,
    /// The largest `word/document.xml` of a minutes `.docx` (uncompressed bytes): its XML parser
    /// takes about 17 bytes of memory per byte (64 MiB asked for 1.1 GB at once).
    pub max_docx_xml_bytes: u64,
    /// The deepest element nesting read in a minutes `.docx` (its XML parser recurses once per
    /// level; real documents stay far below).
    pub max_xml_depth: u64,
    /// The most aliases (or local names) one dictionary entry keeps on `dict import`; a row with
    /// more keeps the first ones and is reported.
    pub max_aliases: u64,
    /// The longest name or alias (characters) `dict import` takes: a longer cell is a broken
    /// file, not a name (its row is skipped, or the alias dropped, and reported).
    pub max_name_chars: u64,
    /// The largest file the web server accepts as an upload (bytes); `serve --upload-limit-mb`
    /// overrides it.
    pub max_upload_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_uncompressed_bytes: 1 << 30,
            max_zip_entries: 10_000,
            max_compression_ratio: 200,
            max_sheet_cells: 1 << 24,
            max_chunks: 100_000,
            max_shared_strings: 1 << 20,
            max_minutes_bytes: 2 << 20,
            max_docx_xml_bytes: 8 << 20,
            max_xml_depth: 256,
            max_aliases: 1_000,
            max_name_chars: 500,
            max_upload_bytes: 50 << 20,
        }
    }
}

/// Parts below this size are not held to [`ReadLimits::max_compression_ratio`].
pub const RATIO_FLOOR: u64 = 1 << 20;

/// A limit a file goes past: the message names the limit, the figure and the `config.toml` key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LimitExceeded(pub String);

impl LimitExceeded {
    /// `what` (the limit, the figure) and the `config.toml` key that raises it.
    pub fn new(what: String, key: &str) -> Self {
        Self(format!("{what} (raise `[limits] {key}` in config.toml to read it anyway)"))
    }
}

impl ReadLimits {
    /// A sheet of `rows` × `cols` cells (`what` says where the figure comes from).
    pub fn check_sheet(&self, sheet: &str, rows: u64, cols: u64, what: &str) -> Result<(), LimitExceeded> {
        let cells = rows.saturating_mul(cols);
        if cells > self.max_sheet_cells {
            return Err(LimitExceeded::new(
                format!(
                    "sheet \"{sheet}\": {what} {rows} rows × {cols} columns = {cells} cells, over the limit of {}",
                    self.max_sheet_cells
                ),
                "max_sheet_cells",
            ));
        }
        Ok(())
    }

    /// A knowledge document cut into `chunks` chunks.
    pub fn check_chunks(&self, chunks: u64) -> Result<(), LimitExceeded> {
        if chunks > self.max_chunks {
            return Err(LimitExceeded::new(
                format!("the document makes {chunks} chunks, over the limit of {}", self.max_chunks),
                "max_chunks",
            ));
        }
        Ok(())
    }

    /// Checks a zip container before any reader opens it: the entry count and the sizes the
    /// central directory declares first (nothing inflated), then what each part really inflates
    /// to, streamed and counted (nothing kept), stopping at the first limit passed. Bytes that are
    /// not a zip pass: the format's own reader reports them.
    pub fn check_zip(&self, bytes: &[u8]) -> Result<ZipStats, LimitExceeded> {
        let mut stats = ZipStats::default();
        if !bytes.starts_with(b"PK") {
            return Ok(stats);
        }
        let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else { return Ok(stats) };
        stats.entries = zip.len() as u64;
        if stats.entries > self.max_zip_entries {
            return Err(LimitExceeded::new(
                format!(
                    "the zip container holds {} entries, over the limit of {}",
                    stats.entries, self.max_zip_entries
                ),
                "max_zip_entries",
            ));
        }
        for i in 0..zip.len() {
            let Ok(f) = zip.by_index_raw(i) else { continue };
            stats.declared = stats.declared.saturating_add(f.size());
            let name = f.name().map(|n| n.into_owned()).unwrap_or_default();
            self.check_part(&name, f.size(), f.compressed_size(), "declares")?;
        }
        if stats.declared > self.max_uncompressed_bytes {
            return Err(self.too_big(stats.declared, "declare"));
        }
        // what the parts really inflate to: the raw deflate streams inflated here and counted,
        // whatever sizes the headers declare (the workbook reader's zip inflates a part past its
        // declared size)
        let mut sink = [0u8; 64 << 10];
        for i in 0..zip.len() {
            let Ok(f) = zip.by_index_raw(i) else { continue };
            let (name, compressed, method) =
                (f.name().map(|n| n.into_owned()).unwrap_or_default(), f.compressed_size(), f.compression());
            let room = self.max_uncompressed_bytes - stats.inflated;
            let mut part = 0u64;
            let mut r: Box<dyn Read> = match method {
                zip::CompressionMethod::Stored => Box::new(f),
                zip::CompressionMethod::Deflated => Box::new(flate2::read::DeflateDecoder::new(f)),
                _ => continue, // other methods: the declared sizes above
            };
            loop {
                match r.read(&mut sink) {
                    Ok(0) | Err(_) => break, // a broken part is the format reader's to report
                    Ok(n) => part += n as u64,
                }
                if part > room {
                    return Err(self.too_big(stats.inflated + part, "inflate to"));
                }
                self.check_part(&name, part, compressed, "inflates to")?;
            }
            stats.inflated += part;
        }
        Ok(stats)
    }

    fn check_part(&self, name: &str, size: u64, compressed: u64, verb: &str) -> Result<(), LimitExceeded> {
        if size > RATIO_FLOOR && size / compressed.max(1) > self.max_compression_ratio {
            return Err(LimitExceeded::new(
                format!(
                    "zip part {name} {verb} {size} bytes from {compressed} compressed (ratio {}, over the limit of {}): a zip bomb?",
                    size / compressed.max(1),
                    self.max_compression_ratio
                ),
                "max_compression_ratio",
            ));
        }
        Ok(())
    }

    fn too_big(&self, total: u64, verb: &str) -> LimitExceeded {
        LimitExceeded::new(
            format!(
                "the zip container's parts {verb} over {total} bytes uncompressed, over the limit of {}",
                self.max_uncompressed_bytes
            ),
            "max_uncompressed_bytes",
        )
    }
}

/// What [`ReadLimits::check_zip`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZipStats {
    /// Entries (parts) in the container's central directory.
    pub entries: u64,
    /// Uncompressed bytes the central directory declares.
    pub declared: u64,
    /// Uncompressed bytes the parts really inflate to.
    pub inflated: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in parts {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn small_zip_passes_and_is_counted() {
        let z = zip_of(&[("a.xml", b"<a/>".to_vec()), ("b.xml", vec![b'x'; 1000])]);
        let s = ReadLimits::default().check_zip(&z).unwrap();
        assert_eq!((s.entries, s.declared, s.inflated), (2, 1004, 1004));
        assert_eq!(ReadLimits::default().check_zip(b"not a zip").unwrap(), ZipStats::default());
    }

    #[test]
    fn bomb_ratio_entries_and_total_are_refused() {
        let bomb = zip_of(&[("xl/worksheets/sheet1.xml", vec![b' '; 8 << 20])]);
        assert!(bomb.len() < 64 << 10, "{}", bomb.len());
        let e = ReadLimits::default().check_zip(&bomb).unwrap_err().0;
        assert!(e.contains("max_compression_ratio") && e.contains("sheet1.xml"), "{e}");
        let l = ReadLimits { max_uncompressed_bytes: 1 << 20, max_compression_ratio: u64::MAX, ..Default::default() };
        let e = l.check_zip(&bomb).unwrap_err().0;
        assert!(e.contains("max_uncompressed_bytes"), "{e}");
        let many: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("p{i}.xml"), vec![b'a'])).collect();
        let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
        let l = ReadLimits { max_zip_entries: 20, ..Default::default() };
        let e = l.check_zip(&zip_of(&many)).unwrap_err().0;
        assert!(e.contains("30 entries") && e.contains("max_zip_entries"), "{e}");
    }

    #[test]
    fn every_key_has_its_documented_default() {
        let d = ReadLimits::default();
        assert_eq!(d.max_uncompressed_bytes, 1_073_741_824);
        assert_eq!(d.max_zip_entries, 10_000);
        assert_eq!(d.max_compression_ratio, 200);
        assert_eq!(d.max_sheet_cells, 16_777_216);
        assert_eq!(d.max_chunks, 100_000);
        assert_eq!(d.max_shared_strings, 1_048_576);
        assert_eq!(d.max_minutes_bytes, 2_097_152);
        assert_eq!(d.max_docx_xml_bytes, 8_388_608);
        assert_eq!(d.max_xml_depth, 256);
        assert_eq!(d.max_aliases, 1_000);
        assert_eq!(d.max_name_chars, 500);
        assert_eq!(d.max_upload_bytes, 52_428_800);
        // a partial [limits] keeps the defaults of the keys it leaves out
        let l: ReadLimits = toml::from_str("max_minutes_bytes = 4096\nmax_aliases = 10\n").unwrap();
        assert_eq!((l.max_minutes_bytes, l.max_aliases), (4096, 10));
        assert_eq!(ReadLimits { max_minutes_bytes: 2 << 20, max_aliases: 1_000, ..l }, d);
    }

    #[test]
    fn sheet_and_chunk_limits() {
        let l = ReadLimits::default();
        assert!(l.check_sheet("S", 1_048_576, 16, "spans").is_ok());
        let e = l.check_sheet("S", 1_048_576, 16_384, "declares").unwrap_err().0;
        assert!(e.contains("17179869184 cells") && e.contains("max_sheet_cells"), "{e}");
        assert!(l.check_chunks(2_000_000).unwrap_err().0.contains("max_chunks"));
    }
}
