//! The non-Markdown readers on files built here: .docx (zip + XML), .xlsx (rows with header),
//! .pdf (text layer), each going through `add_paths` into searchable chunks.

use lodestar_core::{KbId, Principal, Sensitivity};
use lodestar_dict::Dictionaries;
use lodestar_index::{AddOptions, KnowledgeIndex, SearchRequest};
use std::io::Write;
use std::path::Path;

fn docx(path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("[Content_Types].xml", opts).unwrap();
    z.write_all(
        br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#,
    )
    .unwrap();
    z.start_file("word/document.xml", opts).unwrap();
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>售后服务手册</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>响应时效</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">首次响应 2 小时内，</w:t></w:r><w:r><w:t>R&amp;D 支持 1 个工作日。</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>等级</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>到场</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>金牌</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>4 小时</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
</w:body></w:document>"#;
    z.write_all(body.as_bytes()).unwrap();
    z.finish().unwrap();
}

fn xlsx(path: &Path) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("价格").unwrap();
    for (c, h) in ["规格", "花纹", "指导价"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "11R22.5").unwrap();
    ws.write_string(1, 1, "BD128").unwrap();
    ws.write_number(1, 2, 265.0).unwrap();
    ws.write_string(2, 0, "12.00R24").unwrap();
    ws.write_string(2, 1, "BM260").unwrap();
    ws.write_number(2, 2, 420.0).unwrap();
    wb.save(path).unwrap();
}

/// A one-page PDF whose text layer says `text` (Helvetica, ASCII). Offsets of the xref table are
/// computed while writing, as the format requires.
fn pdf(path: &Path, text: &str) {
    let content = format!("BT /F1 12 Tf 72 712 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for o in offsets {
        out.push_str(&format!("{o:010} 00000 n \n"));
    }
    out.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    std::fs::write(path, out).unwrap();
}

#[test]
fn docx_xlsx_pdf_are_ingested() {
    let src = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = src.path().join("policy");
    std::fs::create_dir_all(&dir).unwrap();
    docx(&dir.join("service.docx"));
    xlsx(&dir.join("prices.xlsx"));
    pdf(&dir.join("warranty.pdf"), "Warranty: 36 months for 315/80R22.5 BD177");
    std::fs::write(dir.join("scan.pdf"), b"%PDF-1.4 not really").unwrap();
    let dicts = Dictionaries::builtin().unwrap();
    let mut ix = KnowledgeIndex::open(home.path(), &dicts, None).unwrap();
    let opts = AddOptions { kb: None, sensitivity: Some(Sensitivity::Public) };
    let rep = ix.add_paths(&[src.path().to_path_buf()], &opts).unwrap();
    assert_eq!(rep.added, 3, "{rep:?}");
    assert_eq!(rep.skipped.len(), 1, "the broken PDF is reported, not fatal: {rep:?}");
    let docs = ix.documents();
    assert!(docs.iter().all(|d| d.kb == KbId::Policy && d.sensitivity == Sensitivity::Public));

    // docx: heading path and entity-decoded text; the table keeps its header.
    let chunks = ix.chunks_of("policy/service.docx");
    assert_eq!(docs.iter().find(|d| d.doc == "policy/service.docx").unwrap().title, "售后服务手册");
    assert!(
        chunks.iter().any(|c| c.section == "响应时效" && c.text.contains("首次响应 2 小时内，R&D 支持")),
        "{chunks:?}"
    );
    assert!(chunks.iter().any(|c| c.text.contains("| 等级 | 到场 |\n|---|---|\n| 金牌 | 4 小时 |")), "{chunks:?}");

    // xlsx: each row travels with the header row, numbers without a trailing `.0`.
    let x = ix.chunks_of("policy/prices.xlsx");
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].section, "价格");
    assert_eq!(
        x[0].text,
        "| 规格 | 花纹 | 指导价 |\n|---|---|---|\n| 11R22.5 | BD128 | 265 |\n| 12.00R24 | BM260 | 420 |"
    );

    // pdf: the text layer is searchable, the spec code whole.
    let res = ix.search(&SearchRequest::new("315/80r22.5 warranty", Principal::local_admin())).unwrap();
    assert_eq!(res.hits.first().map(|h| h.doc.as_str()), Some("policy/warranty.pdf"));
}
