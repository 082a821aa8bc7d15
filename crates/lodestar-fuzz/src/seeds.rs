//! Seed inputs, built in code: valid workbooks (rust_xlsxwriter; an `.ods` written by hand; an
//! `.xls` converted once by LibreOffice and kept under `seeds/`), customer and staff lists in
//! UTF-8 / GBK / UTF-16 with and without BOMs, minutes as Markdown / text / `.docx`, knowledge
//! documents as Markdown with front matter / `.docx` / `.xlsx` / a small PDF.

use crate::zipkit::{self, Entry};
use crate::Reader;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, Worksheet};

/// A seed file: a name (for reports) and its bytes; `ext` picks the reader's format.
#[derive(Debug, Clone)]
pub struct Seed {
    pub name: String,
    pub ext: String,
    pub bytes: Vec<u8>,
}

impl Seed {
    fn new(name: &str, ext: &str, bytes: Vec<u8>) -> Self {
        Self { name: name.into(), ext: ext.into(), bytes }
    }
}

/// The built-in seeds of a reader.
pub fn seeds(reader: Reader) -> Vec<Seed> {
    match reader {
        Reader::Workbook => workbook_seeds(),
        Reader::Csv => csv_seeds(),
        Reader::Minutes => minutes_seeds(),
        Reader::Knowledge => knowledge_seeds(),
    }
}

