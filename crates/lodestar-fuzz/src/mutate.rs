//! The mutation engine: a seed, then one to four stacked mutations chosen by what the bytes are —
//! a zip container (entries removed, swapped, duplicated, renamed, lied about, replaced by
//! bombs; their XML edited cell by cell), text (lines, characters, encodings), a PDF (objects,
//! lengths, nesting) or an `.xls` (BIFF record fields) — and plain byte edits for everything.
//! Every choice comes from the [`Rng`], so an input is a function of (seed, reader, index).

use crate::rng::Rng;
use crate::seeds::Seed;
use crate::zipkit::{self, Entry, Lies};
use std::sync::OnceLock;

/// A generated input: its format and bytes, and the mutations that made it (for reports).
#[derive(Debug, Clone)]
pub struct Input {
    pub ext: String,
    pub bytes: Vec<u8>,
    pub trail: Vec<String>,
}

/// A named deflate bomb: (name, (compressed, uncompressed size, crc32)) as [`zipkit::bomb`] makes it.
type Bomb = (&'static str, (Vec<u8>, u64, u32));

/// Generated inputs are cut to this size (the bombs stay small: they are compressed).
pub const MAX_INPUT: usize = 8 << 20;

pub struct Mutator {
    seeds: Vec<Seed>,
    exts: Vec<&'static str>,
    bombs: OnceLock<Vec<Bomb>>,
}

impl Mutator {
    pub fn new(seeds: Vec<Seed>, exts: &[&'static str]) -> Self {
        assert!(!seeds.is_empty(), "a mutator needs seeds");
        Self { seeds, exts: exts.to_vec(), bombs: OnceLock::new() }
    }

    pub fn seeds(&self) -> &[Seed] {
        &self.seeds
    }

    /// Input `rng` describes.
    pub fn generate(&self, rng: &mut Rng) -> Input {
        let seed = rng.pick(&self.seeds);
        let mut input = Input {
            ext: seed.ext.clone(),
            bytes: seed.bytes.clone(),
            trail: vec![format!("seed {}.{}", seed.name, seed.ext)],
        };
        if rng.chance(1, 40) {
            return input;
        }
        let rounds = match rng.below(10) {
            0..=4 => 1,
            5..=7 => 2,
            8 => 3,
            _ => 4,
        };
        for _ in 0..rounds {
            self.mutate_once(rng, &mut input);
        }
        if rng.chance(1, 30) && !self.exts.is_empty() {
            let ext = rng.pick(&self.exts).to_string();
            input.trail.push(format!("extension .{} -> .{ext}", input.ext));
            input.ext = ext;
        }
        if input.bytes.len() > MAX_INPUT {
            input.bytes.truncate(MAX_INPUT);
        }
        input
    }

    fn mutate_once(&self, rng: &mut Rng, input: &mut Input) {
        if input.bytes.starts_with(b"PK") && rng.chance(4, 5) {
            if let Some(entries) = zipkit::read_entries(&input.bytes) {
                input.bytes = self.mutate_zip(rng, entries, &mut input.trail);
                return;
            }
        }
        if input.bytes.starts_with(b"%PDF") && rng.chance(1, 2) {
            mutate_pdf(rng, &mut input.bytes, &mut input.trail);
            return;
        }
        if input.bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) && rng.chance(1, 2) {
            mutate_biff(rng, &mut input.bytes, &mut input.trail);
            return;
        }
        if matches!(input.ext.as_str(), "csv" | "md" | "txt" | "markdown") && rng.chance(2, 3) {
            if let Ok(text) = std::str::from_utf8(&input.bytes) {
                let (bytes, what) = mutate_text(rng, text, &input.ext);
                input.bytes = bytes;
                input.trail.push(what);
                return;
            }
        }
        let what = mutate_bytes(rng, &mut input.bytes, Some(&self.seeds));
        input.trail.push(what);
    }

    fn bombs(&self) -> &[Bomb] {
        self.bombs.get_or_init(|| {
            let ws = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
            vec![
                ("sheet: 256 MiB of rows", zipkit::bomb(ws.as_bytes(), br#"<row><c t="s"><v>0</v></c></row>"#, 256 << 20, b"</sheetData></worksheet>")),
                ("sheet: 256 MiB of cells in one row", zipkit::bomb(format!("{ws}<row r=\"5\">").as_bytes(), b"<c><v>1</v></c>", 256 << 20, b"</row></sheetData></worksheet>")),
                (
                    "sharedStrings: 256 MiB",
                    zipkit::bomb(
                        br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
                        b"<si><t>x</t></si>",
                        256 << 20,
                        b"</sst>",
                    ),
                ),
                (
                    "document.xml: 512 MiB of paragraphs",
                    zipkit::bomb(
                        br#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#,
                        "<w:p><w:r><w:t>行动项：责任人：张伟</w:t></w:r></w:p>".as_bytes(),
                        512 << 20,
                        b"</w:body></w:document>",
                    ),
                ),
            ]
        })
    }

    fn mutate_zip(&self, rng: &mut Rng, mut entries: Vec<Entry>, trail: &mut Vec<String>) -> Vec<u8> {
        let n = entries.len();
        let mut lies = Lies::default();
        let mut raw = rng.chance(1, 3);
        match rng.below(100) {
            0..=54 if n > 0 => {
                // edit one entry's content: mostly the XML parts that matter
                let i = pick_entry(rng, &entries);
                let name = entries[i].name_str();
                let what = mutate_entry(rng, &name, &mut entries[i].data);
                trail.push(format!("{name}: {what}"));
            }
            55..=61 if n > 0 => {
                let i = rng.below(n);
                trail.push(format!("remove entry {}", entries[i].name_str()));
                entries.remove(i);
            }
            62..=67 if n > 1 => {
                let (i, j) = (rng.below(n), rng.below(n));
                trail.push(format!("swap data of {} and {}", entries[i].name_str(), entries[j].name_str()));
                let d = entries[i].data.clone();
                entries[i].data = std::mem::replace(&mut entries[j].data, d);
            }
            68..=72 if n > 0 => {
                let i = rng.below(n);
                let mut copy = entries[i].clone();
                let what = mutate_entry(rng, &copy.name_str(), &mut copy.data);
                trail.push(format!("duplicate entry {} ({what})", copy.name_str()));
                let at = rng.below(n + 1);
                entries.insert(at, copy);
                raw = true;
            }
            73..=76 if n > 0 => {
                let i = rng.below(n);
                let old = entries[i].name_str();
                let new = match rng.below(6) {
                    0 => old.to_uppercase(),
                    1 => format!("/{old}"),
                    2 => old.replace('/', "\\"),
                    3 => format!("{old}x"),
                    4 => "../../../../tmp/evil.xml".to_string(),
                    _ => String::from_utf8_lossy(&[b'x', 0xFF, 0xFE, b'/', 0]).into_owned(),
                };
                trail.push(format!("rename {old} -> {new}"));
                entries[i].name = new.into_bytes();
            }
            77..=79 if n > 1 => {
                trail.push("reverse entry order".into());
                entries.reverse();
            }
            80..=82 => {
                let name = rng.pick(&[
                    "xl/worksheets/sheet9.xml",
                    "word/document2.xml",
                    "content.xml",
                    "mimetype",
                    "xl/sharedStrings.xml",
                ]);
                trail.push(format!("add junk entry {name}"));
                let mut data =
                    rng.pick(&[&b"<x/>"[..], b"", b"\xff\xfe<\x00a\x00/\x00>\x00", b"not xml at all"]).to_vec();
                mutate_bytes(rng, &mut data, None);
                entries.push(Entry::new(name, data));
            }
            83..=90 if n > 0 => {
                raw = true;
                let i = rng.below(n);
                match rng.below(6) {
                    0 | 1 => {
                        let v = *rng.pick(&[0u32, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x4000_0000, 0x1000_0000]);
                        lies.size = Some((i, v));
                        trail.push(format!("entry {} declares uncompressed size {v}", entries[i].name_str()));
                    }
                    2 => {
                        let v = *rng.pick(&[0u32, 1, 0xFFFF_FFFF, 0x7FFF_FFFF]);
                        lies.csize = Some((i, v));
                        trail.push(format!("entry {} declares compressed size {v}", entries[i].name_str()));
                    }
                    3 => {
                        lies.crc = Some(i);
                        trail.push(format!("entry {} has a wrong CRC", entries[i].name_str()));
                    }
                    4 => {
                        let v = *rng.pick(&[0u16, 1, 0xFFFF, n as u16 + 1]);
                        lies.count = Some(v);
                        trail.push(format!("end record counts {v} entries"));
                    }
                    _ => {
                        let v = *rng.pick(&[0u32, 1, 0xFFFF_FFFF, 30]);
                        if rng.chance(1, 2) {
                            lies.cd_offset = Some(v);
                            trail.push(format!("central directory offset {v}"));
                        } else {
                            lies.local_offset = Some((i, v));
                            trail.push(format!("entry {} local header offset {v}", entries[i].name_str()));
                        }
                    }
                }
            }
            91..=92 if n > 0 => {
                // a zip bomb in the entry that readers parse
                let bombs = self.bombs();
                let b = rng.below(bombs.len());
                let (what, payload) = &bombs[b];
                let target = if what.starts_with("sheet") {
                    ["xl/worksheets/sheet1.xml", "content.xml"]
                } else if what.starts_with("shared") {
                    ["xl/sharedStrings.xml", "xl/sharedStrings.xml"]
                } else {
                    ["word/document.xml", "word/document.xml"]
                };
                let i = entries.iter().position(|e| target.contains(&e.name_str().as_str())).unwrap_or(rng.below(n));
                trail.push(format!("bomb into {}: {what}", entries[i].name_str()));
                entries[i].raw_deflate = Some(payload.clone());
                raw = true;
            }
            _ => {
                if n > 0 {
                    let i = rng.below(n);
                    entries[i].stored = !entries[i].stored;
                    trail.push(format!("toggle compression of {}", entries[i].name_str()));
                }
            }
        }
        if raw || lies != Lies::default() {
            zipkit::write_raw(&entries, &lies)
        } else {
            zipkit::write_zip(&entries)
        }
    }
}

/// Entries that readers parse are picked more often.
fn pick_entry(rng: &mut Rng, entries: &[Entry]) -> usize {
    let weight = |e: &Entry| {
        let n = e.name_str();
        if n.contains("worksheets/") || n == "word/document.xml" || n == "content.xml" {
            8
        } else if n.contains("sharedStrings") || n.contains("workbook.xml") || n.contains("styles") {
            4
        } else {
            1
        }
    };
    let total: usize = entries.iter().map(weight).sum();
    let mut x = rng.below(total);
    for (i, e) in entries.iter().enumerate() {
        let w = weight(e);
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

fn mutate_entry(rng: &mut Rng, name: &str, data: &mut Vec<u8>) -> String {
    if rng.chance(1, 6) {
        return mutate_bytes(rng, data, None);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return mutate_bytes(rng, data, None);
    };
    let mut xml = text.to_string();
    let what = if name.contains("worksheets/") {
        mutate_sheet_xml(rng, &mut xml)
    } else if name.contains("sharedStrings") {
        mutate_sst(rng, &mut xml)
    } else if name.contains("styles") {
        mutate_styles(rng, &mut xml)
    } else if name.ends_with("workbook.xml") {
        mutate_workbook_xml(rng, &mut xml)
    } else if name == "word/document.xml" {
        mutate_docx_xml(rng, &mut xml)
    } else if name == "content.xml" {
        mutate_ods_xml(rng, &mut xml)
    } else {
        mutate_generic_xml(rng, &mut xml)
    };
    *data = xml.into_bytes();
    what
}

// ---------------------------------------------------------------------------------------------
// Interesting values

const REFS: &[&str] = &[
    "XFD1048576",
    "XFD1",
    "A1048576",
    "A1048577",
    "XFE1",
    "XFD1048577",
    "A0",
    "0",
    "",
    "A",
    "1",
    "AAAAAAAAAA1",
    "A99999999999",
    "A4294967296",
    "ZZZZ4294967295",
    "a1",
    "$A$1",
    "A-1",
    "1A",
    "IV65536",
    "B2",
    "C3",
];

const RANGES: &[&str] = &[
    "A1:XFD1048576",
    "A2:A1048576",
    "B1:XFD1",
    "A1:A1",
    "B5:A1",
    "XFE1:XFF2",
    "A1048577:A1048580",
    "A1:B",
    ":",
    "",
    "A1",
    "A1:A4294967296",
    "A1:ZZZZZ99999999999",
    "C3:C1048576",
    "A4:H1048576",
    "B5:B6",
];

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2958465",
    "2958466",
    "2958465.9999999",
    "60",
    "61",
    "1e10",
    "45000.5",
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1.7976931348623157e308",
    "4.9e-324",
    "-693594",
    "99999999999999999999",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "1,5",
    "0x10",
    "",
    " 12 ",
    "1e",
    "--1",
    "4294967296",
    "202609",
    "2026.09",
];

const TEXT_VALUES: &[&str] = &[
    "2026-09-01",
    "2026-09-01T00:00:00Z",
    "10000-01-01",
    "9999-12-31T23:59:59",
    "0000-00-00",
    "2026-13-45T25:61:61",
    "2026-02-30",
    "-2026-01-01",
    "P1Y2M3DT4H5M6S",
    "PT99999999999H",
    "2026年13月",
    "9999年99月99日",
    "Sep 2026",
    "13/13/2026",
    "#DIV/0!",
    "#N/A",
    "#REF!",
    "#VALUE!",
    "#NAME?",
    "#NULL!",
    "#NUM!",
    "#GETTING_DATA",
    "#BOGUS",
    "TRUE",
    "小计",
    "合计",
    "Total",
    "１，２００",
    "(1,234.50)",
    "USD",
    "卢布",
    "&amp;&lt;&gt;",
    "&bogus;",
    "&#0;",
    "&#xFFFFFFFF;",
    "&#x1F600;",
    "]]>",
    "<![CDATA[x<y]]>",
    "\u{0}",
    "\u{202E}abc",
    "e\u{301}\u{301}\u{301}",
    "🇷🇺👨‍👩‍👧",
];

fn huge_value(rng: &mut Rng) -> String {
    let n = *rng.pick(&[1_000usize, 40_000, 100_000, 1_000_000]);
    let unit = *rng.pick(&["9", "测", "a", "1,", "|", " ", "\u{301}", "&amp;"]);
    unit.repeat(n / unit.len().max(1))
}

fn any_value(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=3 => rng.pick(NUMBERS).to_string(),
        4..=7 => rng.pick(TEXT_VALUES).to_string(),
        8 => huge_value(rng),
        _ => {
            let n = 1 + rng.below(40);
            random_text(rng, n)
        }
    }
}

fn random_text(rng: &mut Rng, n: usize) -> String {
    let pool = [
        'a', 'Z', '0', '9', ' ', '<', '>', '&', '"', '\'', '中', '文', '，', '：', '\u{3000}', '\u{FEFF}', '\u{FFFD}',
        '\t', '\r', '\n', '|', ';', ',',
    ];
    (0..n).map(|_| *rng.pick(&pool)).collect()
}

// ---------------------------------------------------------------------------------------------
// XML helpers

/// Byte ranges of the elements `<tag …/>` or `<tag …>…</tag>` (no nesting of the same tag).
fn elements(xml: &str, tag: &str) -> Vec<(usize, usize)> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = xml[from..].find(&open) {
        let start = from + p;
        let after = start + open.len();
        let next = xml[after..].chars().next();
        if !matches!(next, Some(' ' | '>' | '/' | '\n' | '\t' | '\r')) {
            from = after;
            continue;
        }
        let Some(gt) = xml[after..].find('>') else { break };
        let gt = after + gt;
        let end = if xml[..gt].ends_with('/') {
            gt + 1
        } else {
            match xml[gt..].find(&close) {
                Some(c) => gt + c + close.len(),
                None => break,
            }
        };
        out.push((start, end));
        from = end;
    }
    out
}

fn pick_element(rng: &mut Rng, xml: &str, tag: &str) -> Option<(usize, usize)> {
    let els = elements(xml, tag);
    if els.is_empty() {
        None
    } else {
        Some(*rng.pick(&els))
    }
}

/// Sets (or adds) attribute `name` in the start tag at `start`.
fn set_attr(xml: &mut String, start: usize, name: &str, value: &str) {
    let Some(gt) = xml[start..].find('>') else { return };
    let tag_end = start + gt;
    let head = &xml[start..tag_end];
    let key = format!(" {name}=\"");
    if let Some(p) = head.find(&key) {
        let vstart = start + p + key.len();
        if let Some(q) = xml[vstart..].find('"') {
            xml.replace_range(vstart..vstart + q, value);
            return;
        }
    }
    let insert_at = if xml[..tag_end].ends_with('/') { tag_end - 1 } else { tag_end };
    xml.insert_str(insert_at, &format!(" {name}=\"{value}\""));
}

fn escape(s: &str) -> String {
    // values come half escaped on purpose (`&bogus;`); only bare `<` would break the element
    s.replace('<', "&lt;")
}

fn col_name(mut c: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

fn gen_ref(rng: &mut Rng) -> String {
    if rng.chance(1, 2) {
        format!("{}{}", col_name(rng.below(12) as u32), 1 + rng.below(30))
    } else {
        rng.pick(REFS).to_string()
    }
}

fn gen_cell(rng: &mut Rng, r: &str) -> String {
    let t = *rng.pick(&["", "s", "str", "inlineStr", "b", "e", "n", "d", "x"]);
    let mut attrs = format!(" r=\"{r}\"");
    if !t.is_empty() {
        attrs.push_str(&format!(" t=\"{t}\""));
    }
    if rng.chance(1, 3) {
        attrs.push_str(&format!(" s=\"{}\"", rng.pick(&["0", "1", "2", "3", "5", "99999", "-1", "4294967296", "x"])));
    }
    let v = match t {
        "s" if rng.chance(2, 3) => {
            rng.pick(&["0", "1", "5", "999999", "-1", "4294967295", "18446744073709551616", "1.5", ""]).to_string()
        }
        "b" if rng.chance(2, 3) => rng.pick(&["0", "1", "2", "true", ""]).to_string(),
        _ => any_value(rng),
    };
    let f = match rng.below(8) {
        0 => "<f>SUM(A1:A3)</f>".to_string(),
        1 => format!(
            "<f t=\"shared\" si=\"{}\" ref=\"{}\">A1+1</f>",
            rng.pick(&["0", "1", "4000000000", "999999", "-1"]),
            rng.pick(RANGES)
        ),
        2 => format!("<f t=\"shared\" si=\"{}\"/>", rng.pick(&["0", "4000000000", "18446744073709551615"])),
        3 => format!("<f t=\"array\" ref=\"{}\">1</f>", rng.pick(RANGES)),
        _ => String::new(),
    };
    if t == "inlineStr" {
        format!("<c{attrs}>{f}<is><t>{}</t></is></c>", escape(&v))
    } else if rng.chance(1, 12) {
        format!("<c{attrs}/>")
    } else {
        format!("<c{attrs}>{f}<v>{}</v></c>", escape(&v))
    }
}

/// Rewrites the row number of every `r="A5"` reference inside `row_xml` (and its `<row r="5">`).
fn renumber_row(row_xml: &str, row: u64) -> String {
    let mut out = String::with_capacity(row_xml.len() + 16);
    let mut rest = row_xml;
    while let Some(p) = rest.find(" r=\"") {
        out.push_str(&rest[..p + 4]);
        rest = &rest[p + 4..];
        let end = rest.find('"').unwrap_or(rest.len());
        let letters: String = rest[..end].chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        out.push_str(&format!("{letters}{row}"));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn mutate_sheet_xml(rng: &mut Rng, xml: &mut String) -> String {
    match rng.below(14) {
        0..=3 => {
            // one cell rewritten
            let Some((s, e)) = pick_element(rng, xml, "c") else { return mutate_generic_xml(rng, xml) };
            let r = if rng.chance(2, 3) {
                xml[s..e].split("r=\"").nth(1).and_then(|x| x.split('"').next()).unwrap_or("A1").to_string()
            } else {
                gen_ref(rng)
            };
            let cell = gen_cell(rng, &r);
            let what = format!("cell {r} -> {}", cell.chars().take(120).collect::<String>());
            xml.replace_range(s..e, &cell);
            what
        }
        4 => {
            // the value of a cell, keeping its type and style (dates stay dates: serials past 9999)
            let Some((s, e)) = pick_element(rng, xml, "v") else { return mutate_generic_xml(rng, xml) };
            let v = if rng.chance(1, 2) {
                rng.pick(&["2958466", "2958465", "1e10", "-1", "99999999", "60", "0.5", "NaN", "abc", ""]).to_string()
            } else {
                any_value(rng)
            };
            xml.replace_range(s..e, &format!("<v>{}</v>", escape(&v)));
            format!("value -> {}", v.chars().take(60).collect::<String>())
        }
        5 => {
            let r = rng.pick(RANGES).to_string();
            match pick_element(rng, xml, "dimension") {
                Some((s, _)) => set_attr(xml, s, "ref", &r),
                None => {
                    if let Some(p) = xml.find("<sheetData") {
                        xml.insert_str(p, &format!("<dimension ref=\"{r}\"/>"));
                    }
                }
            }
            format!("dimension {r}")
        }
        6 | 7 => {
            let k = if rng.chance(1, 4) { rng.range(100, 3000) } else { rng.range(1, 5) };
            let mut m = format!("<mergeCells count=\"{k}\">");
            for _ in 0..k {
                let r = if rng.chance(1, 2) {
                    rng.pick(RANGES).to_string()
                } else {
                    format!("{}:{}", gen_ref(rng), gen_ref(rng))
                };
                m.push_str(&format!("<mergeCell ref=\"{r}\"/>"));
            }
            m.push_str("</mergeCells>");
            if let Some((s, e)) = pick_element(rng, xml, "mergeCells") {
                xml.replace_range(s..e, &m);
            } else if let Some(p) = xml.find("</sheetData>") {
                xml.insert_str(p + "</sheetData>".len(), &m);
            }
            format!("{k} merged ranges")
        }
        8 | 9 => {
            // rows duplicated, near or past the last row of a sheet
            let Some((s, e)) = pick_element(rng, xml, "row") else { return mutate_generic_xml(rng, xml) };
            let k = if rng.chance(1, 3) { rng.range(500, 5000) } else { rng.range(1, 10) };
            let base = *rng.pick(&[10u64, 1_048_570, 1_048_576, 1_048_577, 4_294_967_290, 65_530]);
            let row = xml[s..e].to_string();
            let mut rows = String::new();
            for i in 0..k as u64 {
                rows.push_str(&renumber_row(&row, base + i));
            }
            xml.insert_str(e, &rows);
            format!("{k} copies of a row from row {base}")
        }
        10 => {
            // a wide row: cells up to column XFD (16,384) and one past
            let Some((s, e)) = pick_element(rng, xml, "row") else { return mutate_generic_xml(rng, xml) };
            let row_no = xml[s..e].split("r=\"").nth(1).and_then(|x| x.split('"').next()).unwrap_or("1").to_string();
            let wide = rng.chance(1, 3);
            let cols: Vec<u32> = if wide {
                (0..16_385).step_by(1 + rng.below(4)).collect()
            } else {
                vec![16_383, 16_384, 16_383 + rng.below(100_000) as u32]
            };
            let mut cells = String::new();
            for c in &cols {
                cells.push_str(&format!("<c r=\"{}{row_no}\"><v>{}</v></c>", col_name(*c), c));
            }
            let close = e - "</row>".len();
            if xml[..e].ends_with("</row>") {
                xml.insert_str(close, &cells);
            }
            format!("{} cells out to column {}", cols.len(), col_name(*cols.last().unwrap_or(&0)))
        }
        11 => {
            let Some((s, _)) = pick_element(rng, xml, "row") else { return mutate_generic_xml(rng, xml) };
            let v = rng.pick(&["0", "1048576", "1048577", "4294967296", "-1", "x", ""]).to_string();
            set_attr(xml, s, "r", &v);
            format!("row r={v}")
        }
        12 => {
            let Some((s, e)) = pick_element(rng, xml, "sheetData") else { return mutate_generic_xml(rng, xml) };
            xml.replace_range(s..e, if rng.chance(1, 2) { "<sheetData/>" } else { "" });
            "sheetData removed".into()
        }
        _ => mutate_generic_xml(rng, xml),
    }
}

fn mutate_sst(rng: &mut Rng, xml: &mut String) -> String {
    match rng.below(6) {
        0 | 1 => {
            let attr = *rng.pick(&["uniqueCount", "count"]);
            let v = *rng.pick(&[
                "0",
                "1",
                "1000000",
                "4294967295",
                "18446744073709551615",
                "99999999999",
                "2305843009213693951",
                "-1",
                "x",
            ]);
            if let Some(p) = xml.find("<sst") {
                set_attr(xml, p, attr, v);
            }
            format!("sst {attr}={v}")
        }
        2 => {
            let els = elements(xml, "si");
            let keep = rng.below(els.len() + 1);
            for &(s, e) in els.iter().rev().take(els.len() - keep) {
                xml.replace_range(s..e, "");
            }
            format!("shared strings cut to {keep} of {}", els.len())
        }
        3 => {
            let Some((s, e)) = pick_element(rng, xml, "si") else { return mutate_generic_xml(rng, xml) };
            let v = match rng.below(4) {
                0 => format!("<si><t>{}</t></si>", huge_value(rng)),
                1 => "<si/>".to_string(),
                2 => "<si><r><t>a</t></r><r><rPr><b/></rPr><t xml:space=\"preserve\"> b</t></r><rPh sb=\"0\" eb=\"1\"><t>x</t></rPh></si>".to_string(),
                _ => format!("<si><t>{}</t></si>", escape(&any_value(rng))),
            };
            xml.replace_range(s..e, &v);
            format!("shared string -> {}", v.chars().take(60).collect::<String>())
        }
        _ => mutate_generic_xml(rng, xml),
    }
}

fn mutate_styles(rng: &mut Rng, xml: &mut String) -> String {
    match rng.below(4) {
        0 | 1 => {
            let Some((s, _)) = pick_element(rng, xml, "xf") else { return mutate_generic_xml(rng, xml) };
            let v = *rng.pick(&["14", "22", "47", "164", "165", "9999", "4294967296", "-1", "x", "0", "49", "21"]);
            set_attr(xml, s, "numFmtId", v);
            format!("xf numFmtId={v}")
        }
        2 => {
            let code = *rng.pick(&[
                "yyyy-mm-dd",
                "[h]:mm:ss",
                "mm:ss.000",
                "General",
                "0.00E+00",
                "\"",
                "[$-F800]dddd\\,\\ mmmm\\ dd\\,\\ yyyy",
                "@",
                "d",
                "[Red][<=100]0;[Blue]0",
                "yyyy\"年\"m\"月\"",
                "",
            ]);
            let id = *rng.pick(&["164", "165", "14", "9999999999"]);
            let nf = format!(
                "<numFmts count=\"1\"><numFmt numFmtId=\"{id}\" formatCode=\"{}\"/></numFmts>",
                code.replace('"', "&quot;")
            );
            if let Some((s, e)) = pick_element(rng, xml, "numFmts") {
                xml.replace_range(s..e, &nf);
            } else if let Some(p) = xml.find("<fonts") {
                xml.insert_str(p, &nf);
            }
            format!("numFmt {id} = {code}")
        }
        _ => mutate_generic_xml(rng, xml),
    }
}

fn mutate_workbook_xml(rng: &mut Rng, xml: &mut String) -> String {
    match rng.below(6) {
        0 => {
            let Some((s, _)) = pick_element(rng, xml, "sheet") else { return mutate_generic_xml(rng, xml) };
            let long = "长".repeat(300);
            let name = rng.pick(&["", "Sheet1", "目标", "'", "[x]", "a\u{1}b", long.as_str(), "&amp;&lt;"]).to_string();
            set_attr(xml, s, "name", &name);
            format!("sheet name {}", name.chars().take(20).collect::<String>())
        }
        1 => {
            let Some((s, _)) = pick_element(rng, xml, "sheet") else { return mutate_generic_xml(rng, xml) };
            let v = *rng.pick(&["hidden", "veryHidden", "bogus", ""]);
            set_attr(xml, s, "state", v);
            format!("sheet state {v}")
        }
        2 => {
            let Some((s, _)) = pick_element(rng, xml, "sheet") else { return mutate_generic_xml(rng, xml) };
            let v = *rng.pick(&["rId999", "", "rId1", "rId2"]);
            set_attr(xml, s, "r:id", v);
            format!("sheet r:id {v}")
        }
        3 => {
            let Some((s, e)) = pick_element(rng, xml, "sheet") else { return mutate_generic_xml(rng, xml) };
            let k = rng.range(1, 300);
            let copy = xml[s..e].to_string();
            xml.insert_str(e, &copy.repeat(k));
            format!("{k} more sheet entries")
        }
        4 => {
            if let Some(p) = xml.find("<sheets") {
                xml.insert_str(p, "<workbookPr date1904=\"1\"/>");
            }
            "date1904".into()
        }
        _ => mutate_generic_xml(rng, xml),
    }
}

fn mutate_docx_xml(rng: &mut Rng, xml: &mut String) -> String {
    match rng.below(10) {
        0 => {
            let Some((s, e)) = pick_element(rng, xml, "w:t") else { return mutate_generic_xml(rng, xml) };
            let v = huge_value(rng);
            xml.replace_range(s..e, &format!("<w:t>{v}</w:t>"));
            format!("w:t of {} bytes", v.len())
        }
        1 => {
            let Some((s, e)) = pick_element(rng, xml, "w:p") else { return mutate_generic_xml(rng, xml) };
            let k = if rng.chance(1, 3) { rng.range(1000, 20000) } else { rng.range(1, 20) };
            let p = xml[s..e].to_string();
            xml.insert_str(e, &p.repeat(k));
            format!("{k} copies of a paragraph")
        }
        2 => {
            let d = *rng.pick(&[10usize, 1000, 10_000, 100_000]);
            let open = "<w:tbl><w:tr><w:tc>".repeat(d);
            let close = "</w:tc></w:tr></w:tbl>".repeat(d);
            if let Some(p) = xml.find("<w:body>") {
                xml.insert_str(p + "<w:body>".len(), &format!("{open}<w:p><w:r><w:t>deep</w:t></w:r></w:p>{close}"));
            }
            format!("tables nested {d} deep")
        }
        3 => {
            let Some((s, e)) = pick_element(rng, xml, "w:pStyle") else { return mutate_generic_xml(rng, xml) };
            let v = *rng.pick(&[
                "Heading99999999999999999999",
                "heading0",
                "标题 7",
                "",
                "Title",
                "heading 6",
                "HEADING-1",
                "1",
            ]);
            xml.replace_range(s..e, &format!("<w:pStyle w:val=\"{v}\"/>"));
            format!("pStyle {v}")
        }
        4 => {
            let bomb = "<!DOCTYPE w:document [<!ENTITY a \"xxxxxxxxxxxxxxxxxxxx\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\"><!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">]>";
            if let Some(p) = xml.find("<w:document") {
                xml.insert_str(p, bomb);
            }
            if let Some((s, e)) = pick_element(rng, xml, "w:t") {
                xml.replace_range(s..e, "<w:t>&h;</w:t>");
            }
            "entity expansion (billion laughs)".into()
        }
        5 => {
            let tag = *rng.pick(&["</w:t>", "</w:tbl>", "</w:tr>", "</w:tc>", "</w:p>", "<w:tbl>", "<w:tr>", "<w:tc>"]);
            if let Some(p) = xml.find(tag) {
                if rng.chance(1, 2) {
                    xml.replace_range(p..p + tag.len(), "");
                } else {
                    xml.insert_str(p, &tag.repeat(rng.range(1, 50)));
                }
            }
            format!("unbalanced {tag}")
        }
        6 => {
            let Some((_, e)) = pick_element(rng, xml, "w:p") else { return mutate_generic_xml(rng, xml) };
            let k = rng.range(1, 5000);
            xml.insert_str(e, &"<w:tr><w:tc><w:p><w:r><w:t>x|y</w:t></w:r></w:p></w:tc></w:tr>".repeat(k));
            format!("{k} rows outside a table")
        }
        7 => {
            let Some((s, e)) = pick_element(rng, xml, "w:t") else { return mutate_generic_xml(rng, xml) };
            let v = any_value(rng);
            xml.replace_range(s..e, &format!("<w:t>{}</w:t>", escape(&v)));
            format!("w:t -> {}", v.chars().take(60).collect::<String>())
        }
        _ => mutate_generic_xml(rng, xml),
    }
}

fn mutate_ods_xml(rng: &mut Rng, xml: &mut String) -> String {
    const COUNTS: &[&str] = &[
        "0",
        "1",
        "1000",
        "16384",
        "16385",
        "65536",
        "1048576",
        "1048577",
        "2147483647",
        "4294967296",
        "18446744073709551615",
        "-1",
        "abc",
    ];
    match rng.below(8) {
        0 | 1 => {
            let Some((s, _)) = pick_element(rng, xml, "table:table-row") else { return mutate_generic_xml(rng, xml) };
            let v = *rng.pick(COUNTS);
            set_attr(xml, s, "table:number-rows-repeated", v);
            format!("rows repeated {v}")
        }
        2 | 3 => {
            let Some((s, _)) = pick_element(rng, xml, "table:table-cell") else { return mutate_generic_xml(rng, xml) };
            let v = *rng.pick(COUNTS);
            let attr = *rng.pick(&[
                "table:number-columns-repeated",
                "table:number-columns-spanned",
                "table:number-rows-spanned",
            ]);
            set_attr(xml, s, attr, v);
            format!("cell {attr} {v}")
        }
        4 => {
            let Some((s, _)) = pick_element(rng, xml, "table:table-cell") else { return mutate_generic_xml(rng, xml) };
            let (attr, v) = match rng.below(4) {
                0 => ("office:value", rng.pick(NUMBERS).to_string()),
                1 => ("office:date-value", rng.pick(TEXT_VALUES).to_string()),
                2 => ("office:time-value", rng.pick(&["PT99999999999H", "PT1H", "P", "-PT1S", "x"]).to_string()),
                _ => (
                    "office:value-type",
                    rng.pick(&["float", "date", "time", "percentage", "currency", "boolean", "string", "void", "x"])
                        .to_string(),
                ),
            };
            set_attr(xml, s, attr, &v.replace('"', "&quot;"));
            format!("cell {attr}={}", v.chars().take(40).collect::<String>())
        }
        5 => {
            let Some((s, e)) = pick_element(rng, xml, "table:table") else { return mutate_generic_xml(rng, xml) };
            let k = rng.range(1, 200);
            let t = xml[s..e].to_string();
            xml.insert_str(e, &t.repeat(k));
            format!("{k} more tables")
        }
        _ => mutate_generic_xml(rng, xml),
    }
}

fn mutate_generic_xml(rng: &mut Rng, xml: &mut String) -> String {
    let boundary = |xml: &str, mut i: usize| {
        while i < xml.len() && !xml.is_char_boundary(i) {
            i += 1;
        }
        i.min(xml.len())
    };
    match rng.below(8) {
        0 => {
            // delete one tag
            let lts: Vec<usize> = xml.match_indices('<').map(|(i, _)| i).collect();
            if lts.is_empty() {
                return "no tag".into();
            }
            let s = *rng.pick(&lts);
            let e = xml[s..].find('>').map(|p| s + p + 1).unwrap_or(xml.len());
            let tag = xml[s..e].chars().take(40).collect::<String>();
            xml.replace_range(s..e, "");
            format!("tag {tag} deleted")
        }
        1 => {
            let d = *rng.pick(&[100usize, 10_000, 200_000]);
            let at = xml.rfind("</").unwrap_or(xml.len());
            xml.insert_str(at, &format!("{}{}", "<x>".repeat(d), "</x>".repeat(d)));
            format!("{d} nested elements")
        }
        2 => {
            let at = boundary(xml, rng.below(xml.len() + 1));
            xml.truncate(at);
            format!("cut at {at}")
        }
        3 => {
            let at = boundary(xml, rng.below(xml.len() + 1));
            let junk = *rng.pick(&[
                "&",
                "<",
                "&#0;",
                "&#x110000;",
                "&nbsp;",
                "<!--",
                "<?xml version=\"1.0\"?>",
                "\u{0}",
                "\u{FEFF}",
                "<![CDATA[",
                "]]>",
                "\"",
                "<a b=c>",
                "xmlns:w=\"\"",
            ]);
            xml.insert_str(at, junk);
            format!("{junk:?} inserted at {at}")
        }
        4 => {
            let s = boundary(xml, rng.below(xml.len() + 1));
            let e = boundary(xml, s + rng.small_len(4096));
            let chunk = xml[s..e].to_string();
            let k = rng.range(1, 64);
            xml.insert_str(e, &chunk.repeat(k));
            format!("{k} copies of bytes {s}..{e}")
        }
        5 => {
            // an encoding declaration that lies, or a UTF-16 re-encoding
            if rng.chance(1, 2) {
                let to = *rng.pick(&["encoding=\"UTF-16\"", "encoding=\"GBK\"", "encoding=\"bogus\""]);
                *xml = xml.replacen("encoding=\"UTF-8\"", to, 1);
                "encoding declaration changed".into()
            } else {
                *xml = xml.replacen("<?xml", "\u{FEFF}<?xml", 1);
                "BOM".into()
            }
        }
        _ => {
            let mut b = std::mem::take(xml).into_bytes();
            let what = mutate_bytes(rng, &mut b, None);
            *xml = String::from_utf8_lossy(&b).into_owned();
            what
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Text (csv, md, txt)

const TOKENS: &[&str] = &[
    "责任人：",
    "负责人：",
    "截止：",
    "完成时限：",
    "2026-02-30",
    "9999-12-31",
    "10000年1月1日",
    "0月0日",
    "2026年13月",
    "99月99日",
    "9月31日",
    "本周五",
    "下周",
    "月底前",
    "Q5",
    "第99周",
    "下次会议前",
    "|",
    "---",
    "```",
    "#",
    "###### ",
    "> ",
    "- ",
    "1. ",
    "\u{feff}",
    "\u{2028}",
    "；",
    "、",
    "。",
    "“",
    "\"",
    "\"\"\"",
    ",",
    ";",
    "\t",
    "\r",
    "\n\n",
    "\u{0}",
    "\u{7f}",
    "\u{200d}",
    "\u{202e}",
    "e\u{301}",
    "🇷🇺",
    "１２３",
    "陈思远、李娜",
    "张伟",
    "Sibir Logistics",
    "小计",
    "合计",
    "123456789012345678901234567890",
    "1e400",
    "-0",
    "NaN",
    "---\nkb: x\n---\n",
    "kb: ",
    ":",
];

const LINES: &[&str] = &[
    "责任人：张伟；完成时限：2026-02-30。",
    "1. 催收尾款。责任人：；完成时限：。",
    "2. 订舱确认。责任人：陈思远、李娜、刘洋、张伟、孙晓东、黄晓静、周婷；截止：9999年99月99日。",
    "3. 会议决议：。负责人：Leo Wang (S01)；截止：下下下周五",
    "| 事项 | 负责人 | 截止时间 |",
    "|---|---|---|",
    "| a | b |",
    "|||||||||||||",
    "#",
    "####### too deep",
    "---",
    "...",
    "title: \"unterminated",
    "country: [RU, , ;]",
    "客户名称,英文名称,国家",
    "\"unterminated,quote",
    ",,,,,,,,,,",
    "合计,,,,,,1,,",
    "C001,西伯利亚物流,,,,,,,",
];

fn char_boundary_at(s: &str, rng: &mut Rng) -> usize {
    let mut i = rng.below(s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Returns the mutated bytes and what was done.
pub fn mutate_text(rng: &mut Rng, text: &str, ext: &str) -> (Vec<u8>, String) {
    let mut t = text.to_string();
    let what = match rng.below(13) {
        0..=2 => {
            let at = char_boundary_at(&t, rng);
            let tok = *rng.pick(TOKENS);
            t.insert_str(at, tok);
            format!("{tok:?} at {at}")
        }
        3 => {
            let lines: Vec<&str> = t.split_inclusive('\n').collect();
            let l = lines.get(rng.below(lines.len())).copied().unwrap_or("x\n").to_string();
            let k = if rng.chance(1, 4) { rng.range(1000, 20_000) } else { rng.range(1, 10) };
            let at = char_boundary_at(&t, rng);
            t.insert_str(at, &l.repeat(k));
            format!("{k} copies of a line")
        }
        4 => {
            let mut lines: Vec<String> = t.split_inclusive('\n').map(String::from).collect();
            if !lines.is_empty() {
                let i = rng.below(lines.len());
                if rng.chance(1, 2) {
                    lines.remove(i);
                } else {
                    let j = rng.below(lines.len());
                    lines.swap(i, j);
                }
            }
            t = lines.concat();
            "line removed or swapped".into()
        }
        5 => {
            let mut lines: Vec<String> = t.split_inclusive('\n').map(String::from).collect();
            let i = rng.below(lines.len() + 1);
            let l = format!("{}\n", rng.pick(LINES));
            lines.insert(i, l.clone());
            t = lines.concat();
            format!("line {:?}", l.trim_end())
        }
        6 => {
            let n = *rng.pick(&[10_000usize, 100_000, 1_000_000]);
            let unit = *rng.pick(&["啊", "a", "1", "|", "#", ",", "\"", " ", "。", "责任人：张伟；", "e\u{301}"]);
            let at = char_boundary_at(&t, rng);
            t.insert_str(at, &unit.repeat(n / unit.len().max(1)));
            format!("{n} bytes of {unit:?}")
        }
        7 if ext == "csv" => {
            let k = *rng.pick(&[100usize, 16_384, 16_385, 100_000]);
            let sep = *rng.pick(&[",", ";", "\t"]);
            let at = t.find('\n').map(|p| p + 1).unwrap_or(t.len());
            t.insert_str(at, &format!("{}\n", format!("x{sep}").repeat(k)));
            format!("a row of {k} fields")
        }
        8 => {
            let mut chars: Vec<char> = t.chars().collect();
            if !chars.is_empty() {
                let s = rng.below(chars.len());
                let e = (s + rng.small_len(200)).min(chars.len());
                for c in &mut chars[s..e] {
                    if c.is_ascii_digit() || c.is_ascii_alphabetic() {
                        *c = char::from_u32(*c as u32 + 0xFEE0).unwrap_or(*c);
                    }
                }
            }
            t = chars.into_iter().collect();
            "full-width ASCII".into()
        }
        9 => {
            t = match rng.below(3) {
                0 => t.replace('\n', "\r\n"),
                1 => t.replace('\n', "\r"),
                _ => t.replace("\r\n", "\n"),
            };
            "line endings".into()
        }
        10 => {
            // re-encoding: the bytes stop being UTF-8 (or gain a BOM)
            let (bytes, what) = reencode(rng, &t);
            return (bytes, what);
        }
        11 => {
            let at = char_boundary_at(&t, rng);
            let depth = *rng.pick(&[10usize, 1000, 50_000]);
            let unit = *rng.pick(&["> ", "- ", "  - ", "#", "[", "(", "\"", "|"]);
            t.insert_str(at, &format!("{}x\n", unit.repeat(depth)));
            format!("{unit:?} nested {depth}")
        }
        _ => {
            let mut b = t.into_bytes();
            let what = mutate_bytes(rng, &mut b, None);
            return (b, what);
        }
    };
    (t.into_bytes(), what)
}

fn reencode(rng: &mut Rng, t: &str) -> (Vec<u8>, String) {
    let t = t.trim_start_matches('\u{feff}');
    match rng.below(7) {
        0 => (encoding_rs::GBK.encode(t).0.into_owned(), "GBK".into()),
        1 | 2 => {
            let le = rng.chance(1, 2);
            let bom = rng.chance(2, 3);
            let mut out = Vec::new();
            for u in (if bom { "\u{feff}" } else { "" }).encode_utf16().chain(t.encode_utf16()) {
                out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            if rng.chance(1, 4) && !out.is_empty() {
                out.pop(); // an odd number of bytes
            }
            (out, format!("UTF-16{} {}", if le { "LE" } else { "BE" }, if bom { "with BOM" } else { "without BOM" }))
        }
        3 => (format!("\u{feff}\u{feff}{t}").into_bytes(), "two BOMs".into()),
        4 => {
            let mut b = b"\xEF\xBB".to_vec();
            b.extend_from_slice(t.as_bytes());
            (b, "half a BOM".into())
        }
        5 => {
            // cut inside a multi-byte character
            let b = t.as_bytes();
            let cut = b.iter().position(|&x| x >= 0xE0).map(|p| p + 1).unwrap_or(b.len());
            let mut out = b[..cut].to_vec();
            out.extend_from_slice(&b[cut.min(b.len())..].iter().skip(1).copied().collect::<Vec<u8>>());
            (out, "a multi-byte character split".into())
        }
        _ => {
            let (b, _, _) = encoding_rs::UTF_16LE.encode(t);
            let mut out = vec![0xFF, 0xFE];
            out.extend_from_slice(&b);
            (out, "BOM of UTF-16LE over UTF-8 bytes".into())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PDF and BIFF

fn mutate_pdf(rng: &mut Rng, b: &mut Vec<u8>, trail: &mut Vec<String>) {
    // positions are searched in the bytes themselves (a lossy string would shift them)
    let find_all = |b: &[u8], pat: &str| -> Vec<usize> {
        let p = pat.as_bytes();
        if b.len() < p.len() {
            return Vec::new();
        }
        (0..=b.len() - p.len()).filter(|&i| &b[i..i + p.len()] == p).collect()
    };
    match rng.below(7) {
        0 => {
            // a /Length that lies
            let at = find_all(b, "/Length ");
            if let Some(&p) = at.get(rng.below(at.len().max(1))) {
                let start = p + "/Length ".len();
                let end = b[start..].iter().position(|c| !c.is_ascii_digit()).map(|q| start + q).unwrap_or(start);
                let v = *rng.pick(&["0", "999999999", "18446744073709551615", "-1", "1 0 R", "99 0 R"]);
                b.splice(start..end, v.bytes());
                trail.push(format!("/Length {v}"));
                return;
            }
        }
        1 => {
            let d = *rng.pick(&[100usize, 10_000, 100_000]);
            let unit = *rng.pick(&["[", "<<", "<< /A ", "("]);
            let at = find_all(b, " >>");
            if let Some(&p) = at.get(rng.below(at.len().max(1))) {
                let mut ins = unit.repeat(d).into_bytes();
                ins.extend_from_slice(b"1");
                b.splice(p..p, ins);
                trail.push(format!("{unit:?} nested {d}"));
                return;
            }
        }
        2 => {
            // object references to nothing or to themselves
            let at = find_all(b, " 0 R");
            if let Some(&p) = at.get(rng.below(at.len().max(1))) {
                let start = b[..p].iter().rposition(|c| !c.is_ascii_digit()).map(|q| q + 1).unwrap_or(p);
                let v = *rng.pick(&["1", "3", "4", "0", "99", "4294967295", "18446744073709551616"]);
                b.splice(start..p, v.bytes());
                trail.push(format!("reference -> {v} 0 R"));
                return;
            }
        }
        3 => {
            if let Some(&p) = find_all(b, "startxref\n").last() {
                let start = p + "startxref\n".len();
                let end = b[start..].iter().position(|c| !c.is_ascii_digit()).map(|q| start + q).unwrap_or(start);
                let v = *rng.pick(&["0", "1", "9999999999", "-5", "30"]);
                b.splice(start..end, v.bytes());
                trail.push(format!("startxref {v}"));
                return;
            }
        }
        4 => {
            let ops = *rng.pick(&[
                "/F1 0 Tf",
                "/F9 12 Tf",
                "1e308 0 0 1e308 0 0 cm",
                "(",
                "<FFFE",
                "[(a) -99999999999 (b)] TJ",
                "q q q q q q q q",
                "BI /W 99999 /H 99999 ID x EI",
            ]);
            if let Some(&p) = find_all(b, "BT").first() {
                b.splice(p + 2..p + 2, format!(" {ops} ").into_bytes());
                trail.push(format!("content op {ops}"));
                return;
            }
        }
        5 => {
            if let Some(&p) = find_all(b, "/Count 1").first() {
                let v = *rng.pick(&["/Count 0", "/Count 99999999", "/Count -1"]);
                b.splice(p..p + "/Count 1".len(), v.bytes());
                trail.push(v.to_string());
                return;
            }
        }
        _ => {}
    }
    let what = mutate_bytes(rng, b, None);
    trail.push(what);
}

/// BIFF8 cell records (`LABELSST` `NUMBER` `RK` `BLANK` `FORMULA` `MULRK` `BOOLERR` `LABEL`),
/// `DIMENSIONS`, `SST` and `BOUNDSHEET8` found in the raw bytes get their fields set to edge values; or
/// a field of the compound-file header does.
fn mutate_biff(rng: &mut Rng, b: &mut [u8], trail: &mut Vec<String>) {
    const CELLS: &[u16] = &[0x00FD, 0x0203, 0x027E, 0x0201, 0x0006, 0x00BD, 0x0205, 0x0204, 0x00BE];
    let mut hits = Vec::new();
    for i in 0..b.len().saturating_sub(8) {
        let ty = u16::from_le_bytes([b[i], b[i + 1]]);
        let len = u16::from_le_bytes([b[i + 2], b[i + 3]]);
        if (CELLS.contains(&ty) && (6..=300).contains(&len))
            || ((ty == 0x0200 && len == 14) || (ty == 0x00FC && len > 8) || (ty == 0x0085 && len > 6))
        {
            hits.push((i, ty, len));
        }
    }
    let vals: &[u32] = &[0, 0xFF, 0x100, 0x3FFF, 0x4000, 0xFFFF, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x1_0000, 65_535, 1_048_576];
    if !hits.is_empty() && rng.chance(4, 5) {
        let (i, ty, len) = *rng.pick(&hits);
        let field = 4 + 2 * rng.below((len as usize / 2).clamp(1, 8));
        let v = *rng.pick(vals);
        let width = if rng.chance(1, 2) { 2 } else { 4 };
        for k in 0..width {
            if let Some(x) = b.get_mut(i + field + k) {
                *x = (v >> (8 * k)) as u8;
            }
        }
        if rng.chance(1, 5) {
            // the record length itself
            let l = *rng.pick(&[0u16, 1, 0xFFFF, len.wrapping_mul(2), 8224]);
            b[i + 2..i + 4].copy_from_slice(&l.to_le_bytes());
        }
        trail.push(format!("BIFF record {ty:#06x} at {i}: field +{field} = {v:#x}"));
    } else {
        // compound-file header: sector shift, FAT count, directory start, mini cutoff, DIFAT…
        let offs = [0x1E, 0x20, 0x2C, 0x30, 0x38, 0x3C, 0x40, 0x44, 0x48, 0x4C];
        let o = *rng.pick(&offs);
        let v = *rng.pick(vals);
        for k in 0..4 {
            if let Some(x) = b.get_mut(o + k) {
                *x = (v >> (8 * k)) as u8;
            }
        }
        trail.push(format!("CFB header +{o:#x} = {v:#x}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes

const INTERESTING: &[u32] = &[
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x1_0000,
    0x4000,
    0x10_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
];

/// One plain byte edit; returns what it was. `seeds` allows splicing with another seed.
pub fn mutate_bytes(rng: &mut Rng, b: &mut Vec<u8>, seeds: Option<&[Seed]>) -> String {
    if b.is_empty() {
        b.push(rng.byte());
        return "one byte".into();
    }
    let len = b.len();
    match rng.below(10) {
        0 => {
            let n = rng.small_len(16);
            for _ in 0..n {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            format!("{n} bit flips")
        }
        1 => {
            let n = rng.small_len(16);
            for _ in 0..n {
                let i = rng.below(len);
                b[i] = rng.byte();
            }
            format!("{n} random bytes")
        }
        2 => {
            let at = rng.below(len + 1);
            let n = rng.small_len(256);
            let ins: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            b.splice(at..at, ins);
            format!("{n} bytes inserted at {at}")
        }
        3 => {
            let at = rng.below(len);
            let n = rng.small_len(len - at);
            b.drain(at..at + n);
            format!("{n} bytes deleted at {at}")
        }
        4 => {
            let s = rng.below(len);
            let n = rng.small_len(len - s);
            let chunk = b[s..s + n].to_vec();
            let at = rng.below(b.len() + 1);
            b.splice(at..at, chunk);
            format!("{n} bytes from {s} copied to {at}")
        }
        5 => {
            let at = rng.below(len);
            b.truncate(at);
            format!("truncated to {at}")
        }
        6 | 7 => {
            let v = *rng.pick(INTERESTING);
            let width = *rng.pick(&[1usize, 2, 4]);
            let be = rng.chance(1, 3);
            let at = rng.below(len);
            for k in 0..width {
                let shift = if be { 8 * (width - 1 - k) } else { 8 * k };
                if let Some(x) = b.get_mut(at + k) {
                    *x = (v >> shift) as u8;
                }
            }
            format!("{v:#x} ({width} bytes) at {at}")
        }
        8 => {
            let tok = *rng.pick(&[
                "-1",
                "99999999999999999999",
                "1e309",
                "NaN",
                "<",
                "\"",
                "&#0;",
                "0",
                "\u{0}",
                "\r\n",
                "PK\u{3}\u{4}",
                "%%EOF",
                "]]>",
                "\u{feff}",
            ]);
            let at = rng.below(len + 1);
            b.splice(at..at, tok.bytes());
            format!("{tok:?} at {at}")
        }
        _ => match seeds {
            Some(seeds) if !seeds.is_empty() => {
                let other = &rng.pick(seeds).bytes;
                let at = rng.below(len);
                let from = rng.below(other.len());
                b.truncate(at);
                b.extend_from_slice(&other[from..]);
                format!("spliced another seed from {from} at {at}")
            }
            _ => {
                let at = rng.below(len);
                b.truncate(at);
                format!("truncated to {at}")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_and_attrs() {
        let x = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"/><cx/></row>"#;
        let els = elements(x, "c");
        assert_eq!(els.len(), 2);
        assert_eq!(&x[els[1].0..els[1].1], r#"<c r="B1"/>"#);
        let mut y = x.to_string();
        set_attr(&mut y, els[1].0, "t", "e");
        assert!(y.contains(r#"<c r="B1" t="e"/>"#), "{y}");
        set_attr(&mut y, 0, "r", "9");
        assert!(y.starts_with(r#"<row r="9">"#));
        assert_eq!(renumber_row(x, 7), r#"<row r="7"><c r="A7" t="s"><v>0</v></c><c r="B7"/><cx/></row>"#);
        assert_eq!(col_name(16_383), "XFD");
        assert_eq!(col_name(0), "A");
        assert_eq!(col_name(26), "AA");
    }

    #[test]
    fn generation_is_deterministic() {
        for r in crate::Reader::ALL {
            let m = Mutator::new(crate::seeds::seeds(r), r.extensions());
            for i in 0..40 {
                let a = m.generate(&mut Rng::for_input(3, r as u64, i));
                let b = m.generate(&mut Rng::for_input(3, r as u64, i));
                assert_eq!(a.bytes, b.bytes);
                assert_eq!(a.trail, b.trail);
            }
        }
    }
}
