//! Zip containers taken apart and written back, honestly or with lying headers: the mutator's view
//! of `.xlsx`, `.xlsm`, `.ods` and `.docx` files.

use std::io::{Read, Write};

/// One entry of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    /// Store (no compression) rather than deflate.
    pub stored: bool,
    /// Write this pre-compressed deflate stream instead of compressing `data` (zip bombs):
    /// (compressed bytes, uncompressed size, crc32 of the uncompressed bytes).
    pub raw_deflate: Option<(Vec<u8>, u64, u32)>,
}

impl Entry {
    pub fn new(name: &str, data: Vec<u8>) -> Self {
        Self { name: name.as_bytes().to_vec(), data, stored: false, raw_deflate: None }
    }

    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Entries of a zip file, in central-directory order; `None` when it does not open (each entry is
/// read up to 64 MiB).
pub fn read_entries(bytes: &[u8]) -> Option<Vec<Entry>> {
    if !bytes.starts_with(b"PK") {
        return None;
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).ok()?;
        let stored = f.compression() == zip::CompressionMethod::Stored;
        let name = f.name_raw().to_vec();
        let mut data = Vec::new();
        (&mut f).take(64 << 20).read_to_end(&mut data).ok()?;
        out.push(Entry { name, data, stored, raw_deflate: None });
    }
    Some(out)
}

/// Lies a written container tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lies {
    /// (entry index, declared uncompressed size) in both headers.
    pub size: Option<(usize, u32)>,
    /// (entry index, declared compressed size) in the central directory.
    pub csize: Option<(usize, u32)>,
    /// Entry index whose CRC is wrong.
    pub crc: Option<usize>,
    /// Entry count in the end record.
    pub count: Option<u16>,
    /// Central directory offset in the end record.
    pub cd_offset: Option<u32>,
    /// (entry index, local header offset) in the central directory.
    pub local_offset: Option<(usize, u32)>,
}

/// Writes entries as a zip file by hand (duplicate names allowed, any lie applied).
pub fn write_raw(entries: &[Entry], lies: &Lies) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let (method, payload, usize_, crc): (u16, Vec<u8>, u64, u32) = match &e.raw_deflate {
            Some((c, n, crc)) => (8, c.clone(), *n, *crc),
            None if e.stored => (0, e.data.clone(), e.data.len() as u64, crc32fast::hash(&e.data)),
            None => (8, deflate(&e.data), e.data.len() as u64, crc32fast::hash(&e.data)),
        };
        let mut crc = crc;
        if lies.crc == Some(i) {
            crc ^= 0x5A5A_5A5A;
        }
        let mut usz = usize_.min(u32::MAX as u64) as u32;
        if let Some((j, n)) = lies.size {
            if j == i {
                usz = n;
            }
        }
        let mut csz = payload.len() as u32;
        let offset = out.len() as u32;
        put_u32(&mut out, 0x0403_4b50);
        put_u16(&mut out, 20);
        put_u16(&mut out, if std::str::from_utf8(&e.name).is_ok() { 0x0800 } else { 0 });
        put_u16(&mut out, method);
        put_u16(&mut out, 0x6000); // 12:00
        put_u16(&mut out, 0x5A21); // 2025-01-01
        put_u32(&mut out, crc);
        put_u32(&mut out, csz);
        put_u32(&mut out, usz);
        put_u16(&mut out, e.name.len() as u16);
        put_u16(&mut out, 0);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&payload);
        if let Some((j, n)) = lies.csize {
            if j == i {
                csz = n;
            }
        }
        let mut local = offset;
        if let Some((j, n)) = lies.local_offset {
            if j == i {
                local = n;
            }
        }
        put_u32(&mut central, 0x0201_4b50);
        put_u16(&mut central, 20);
        put_u16(&mut central, 20);
        put_u16(&mut central, if std::str::from_utf8(&e.name).is_ok() { 0x0800 } else { 0 });
        put_u16(&mut central, method);
        put_u16(&mut central, 0x6000);
        put_u16(&mut central, 0x5A21);
        put_u32(&mut central, crc);
        put_u32(&mut central, csz);
        put_u32(&mut central, usz);
        put_u16(&mut central, e.name.len() as u16);
        put_u16(&mut central, 0);
        put_u16(&mut central, 0);
        put_u16(&mut central, 0);
        put_u16(&mut central, 0);
        put_u32(&mut central, 0);
        put_u32(&mut central, local);
        central.extend_from_slice(&e.name);
    }
    let cd_offset = lies.cd_offset.unwrap_or(out.len() as u32);
    let cd_len = central.len() as u32;
    out.extend_from_slice(&central);
    let count = lies.count.unwrap_or(entries.len().min(u16::MAX as usize) as u16);
    put_u32(&mut out, 0x0605_4b50);
    put_u16(&mut out, 0);
    put_u16(&mut out, 0);
    put_u16(&mut out, count);
    put_u16(&mut out, count);
    put_u32(&mut out, cd_len);
    put_u32(&mut out, cd_offset);
    put_u16(&mut out, 0);
    out
}