/// A cell to write.
#[derive(Clone, Debug)]
enum C {
    S(&'static str),
    N(f64),
    B(bool),
    /// A date (y, m, d) with a number format.
    D(u16, u8, u8, &'static str),
    /// A formula with its cached result.
    F(&'static str, &'static str),
    E,
}

fn write_row(ws: &mut Worksheet, r: u32, cells: &[C]) {
    for (c, v) in cells.iter().enumerate() {
        let c = c as u16;
        let _ = match v {
            C::S(s) => ws.write_string(r, c, *s).map(|_| ()),
            C::N(n) => ws.write_number(r, c, *n).map(|_| ()),
            C::B(b) => ws.write_boolean(r, c, *b).map(|_| ()),
            C::D(y, m, d, fmt) => ExcelDateTime::from_ymd(*y, *m, *d).and_then(|dt| {
                ws.write_datetime_with_format(r, c, &dt, &Format::new().set_num_format(*fmt)).map(|_| ())
            }),
            C::F(f, result) => ws.write_formula(r, c, Formula::new(*f).set_result(*result)).map(|_| ()),
            C::E => Ok(()),
        };
    }
}

struct SheetSpec {
    name: &'static str,
    rows: Vec<Vec<C>>,
    /// (first_row, first_col, last_row, last_col, text)
    merges: Vec<(u32, u16, u32, u16, &'static str)>,
    hidden: bool,
}

fn sheet(name: &'static str, rows: Vec<Vec<C>>) -> SheetSpec {
    SheetSpec { name, rows, merges: Vec::new(), hidden: false }
}

fn xlsx(sheets: &[SheetSpec]) -> Vec<u8> {
    let mut wb = Workbook::new();
    for s in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(s.name).expect("valid sheet name");
        for (r, row) in s.rows.iter().enumerate() {
            write_row(ws, r as u32, row);
        }
        for &(r0, c0, r1, c1, text) in &s.merges {
            ws.merge_range(r0, c0, r1, c1, text, &Format::new()).expect("valid merge");
        }
        if s.hidden {
            ws.set_hidden(true);
        }
    }
    wb.save_to_buffer().expect("workbook writes to memory")
}

fn sales_sheet() -> SheetSpec {
    let header = vec![
        C::S("Month"),
        C::S("国家/地区"),
        C::S("客户名称 "),
        C::S("产品类别"),
        C::S("Tyre Size"),
        C::S("销量（条）"),
        C::S("Amount (USD)"),
        C::S("Curr"),
    ];
    let mut s = sheet(
        "Sales 2026-09",
        vec![
            vec![C::S("北辰轮胎 2026年9月 销售明细")],
            vec![],
            header,
            vec![
                C::D(2026, 9, 1, "yyyy-mm"),
                C::S("Russia "),
                C::S("Sibir Logistics"),
                C::S("TBR"),
                C::S("315/80 r22.5"),
                C::N(120.0),
                C::N(15600.5),
                C::S("usd"),
            ],
            vec![
                C::S("2026年9月"),
                C::E,
                C::S("阿尔泰运输"),
                C::S("全钢"),
                C::S("３１５／８０Ｒ２２．５"),
                C::S("１，２００"),
                C::S("1,234.50"),
                C::E,
            ],
            vec![
                C::N(202609.0),
                C::E,
                C::S("Altai Trans"),
                C::S("PCR"),
                C::S("205/55 R16 91V"),
                C::S("35"),
                C::S("(100.00)"),
                C::S("USD"),
            ],
            vec![C::E, C::E, C::S("小计"), C::E, C::E, C::F("=SUM(F4:F6)", "1355"), C::F("=SUM(G4:G6)", "16735")],
            vec![
                C::S("Sep 2026"),
                C::S("KZ"),
                C::S("新客户Z"),
                C::S("半钢"),
                C::S("999/99R99"),
                C::N(10.0),
                C::F("=1/0", "#DIV/0!"),
                C::S("USD"),
            ],
            vec![
                C::D(2026, 9, 30, "yyyy-mm-dd"),
                C::S("Narnia"),
                C::S("Ural Mining"),
                C::S("OTR"),
                C::S("17.5-25"),
                C::B(true),
                C::N(-0.0),
                C::S("卢布"),
            ],
            vec![C::E, C::E, C::S("合计"), C::E, C::E, C::N(1360.0), C::N(17235.0)],
        ],
    );
    s.merges.push((4, 1, 5, 1, "Россия"));
    s
}

fn targets_sheet() -> SheetSpec {
    sheet(
        "目标",
        vec![
            vec![C::S("月份"), C::S("国家"), C::S("品类"), C::S("目标销量(条)"), C::S("目标金额（USD）")],
            vec![C::S("2026-09"), C::S("俄罗斯"), C::S("全钢"), C::S("2,000"), C::N(300000.0)],
            vec![C::S("2026-09"), C::S("哈萨克斯坦"), C::E, C::E, C::S("120 000")],
            vec![C::D(2026, 10, 1, "yyyy\"年\"m\"月\""), C::S("白俄罗斯"), C::S("半钢"), C::E, C::E],
        ],
    )
}

fn receivables_sheet() -> SheetSpec {
    sheet(
        "合同回款",
        vec![
            vec![C::S("合同/回款明细（截至 2026-10-05）")],
            vec![
                C::S("合同号"),
                C::S("客户"),
                C::S("国家"),
                C::S("币种"),
                C::S("合同金额"),
                C::S("付款条件"),
                C::S("付款节点"),
                C::S("应回款金额"),
                C::S("约定回款日期"),
                C::S("已回款金额"),
                C::S("实际回款日期"),
                C::S("货好日期"),
                C::S("发货状态"),
            ],
            vec![
                C::S("BC-2026-0815"),
                C::S("乌拉尔矿业"),
                C::S("俄罗斯"),
                C::S("USD"),
                C::S("1,000,000"),
                C::S("30%预付，70%见提单"),
                C::S("预付款"),
                C::N(300000.0),
                C::D(2026, 8, 20, "yyyy-mm-dd"),
                C::N(300000.0),
                C::S("2026/8/20"),
                C::S("2026年10月10日"),
                C::S("booked"),
            ],
            vec![
                C::S("BC-2026-0815"),
                C::S("乌拉尔矿业"),
                C::S("俄罗斯"),
                C::S("USD"),
                C::N(1_000_000.0),
                C::S("30%预付，70%见提单"),
                C::S("见提单"),
                C::S("700,000"),
                C::S("2026-11-30"),
                C::E,
                C::E,
                C::D(2026, 10, 10, "d-mmm-yy"),
                C::S("未发货"),
            ],
        ],
    )
}

fn fx_sheet() -> SheetSpec {
    sheet(
        "汇率",
        vec![
            vec![C::S("Period"), C::S("CCY"), C::S("Rate to USD")],
            vec![C::S("2026-09"), C::S("RUB"), C::S("0.0108")],
            vec![C::D(2026, 9, 1, "mmm yyyy"), C::S("KZT"), C::N(0.00196)],
            vec![C::S("2026-09"), C::S("EUR"), C::N(1.08)],
        ],
    )
}

/// Two header rows with a parent merged across its children and keys merged down.
fn two_row_header_sheet() -> SheetSpec {
    let mut s = sheet(
        "销售(两行表头)",
        vec![
            vec![
                C::S("月份"),
                C::S("国家"),
                C::S("客户"),
                C::S("品类"),
                C::S("规格"),
                C::S("本月"),
                C::E,
                C::S("币种"),
            ],
            vec![C::E, C::E, C::E, C::E, C::E, C::S("数量(条)"), C::S("金额(USD)"), C::E],
            vec![
                C::S("2026-10"),
                C::S("俄罗斯"),
                C::S("西伯利亚物流"),
                C::S("全钢"),
                C::S("315/80R22.5"),
                C::S("10"),
                C::S("2000"),
                C::S("USD"),
            ],
            vec![
                C::S("2026-10"),
                C::E,
                C::S("西伯利亚物流"),
                C::S("全钢"),
                C::S("315/70R22.5"),
                C::N(4.0),
                C::N(800.0),
                C::E,
            ],
        ],
    );
    s.merges = vec![(0, 0, 1, 0, "月份"), (0, 1, 1, 1, "国家"), (0, 5, 0, 6, "本月"), (2, 1, 3, 1, "俄罗斯")];
    s
}

/// The `.xls` seed: the messy sales workbook converted by LibreOffice (`soffice --convert-to xls`).
const SALES_XLS: &[u8] = include_bytes!("../seeds/sales.xls");
/// The same workbook converted to `.ods` by LibreOffice.
const SALES_ODS: &[u8] = include_bytes!("../seeds/sales.ods");

/// The messy sales workbook of the seeds (also written by `--write-seeds` for the conversions).
pub fn sales_workbook() -> Vec<u8> {
    let mut hidden = sales_sheet();
    hidden.name = "Sales (copy)";
    hidden.hidden = true;
    xlsx(&[
        sales_sheet(),
        sheet("说明", vec![vec![C::S("本文件由 ERP 导出")], vec![C::S("口径：销量单位为条")]]),
        hidden,
    ])
}

fn workbook_seeds() -> Vec<Seed> {
    let sales = sales_workbook();
    vec![
        Seed::new("sales", "xlsx", sales.clone()),
        Seed::new("sales-macro", "xlsm", sales),
        Seed::new("targets", "xlsx", xlsx(&[targets_sheet()])),
        Seed::new("receivables", "xlsx", xlsx(&[receivables_sheet()])),
        Seed::new("fx", "xlsx", xlsx(&[fx_sheet()])),
        Seed::new("two-row-header", "xlsx", xlsx(&[two_row_header_sheet(), targets_sheet()])),
        Seed::new("sales-lo", "xls", SALES_XLS.to_vec()),
        Seed::new("sales-lo", "ods", SALES_ODS.to_vec()),
        Seed::new("targets-hand", "ods", ods_targets()),
        Seed::new(
            "sales",
            "csv",
            "\u{feff}月份,国家,客户,品类,规格,销量,金额,币种\n2026-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,\"1,200\",15600.5,USD\n2026-09,KZ,\"Altai, Trans\",PCR,205/55R16,35,(100),usd\n"
                .as_bytes()
                .to_vec(),
        ),
    ]
}

/// A targets sheet as OpenDocument, written by hand: repeated columns and rows, covered (merged)
/// cells, float / date / percentage / string cells.
pub fn ods_targets() -> Vec<u8> {
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>
<table:table table:name="目标"><table:table-column table:number-columns-repeated="6"/>
<table:table-row><table:table-cell office:value-type="string"><text:p>月份</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>国家</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>品类</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>目标销量(条)</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>目标金额（USD）</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>币种</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="date" office:date-value="2026-09-01"><text:p>2026-09</text:p></table:table-cell><table:table-cell office:value-type="string" table:number-rows-spanned="2"><text:p>俄罗斯</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>全钢</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="2000"><text:p>2,000</text:p></table:table-cell><table:table-cell office:value-type="currency" office:currency="USD" office:value="300000"><text:p>$300,000</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>USD</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="date" office:date-value="2026-09-01T00:00:00"><text:p>2026-09</text:p></table:table-cell><table:covered-table-cell/><table:table-cell office:value-type="string"><text:p>半钢</text:p></table:table-cell><table:table-cell office:value-type="percentage" office:value="0.5"><text:p>50%</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="1.5E5"><text:p>150000</text:p></table:table-cell><table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>TRUE</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="6"/></table:table-row>
<table:table-row><table:table-cell table:number-columns-repeated="2"/><table:table-cell office:value-type="string"><text:p>合计</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="2000" table:formula="of:=SUM([.D2:.D3])"><text:p>2000</text:p></table:table-cell></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"#;
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    zipkit::write_zip(&[
        Entry { stored: true, ..Entry::new("mimetype", b"application/vnd.oasis.opendocument.spreadsheet".to_vec()) },
        Entry::new("content.xml", content.as_bytes().to_vec()),
        Entry::new("META-INF/manifest.xml", manifest.as_bytes().to_vec()),
    ])
}

const CUSTOMERS_CSV: &str = "客户名称,英文名称,本地名称,国家,销售负责人,状态,信用额度,币种,信用等级\n\
西伯利亚物流,Sibir Logistics LLC,Сибирь Логистик;ООО «Сибирь Логистик»,俄罗斯,陈思远,合作中,\"800,000\",USD,B\n\
新客户甲,New Customer A,,KZ,李娜,潜在,120000,usd,A\n\
\"Caspian, Freight\",Caspian Freight,\"Каспий\nФрейт\",阿塞拜疆,马丽,暂停,1e6,EUR,C\n\
合计,,,,,,920000,,\n";

const STAFF_CSV: &str =
    "姓名,别名,岗位,部门,国家\n王立军,Leo Wang;王总,区域总监,区域管理,\n新同事,New Colleague,销售经理,销售部,RU;KZ\n";

fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = (if bom { "\u{feff}" } else { "" }).encode_utf16().chain(s.encode_utf16());
    for u in units {
        out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

fn csv_seeds() -> Vec<Seed> {
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    vec![
        Seed::new("customers-utf8", "csv", CUSTOMERS_CSV.as_bytes().to_vec()),
        Seed::new("customers-utf8-bom", "csv", format!("\u{feff}{CUSTOMERS_CSV}").into_bytes()),
        Seed::new("customers-gbk", "csv", gbk(CUSTOMERS_CSV)),
        Seed::new("customers-utf16le-bom", "csv", utf16(CUSTOMERS_CSV, true, true)),
        Seed::new("customers-utf16be-bom", "csv", utf16(CUSTOMERS_CSV, false, true)),
        Seed::new("customers-utf16le", "csv", utf16(CUSTOMERS_CSV, true, false)),
        Seed::new("customers-semicolon", "csv", CUSTOMERS_CSV.replace(',', ";").into_bytes()),
        Seed::new("customers-tab-crlf", "csv", CUSTOMERS_CSV.replace(',', "\t").replace('\n', "\r\n").into_bytes()),
        Seed::new("staff-utf8", "csv", STAFF_CSV.as_bytes().to_vec()),
        Seed::new("staff-gbk", "csv", gbk(STAFF_CSV)),
    ]
}

pub const MINUTES_MD: &str = "# 北部战区 2026 年 8 月经营分析会纪要\n\n\
- 会议时间：2026-09-07 09:00–11:30\n- 主持：王立军\n- 参会：陈思远、李娜、刘洋、张伟\n- 记录：谢芳\n\n\
## 一、经营数据通报\n1. 8 月区域销售额 1,280 万美元，达成率 98.5%，环比增长 6.2%。\n\n\
## 二、重点议题\n### 俄罗斯\n陈思远介绍：西伯利亚物流 7 月合同尾款 12 万美元仍未到账，客户称 9 月中旬可付。\n\n\
## 三、会议决议\n1. 原则同意俄罗斯第四季度全钢促销政策框架，细则另行讨论。\n\n\
## 四、行动项\n\
1. 西伯利亚物流 12 万美元尾款催收，9 月 15 日前到账。责任人：张伟；完成时限：2026-09-15。\n\
2. 伏尔加卡车服务 3 个柜 9 月船期订舱确认。责任人：孙晓东、黄晓静；完成时限：9 月 12 日。\n\
3. 卡拉干达煤炭服务 40.00R57 试用数据汇总。责任人：韩磊；完成时限：9 月底。\n\
4. 阿尔泰矿业年度招标资格预审材料准备。责任人：周婷；完成时限：10 月第二周。\n\
5. 巴库运输集团少提 2 个柜原因分析。责任人：马丽；完成时限：本周五。\n\
6. 促销细则起草。责任人：陈思远；完成时限：下次会议前。\n\n\
| 事项 | 负责人 | 截止时间 |\n|---|---|---|\n| 撒马尔罕运输发运 | 吴刚 | 本周内 |\n| COMTRANS 展位搭建 | 罗敏 | 2026年9月8日 |\n";

const MINUTES_TXT: &str = "经营例会 2026年11月16日\r\n主持人: Leo Wang\r\n\r\n行动项:\r\n\
(1) Sibir Logistics overdue payment follow-up, owner Simon Chen, due 2026-11-30\r\n\
(2) 明斯克货运 EUR 付款币种变更确认，负责人：刘洋，截止 11/20\r\n\
(3) 逾期 90 天以上应收清单逐户核对 —— 冯雪 —— 月底前\r\n";

fn docx(document_xml: &str, title: Option<&str>) -> Vec<u8> {
    let content_types = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    let mut entries = vec![
        Entry::new("[Content_Types].xml", content_types.as_bytes().to_vec()),
        Entry::new("_rels/.rels", rels.as_bytes().to_vec()),
        Entry::new("word/document.xml", document_xml.as_bytes().to_vec()),
    ];
    if let Some(t) = title {
        let core = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{t}</dc:title><dc:creator>lodestar-fuzz</dc:creator></cp:coreProperties>"#
        );
        entries.push(Entry::new("docProps/core.xml", core.into_bytes()));
    }
    zipkit::write_zip(&entries)
}

const W_NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

fn minutes_docx() -> Vec<u8> {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W_NS}><w:body>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>四、行动项</w:t></w:r></w:p>
<w:p><w:r><w:t>1. 西伯利亚物流尾款催收。</w:t></w:r><w:r><w:t xml:space="preserve">责任人：张伟；截止：9月15日。</w:t></w:r></w:p>
<w:p><w:r><w:t>2. 订舱确认</w:t><w:tab/><w:t>负责人：孙晓东</w:t><w:br/><w:t>完成时限：2026-09-12 &amp; 9/12</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>事项</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>负责人</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>截止时间</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>撒马尔罕运输发运</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>吴刚</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>本周内</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:sectPr/></w:body></w:document>"#
    );
    docx(&xml, Some("经营分析会纪要"))
}

