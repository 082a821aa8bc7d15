//! Resource limits of `kb add` (`[limits]` of config.toml): a document cut into more chunks than
//! `max_chunks`, and a `.docx` that is a zip bomb, are skipped with the reason before anything is
//! indexed; nested Word tables read in linear time.

use lodestar_core::ReadLimits;
use lodestar_dict::Dictionaries;
use lodestar_index::{AddOptions, KnowledgeIndex};
use std::io::Write;
use std::path::Path;

fn docx(path: &Path, document_xml: &[u8]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    z.start_file("word/document.xml", opts).unwrap();
    z.write_all(document_xml).unwrap();
    z.finish().unwrap();
}

#[test]
fn too_many_chunks_and_zip_bombs_are_skipped_before_indexing() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let body: String = (0..50).map(|i| format!("## 第 {i} 节\n\n第 {i} 节的正文，各不相同。\n\n")).collect();
    std::fs::write(src.path().join("long.md"), format!("---\nkb: product\n---\n\n{body}")).unwrap();
    let mut bomb = b"<w:document><w:body><w:p><w:r><w:t>".to_vec();
    bomb.extend(std::iter::repeat_n(b'a', 16 << 20));
    bomb.extend(b"</w:t></w:r></w:p></w:body></w:document>");
    docx(&src.path().join("bomb.docx"), &bomb);
    let mut ix = KnowledgeIndex::open(home.path(), &Dictionaries::builtin().unwrap(), None).unwrap();
    ix.set_limits(ReadLimits { max_chunks: 10, ..ReadLimits::default() });
    let opts = AddOptions { kb: Some(lodestar_core::KbId::Product), ..AddOptions::default() };
    let rep = ix.add_paths(&[src.path().to_path_buf()], &opts).unwrap();
    assert_eq!((rep.added, rep.chunks_added), (0, 0), "{rep:?}");
    let reason =
        |name: &str| rep.skipped.iter().find(|s| s.path.ends_with(name)).map(|s| s.reason.clone()).unwrap_or_default();
    let long = reason("long.md");
    assert!(long.contains("long.md") && long.contains("over the limit of 10") && long.contains("max_chunks"), "{long}");
    let bomb = reason("bomb.docx");
    assert!(bomb.contains("bomb.docx") && bomb.contains("max_compression_ratio"), "{bomb}");
    // the default limits take the long document
    ix.set_limits(ReadLimits::default());
    let rep = ix.add_paths(&[src.path().join("long.md")], &opts).unwrap();
    assert_eq!(rep.added, 1, "{rep:?}");
}

#[test]
fn nested_word_tables_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 3000;
    let cell = "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p>";
    let close = "</w:tc></w:tr></w:tbl>";
    let xml = format!("<w:document><w:body>{}{}</w:body></w:document>", cell.repeat(depth), close.repeat(depth));
    let p = dir.path().join("nested.docx");
    docx(&p, xml.as_bytes());
    let t = std::time::Instant::now();
    let src = lodestar_index::reader::read_file(&p).unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
    // one row of the outermost table, holding the text of every level once
    assert_eq!(src.body.matches('x').count(), depth, "{}", &src.body[..200.min(src.body.len())]);
    assert_eq!(src.body.lines().filter(|l| l.starts_with('|')).count(), 2, "a row and its rule");
}