/// Writes entries through the `zip` crate (what real tools write). Duplicate names fall back to
/// [`write_raw`].
pub fn write_zip(entries: &[Entry]) -> Vec<u8> {
    let mut seen = std::collections::HashSet::new();
    if entries.iter().any(|e| !seen.insert(e.name.clone()) || e.raw_deflate.is_some()) {
        return write_raw(entries, &Lies::default());
    }
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for e in entries {
            let method = if e.stored { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
            let opts = zip::write::SimpleFileOptions::default().compression_method(method);
            if z.start_file(e.name_str(), opts).is_err() || z.write_all(&e.data).is_err() {
                return write_raw(entries, &Lies::default());
            }
        }
        if z.finish().is_err() {
            return write_raw(entries, &Lies::default());
        }
    }
    buf.into_inner()
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("deflate into memory");
    enc.finish().expect("deflate into memory")
}

/// A deflate bomb: `head`, then `unit` repeated until `total` bytes, then `tail`, compressed as
/// one raw deflate stream. Returns (compressed, uncompressed size, crc32).
pub fn bomb(head: &[u8], unit: &[u8], total: u64, tail: &[u8]) -> (Vec<u8>, u64, u32) {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let mut crc = crc32fast::Hasher::new();
    let mut n = 0u64;
    enc.write_all(head).expect("deflate into memory");
    crc.update(head);
    n += head.len() as u64;
    let mut block = Vec::with_capacity(1 << 20);
    while block.len() + unit.len() <= 1 << 20 {
        block.extend_from_slice(unit);
    }
    while n + (block.len() as u64) + (tail.len() as u64) <= total {
        enc.write_all(&block).expect("deflate into memory");
        crc.update(&block);
        n += block.len() as u64;
    }
    enc.write_all(tail).expect("deflate into memory");
    crc.update(tail);
    n += tail.len() as u64;
    (enc.finish().expect("deflate into memory"), n, crc.finalize())
}

fn put_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put_u32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_crate_writers_read_back() {
        let entries =
            vec![Entry::new("a.xml", b"<a>1</a>".to_vec()), Entry { stored: true, ..Entry::new("b", vec![7; 100]) }];
        for bytes in [write_raw(&entries, &Lies::default()), write_zip(&entries)] {
            let back = read_entries(&bytes).expect("reads back");
            assert_eq!(back.len(), 2);
            assert_eq!(back[0].data, b"<a>1</a>");
            assert_eq!(back[1].data, vec![7; 100]);
        }
        let (c, n, crc) = bomb(b"<x>", b"<y/>", 4 << 20, b"</x>");
        assert_eq!(n % 4, 3);
        let e = Entry { raw_deflate: Some((c, n, crc)), ..Entry::new("bomb.xml", Vec::new()) };
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(write_raw(&[e], &Lies::default()))).unwrap();
        let mut s = Vec::new();
        z.by_index(0).unwrap().read_to_end(&mut s).unwrap();
        assert_eq!(s.len() as u64, n);
    }
}