fn minutes_seeds() -> Vec<Seed> {
    vec![
        Seed::new("minutes", "md", MINUTES_MD.as_bytes().to_vec()),
        Seed::new("minutes-bom", "md", format!("\u{feff}{MINUTES_MD}").into_bytes()),
        Seed::new("minutes-crlf", "txt", MINUTES_TXT.as_bytes().to_vec()),
        Seed::new("minutes", "docx", minutes_docx()),
    ]
}

const KNOWLEDGE_MD: &str = "---\nkb: product\ntitle: \"巨胎产品线与选型指南\"\nsensitivity: 公开\ndate: 2026-06-22\ncountry: [RU, KZ; UZ]\nowner: S19\ncustomer: C001\n---\n\n\
# 巨胎产品线与选型指南\n\n## 一、产品线概览\n\n北辰巨胎（GOTR）全部为钢丝子午线结构，统一采用 E-4 岩石型花纹 BO-E4。\n续行：覆盖 90–400 吨级刚性矿用自卸车。\n\n\
| 规格 | 适配车辆吨级 | 典型车型 |\n|---|---|---|\n| 59/80R63 | 360–400 吨 | БелАЗ-75600、CAT 797F |\n| 53/80R63 | 320–360 吨 | CAT 795F AC |\n\n\
### 1.1 选型\n\n```\ncode block | not a table\n```\n\n- 列表项一\n- 列表项二：E-4 深花纹。\n\n## 二、配方与工况选型\n\n巨胎寿命取决于工况。很长的一句话没有标点但是需要被切开";

fn knowledge_docx() -> Vec<u8> {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W_NS}><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>应收账款管理办法</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>第一章 总则</w:t></w:r></w:p>
<w:p><w:r><w:t>信用额度由财务部核定，</w:t></w:r><w:r><w:t>逾期 90 天以上 &lt;停止发货&gt;。</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="标题 3"/></w:pPr><w:r><w:t>&#x7B2C;二条 账期</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>等级</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>账期|天</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>A</w:t></w:r></w:p><w:p><w:r><w:t>(优)</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>90</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:tbl><w:tr><w:tc><w:p><w:r><w:t>nested</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:tc></w:tr></w:tbl>
<w:sectPr/></w:body></w:document>"#
    );
    docx(&xml, Some("应收账款管理办法 &amp; 细则"))
}

/// A one-page PDF with a text layer (standard Helvetica, WinAnsi): objects and xref offsets are
/// computed, so it is valid. `compressed` puts the page contents in a FlateDecode stream.
pub fn pdf(lines: &[&str], compressed: bool) -> Vec<u8> {
    let mut content = String::from("BT /F1 12 Tf 72 720 Td 14 TL\n");
    for l in lines {
        content.push_str(&format!("({}) Tj T*\n", l.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)")));
    }
    content.push_str("ET\n");
    let (stream, filter) = if compressed {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, content.as_bytes()).expect("compress into memory");
        (z.finish().expect("compress into memory"), " /Filter /FlateDecode")
    } else {
        (content.into_bytes(), "")
    };
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    let objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        {
            let mut s = format!("<< /Length {}{filter} >>\nstream\n", stream.len()).into_bytes();
            s.extend_from_slice(&stream);
            s.extend_from_slice(b"\nendstream");
            s
        },
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Title (Tyre guide) /Producer (lodestar-fuzz) >>".to_vec(),
    ];
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n", objs.len() + 1)
            .as_bytes(),
    );
    out
}

fn knowledge_seeds() -> Vec<Seed> {
    let lines = ["Tyre guide 315/80R22.5", "Load index 156/150 L, 20PR", "Pattern BD177: long-haul drive axle."];
    vec![
        Seed::new("guide", "md", KNOWLEDGE_MD.as_bytes().to_vec()),
        Seed::new("guide-crlf-bom", "md", format!("\u{feff}{}", KNOWLEDGE_MD.replace('\n', "\r\n")).into_bytes()),
        Seed::new("notes", "txt", MINUTES_TXT.as_bytes().to_vec()),
        Seed::new("policy", "docx", knowledge_docx()),
        Seed::new("price-list", "xlsx", xlsx(&[sales_sheet(), fx_sheet()])),
        Seed::new("price-list-lo", "xls", SALES_XLS.to_vec()),
        Seed::new("targets", "ods", ods_targets()),
        Seed::new("guide", "pdf", pdf(&lines, false)),
        Seed::new("guide-flate", "pdf", pdf(&lines, true)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reader_has_seeds_that_read() {
        for r in Reader::ALL {
            let s = seeds(r);
            assert!(s.len() >= 4, "{r:?}");
            assert!(s.iter().all(|s| !s.bytes.is_empty()));
        }
    }
}
