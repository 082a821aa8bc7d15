//! The tables the generator draws from: list prices, seasonality, one buying profile per
//! customer (volume, product mix, payment terms) and the scripted events that keep the demo data
//! consistent with the customer dossiers in `knowledge/customer/`.
//!
//! Monthly volumes are the level at the end of the window (growth is applied backwards), in USD.

use crate::model::PaymentNode;

/// List price (USD per tyre) of each catalogue spec at the middle of the window.
pub(crate) const PRICES: &[(&str, f64)] = &[
    // 全钢 TBR: 150–260
    ("315/80R22.5", 205.0),
    ("315/70R22.5", 198.0),
    ("295/80R22.5", 185.0),
    ("385/65R22.5", 215.0),
    ("385/55R22.5", 226.0),
    ("12R22.5", 190.0),
    ("11R22.5", 172.0),
    ("13R22.5", 236.0),
    ("12.00R20", 228.0),
    ("11.00R20", 195.0),
    ("12.00R24", 247.0),
    ("275/70R22.5", 168.0),
    ("245/70R19.5", 158.0),
    ("10.00R20", 175.0),
    // 半钢 PCR/LTR: 35–90
    ("205/55R16", 42.5),
    ("195/65R15", 38.2),
    ("185/65R15", 36.8),
    ("225/65R17", 58.0),
    ("235/60R18", 66.5),
    ("225/45R18", 62.0),
    ("265/70R17", 81.0),
    ("LT235/85R16", 85.5),
    ("195/75R16C", 55.0),
    ("215/65R16C", 60.5),
    ("205/60R16", 48.0),
    ("225/60R17", 68.0),
    // 巨胎 GOTR: 8,000–45,000
    ("59/80R63", 42800.0),
    ("53/80R63", 36500.0),
    ("50/80R57", 28400.0),
    ("46/90R57", 26200.0),
    ("40.00R57", 19500.0),
    ("37.00R57", 16600.0),
    ("36.00R51", 13100.0),
    ("33.00R51", 11500.0),
    ("27.00R49", 8450.0),
    // 中小工程胎 OTR: 300–1,200
    ("17.5-25", 420.0),
    ("20.5-25", 650.0),
    ("23.5-25", 820.0),
    ("26.5R25", 1120.0),
    ("29.5R25", 1145.0),
    ("17.5R25", 520.0),
    ("14.00-24", 380.0),
    ("18.00-25", 1050.0),
    ("12-16.5", 318.0),
];

pub(crate) fn list_price(spec: &str) -> Option<f64> {
    PRICES.iter().find(|(s, _)| *s == spec).map(|(_, p)| *p)
}

/// Seasonality by category code, January..December.
pub(crate) fn season(category: &str, month: u32) -> f64 {
    const TBR: [f64; 12] = [0.85, 0.83, 0.95, 1.02, 1.02, 0.98, 1.00, 1.10, 1.18, 1.15, 1.05, 0.97];
    // spring change-over (Mar–Apr), winter-tyre season (Sep–Nov)
    const PCR: [f64; 12] = [0.78, 0.78, 1.05, 1.20, 0.95, 0.85, 0.85, 1.00, 1.30, 1.40, 1.10, 0.90];
    const GOTR: [f64; 12] = [0.92, 0.92, 1.00, 1.02, 1.02, 1.02, 1.00, 1.02, 1.05, 1.05, 1.00, 0.98];
    // construction season
    const OTR: [f64; 12] = [0.75, 0.75, 0.95, 1.15, 1.20, 1.15, 1.10, 1.10, 1.05, 1.00, 0.90, 0.80];
    let i = (month.clamp(1, 12) - 1) as usize;
    match category {
        "TBR" => TBR[i],
        "PCR" => PCR[i],
        "GOTR" => GOTR[i],
        _ => OTR[i],
    }
}

/// What an installment's due date is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// contract signing date
    Signed,
    /// goods-ready date (货好日期)
    GoodsReady,
    /// bill-of-lading date
    BillOfLading,
}

/// Payment terms (付款条件): the free text and its installments (node, percent, anchor, days).
pub(crate) struct Terms {
    pub text: &'static str,
    pub parts: &'static [(PaymentNode, u32, Anchor, i64)],
}

use Anchor::{BillOfLading as Bl, GoodsReady as Gr, Signed as Sg};
use PaymentNode::{AfterShipment as After, AgainstBl as Bol, BeforeShipment as Before, Prepay as Pre};

const T_30_BL: Terms =
    Terms { text: "30% TT预付，70%见提单副本付款", parts: &[(Pre, 30, Sg, 7), (Bol, 70, Bl, 7)] };

/// A customer's buying profile.
pub(crate) struct Profile {
    pub id: &'static str,
    /// Monthly purchase (USD) at the end of the window, before seasonality.
    pub base: f64,
    /// Linear yearly growth (0.10 = the level a year before the end was 10 % lower).
    pub growth: f64,
    /// (spec, share of the amount, probability of buying the spec in a given month)
    pub mix: &'static [(&'static str, f64, f64)],
    /// Months of concentrated purchases (集中采购); empty = steady monthly buying.
    pub lumps: &'static [u32],
    /// First month with purchases, as an offset from the end month (−4 = four months before).
    pub start: Option<i64>,
    /// First month without purchases (status 暂停), as an offset from the end month.
    pub stop: Option<i64>,
    pub terms: Terms,
}

/// Every customer that buys during the window. Customers in 开发中 that are not listed never buy.
pub(crate) const PROFILES: &[Profile] = &[
    // ── 俄罗斯 RU ──
    Profile {
        id: "C001",
        base: 100_000.0,
        growth: 0.12,
        mix: &[
            ("315/80R22.5", 0.45, 1.0),
            ("315/70R22.5", 0.2, 0.9),
            ("385/65R22.5", 0.25, 0.9),
            ("LT235/85R16", 0.1, 0.5),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "30% TT预付，70%见提单副本付款（发提单副本后7个自然日内）",
            parts: &[(Pre, 30, Sg, 7), (Bol, 70, Bl, 7)],
        },
    },
    Profile {
        id: "C002",
        base: 420_000.0,
        growth: 0.10,
        mix: &[("12.00R20", 0.5, 1.0), ("11R22.5", 0.15, 0.8), ("315/80R22.5", 0.2, 0.9), ("385/65R22.5", 0.15, 0.8)],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "30% TT预付，70%发货前付清（货好通知后10天内）",
            parts: &[(Pre, 30, Sg, 7), (Before, 70, Gr, 10)],
        },
    },
    Profile {
        id: "C003",
        base: 900_000.0,
        growth: 0.08,
        mix: &[
            ("40.00R57", 0.45, 1.0),
            ("36.00R51", 0.12, 0.8),
            ("33.00R51", 0.12, 0.8),
            ("27.00R49", 0.07, 0.7),
            ("29.5R25", 0.12, 0.9),
            ("14.00-24", 0.05, 0.7),
            ("12.00R24", 0.07, 0.8),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "10% TT预付，90%提单日后60天TT（出口信用保险覆盖）",
            parts: &[(Pre, 10, Sg, 7), (After, 90, Bl, 60)],
        },
    },
    Profile {
        id: "C004",
        base: 650_000.0,
        growth: 0.06,
        mix: &[
            ("295/80R22.5", 0.3, 1.0),
            ("315/80R22.5", 0.2, 0.9),
            ("385/65R22.5", 0.15, 0.8),
            ("12R22.5", 0.1, 0.7),
            ("11R22.5", 0.1, 0.7),
            ("195/75R16C", 0.15, 0.8),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "50%预付，50%发货前付清（卢布结算）", parts: &[(Pre, 50, Sg, 7), (Before, 50, Gr, 7)]
        },
    },
    Profile {
        id: "C005",
        base: 520_000.0,
        growth: 0.10,
        mix: &[
            ("205/60R16", 0.22, 0.9),
            ("225/60R17", 0.18, 0.9),
            ("265/70R17", 0.15, 0.8),
            ("195/65R15", 0.08, 0.7),
            ("315/80R22.5", 0.12, 0.8),
            ("12R22.5", 0.08, 0.7),
            ("13R22.5", 0.05, 0.6),
            ("17.5-25", 0.06, 0.7),
            ("20.5-25", 0.06, 0.6),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "40% TT预付，60%发货前付清", parts: &[(Pre, 40, Sg, 7), (Before, 60, Gr, 7)] },
    },
    Profile {
        id: "C007",
        base: 70_000.0,
        growth: -0.04,
        mix: &[("275/70R22.5", 0.6, 1.0), ("295/80R22.5", 0.2, 0.8), ("315/70R22.5", 0.2, 0.8)],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "不可撤销即期信用证（L/C at sight）", parts: &[(Bol, 100, Bl, 10)] },
    },
    Profile {
        id: "C008",
        base: 550_000.0,
        growth: 0.09,
        mix: &[
            ("12.00R24", 0.5, 1.0),
            ("13R22.5", 0.08, 0.7),
            ("27.00R49", 0.2, 0.8),
            ("29.5R25", 0.1, 0.8),
            ("23.5-25", 0.12, 0.8),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "20% TT预付，80%提单日后45天TT", parts: &[(Pre, 20, Sg, 7), (After, 80, Bl, 45)] },
    },
    Profile {
        id: "C010",
        base: 300_000.0,
        growth: 0.07,
        mix: &[
            ("185/65R15", 0.15, 0.9),
            ("195/65R15", 0.15, 0.9),
            ("205/55R16", 0.12, 0.9),
            ("225/65R17", 0.08, 0.7),
            ("235/60R18", 0.08, 0.7),
            ("315/80R22.5", 0.25, 1.0),
            ("11R22.5", 0.17, 0.8),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "30%预付，70%发货后30天（卢布结算）", parts: &[(Pre, 30, Sg, 7), (After, 70, Bl, 30)]
        },
    },
    Profile {
        id: "C011",
        base: 150_000.0,
        growth: 0.0,
        mix: &[("11R22.5", 0.35, 0.9), ("12.00R20", 0.25, 0.8), ("17.5-25", 0.2, 0.8), ("14.00-24", 0.2, 0.7)],
        lumps: &[],
        start: None,
        stop: Some(-6),
        terms: Terms { text: "30%预付，70%发货后60天", parts: &[(Pre, 30, Sg, 7), (After, 70, Bl, 60)] },
    },
    // ── 白俄罗斯 BY ──
    Profile {
        id: "C012",
        base: 150_000.0,
        growth: 0.08,
        mix: &[
            ("385/55R22.5", 0.3, 1.0),
            ("385/65R22.5", 0.3, 1.0),
            ("315/70R22.5", 0.2, 0.8),
            ("315/80R22.5", 0.2, 0.8),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "30% TT预付，70%货到克莱佩达/明斯克前10天付清（欧元结算）",
            parts: &[(Pre, 30, Sg, 7), (After, 70, Bl, 20)],
        },
    },
    Profile {
        id: "C013",
        base: 230_000.0,
        growth: 0.06,
        mix: &[
            ("17.5-25", 0.14, 0.9),
            ("20.5-25", 0.22, 1.0),
            ("23.5-25", 0.22, 1.0),
            ("14.00-24", 0.1, 0.7),
            ("12R22.5", 0.12, 0.7),
            ("27.00R49", 0.2, 0.85),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "100%提单日后90天TT（O/A 90天，出口信用保险承保）", parts: &[(After, 100, Bl, 90)]
        },
    },
    Profile {
        id: "C015",
        base: 400_000.0,
        growth: 0.05,
        mix: &[
            ("315/80R22.5", 0.3, 1.0),
            ("385/65R22.5", 0.22, 0.9),
            ("245/70R19.5", 0.12, 0.7),
            ("10.00R20", 0.06, 0.5),
            ("195/75R16C", 0.15, 0.8),
            ("215/65R16C", 0.15, 0.8),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: T_30_BL,
    },
    // ── 哈萨克斯坦 KZ ──
    Profile {
        id: "C016",
        base: 400_000.0,
        growth: 0.12,
        mix: &[
            ("40.00R57", 0.33, 0.9),
            ("33.00R51", 0.27, 1.0),
            ("27.00R49", 0.1, 0.7),
            ("26.5R25", 0.1, 0.8),
            ("29.5R25", 0.12, 0.8),
            ("13R22.5", 0.08, 0.7),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "10% TT预付，90%货到矿山验收后60天内TT", parts: &[(Pre, 10, Sg, 7), (After, 90, Bl, 90)]
        },
    },
    Profile {
        id: "C017",
        base: 70_000.0,
        growth: 0.15,
        mix: &[("315/80R22.5", 0.45, 1.0), ("385/65R22.5", 0.35, 0.9), ("295/80R22.5", 0.2, 0.8)],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "30% TT预付，70%发货前付清", parts: &[(Pre, 30, Sg, 7), (Before, 70, Gr, 7)] },
    },
    Profile {
        id: "C018",
        base: 320_000.0,
        growth: 0.08,
        mix: &[("12.00R24", 0.65, 1.0), ("13R22.5", 0.08, 0.7), ("23.5-25", 0.07, 0.6), ("27.00R49", 0.2, 0.8)],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "25% TT预付，75%见提单副本付款（7个工作日内）",
            parts: &[(Pre, 25, Sg, 7), (Bol, 75, Bl, 9)],
        },
    },
    Profile {
        id: "C019",
        base: 420_000.0,
        growth: 0.14,
        mix: &[
            ("185/65R15", 0.14, 1.0),
            ("195/65R15", 0.14, 1.0),
            ("205/55R16", 0.16, 1.0),
            ("205/60R16", 0.12, 0.8),
            ("225/60R17", 0.1, 0.8),
            ("225/65R17", 0.12, 0.9),
            ("235/60R18", 0.1, 0.8),
            ("265/70R17", 0.12, 0.8),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "100%发货前TT付清", parts: &[(Before, 100, Gr, 5)] },
    },
    Profile {
        id: "C021",
        base: 60_000.0,
        growth: 0.0,
        mix: &[("17.5-25", 0.3, 1.0), ("20.5-25", 0.3, 0.9), ("17.5R25", 0.2, 0.7), ("12-16.5", 0.2, 0.7)],
        lumps: &[],
        start: Some(-4),
        stop: None,
        terms: Terms { text: "100% TT预付（新客户试单）", parts: &[(Pre, 100, Sg, 7)] },
    },
    Profile {
        id: "C022",
        base: 260_000.0,
        growth: 0.07,
        mix: &[("36.00R51", 0.6, 1.0), ("27.00R49", 0.2, 0.8), ("29.5R25", 0.1, 0.7), ("12.00R24", 0.1, 0.7)],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "90天远期不可撤销信用证（L/C 90 days after B/L date）", parts: &[(After, 100, Bl, 90)]
        },
    },
    // ── 阿塞拜疆 AZ ──
    Profile {
        id: "C023",
        base: 420_000.0,
        growth: 0.10,
        mix: &[
            ("315/80R22.5", 0.3, 1.0),
            ("385/65R22.5", 0.2, 0.9),
            ("275/70R22.5", 0.15, 0.8),
            ("12R22.5", 0.1, 0.7),
            ("215/65R16C", 0.1, 0.7),
            ("26.5R25", 0.15, 0.7),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "50% TT预付，50%见提单副本后5个工作日内付清",
            parts: &[(Pre, 50, Sg, 7), (Bol, 50, Bl, 7)],
        },
    },
    Profile {
        id: "C025",
        base: 380_000.0,
        growth: 0.08,
        mix: &[
            ("195/65R15", 0.18, 1.0),
            ("205/55R16", 0.18, 1.0),
            ("225/65R17", 0.12, 0.8),
            ("265/70R17", 0.1, 0.7),
            ("17.5-25", 0.12, 0.8),
            ("14.00-24", 0.08, 0.6),
            ("27.00R49", 0.22, 0.6),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: T_30_BL,
    },
    // ── 亚美尼亚 AM ──
    Profile {
        id: "C026",
        base: 90_000.0,
        growth: 0.06,
        mix: &[
            ("205/55R16", 0.25, 1.0),
            ("195/65R15", 0.2, 0.9),
            ("225/65R17", 0.15, 0.8),
            ("295/80R22.5", 0.2, 0.8),
            ("11R22.5", 0.2, 0.7),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "30% TT预付，70%发货后30天", parts: &[(Pre, 30, Sg, 7), (After, 70, Bl, 30)] },
    },
    Profile {
        id: "C027",
        base: 170_000.0,
        growth: 0.0,
        mix: &[("27.00R49", 0.45, 1.0), ("12.00R24", 0.3, 1.0), ("23.5-25", 0.15, 0.7), ("26.5R25", 0.1, 0.6)],
        lumps: &[4, 10],
        start: Some(-12),
        stop: None,
        terms: Terms { text: "30% TT预付，70%发货后30天内TT", parts: &[(Pre, 30, Sg, 7), (After, 70, Bl, 30)] },
    },
    Profile {
        id: "C028",
        base: 70_000.0,
        growth: 0.0,
        mix: &[("315/80R22.5", 0.6, 1.0), ("385/65R22.5", 0.4, 0.9)],
        lumps: &[],
        start: None,
        stop: Some(-11),
        terms: T_30_BL,
    },
    // ── 格鲁吉亚 GE ──
    Profile {
        id: "C029",
        base: 60_000.0,
        growth: 0.10,
        mix: &[
            ("18.00-25", 0.35, 0.9),
            ("26.5R25", 0.15, 0.7),
            ("315/80R22.5", 0.25, 0.9),
            ("385/65R22.5", 0.15, 0.8),
            ("12R22.5", 0.1, 0.6),
        ],
        lumps: &[],
        start: Some(-17),
        stop: None,
        terms: Terms {
            text: "20% TT预付，80%见提单副本付款（欧元结算）",
            parts: &[(Pre, 20, Sg, 7), (Bol, 80, Bl, 7)],
        },
    },
    Profile {
        id: "C030",
        base: 400_000.0,
        growth: 0.09,
        mix: &[
            ("205/55R16", 0.18, 1.0),
            ("185/65R15", 0.14, 0.9),
            ("225/45R18", 0.1, 0.7),
            ("235/60R18", 0.1, 0.7),
            ("315/80R22.5", 0.16, 0.9),
            ("11.00R20", 0.1, 0.7),
            ("33.00R51", 0.22, 0.5),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "50% TT预付，50%发货前付清", parts: &[(Pre, 50, Sg, 7), (Before, 50, Gr, 7)] },
    },
    // ── 乌兹别克斯坦 UZ ──
    Profile {
        id: "C032",
        base: 120_000.0,
        growth: 0.10,
        mix: &[("12.00R20", 0.5, 1.0), ("11R22.5", 0.15, 0.8), ("12R22.5", 0.15, 0.8), ("315/80R22.5", 0.2, 0.8)],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "30% TT预付，70%货物到达塔什干铁路站前付清",
            parts: &[(Pre, 30, Sg, 7), (After, 70, Bl, 18)],
        },
    },
    Profile {
        id: "C033",
        base: 750_000.0,
        growth: 0.08,
        mix: &[("40.00R57", 0.5, 1.0), ("33.00R51", 0.35, 1.0), ("29.5R25", 0.1, 0.8), ("12.00R24", 0.05, 0.6)],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "20% TT预付，80%提单日后90天TT（出口信用保险承保）",
            parts: &[(Pre, 20, Sg, 7), (After, 80, Bl, 90)],
        },
    },
    Profile {
        id: "C034",
        base: 450_000.0,
        growth: 0.12,
        mix: &[
            ("185/65R15", 0.2, 1.0),
            ("195/65R15", 0.2, 1.0),
            ("205/55R16", 0.15, 0.9),
            ("225/65R17", 0.12, 0.8),
            ("205/60R16", 0.1, 0.7),
            ("12-16.5", 0.08, 0.8),
            ("17.5-25", 0.15, 0.9),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "30% TT预付，70%发货前付清", parts: &[(Pre, 30, Sg, 7), (Before, 70, Gr, 7)] },
    },
    // ── 塔吉克斯坦 TJ ──
    Profile {
        id: "C036",
        base: 150_000.0,
        growth: 0.10,
        mix: &[
            ("12.00R20", 0.45, 1.0),
            ("11.00R20", 0.15, 0.8),
            ("10.00R20", 0.1, 0.7),
            ("12R22.5", 0.1, 0.7),
            ("315/80R22.5", 0.1, 0.7),
            ("LT235/85R16", 0.1, 0.9),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms {
            text: "100%发货前付清（货好通知后7天内，人民币结算）", parts: &[(Before, 100, Gr, 7)]
        },
    },
    Profile {
        id: "C037",
        base: 560_000.0,
        growth: 0.08,
        mix: &[
            ("36.00R51", 0.35, 0.9),
            ("27.00R49", 0.3, 1.0),
            ("23.5-25", 0.15, 0.8),
            ("14.00-24", 0.1, 0.7),
            ("12.00R24", 0.1, 0.7),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: T_30_BL,
    },
    Profile {
        id: "C038",
        base: 90_000.0,
        growth: 0.0,
        mix: &[("185/65R15", 0.35, 1.0), ("195/65R15", 0.35, 1.0), ("205/55R16", 0.3, 0.9)],
        lumps: &[],
        start: None,
        stop: Some(-5),
        terms: Terms { text: "50% TT预付，50%见提单副本付款", parts: &[(Pre, 50, Sg, 7), (Bol, 50, Bl, 7)] },
    },
    // ── 吉尔吉斯斯坦 KG ──
    Profile {
        id: "C039",
        base: 330_000.0,
        growth: 0.09,
        mix: &[
            ("315/80R22.5", 0.25, 1.0),
            ("12.00R20", 0.2, 0.9),
            ("205/55R16", 0.15, 0.8),
            ("195/65R15", 0.15, 0.8),
            ("225/65R17", 0.15, 0.7),
            ("10.00R20", 0.1, 0.6),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: T_30_BL,
    },
    Profile {
        id: "C040",
        base: 220_000.0,
        growth: 0.05,
        mix: &[("33.00R51", 0.55, 1.0), ("27.00R49", 0.2, 0.8), ("29.5R25", 0.15, 0.8), ("14.00-24", 0.1, 0.8)],
        lumps: &[3, 9],
        start: None,
        stop: None,
        terms: Terms { text: "30% TT预付，70%提单日后60天TT", parts: &[(Pre, 30, Sg, 7), (After, 70, Bl, 60)] },
    },
    // ── 日本 JP ──
    Profile {
        id: "C042",
        base: 150_000.0,
        growth: 0.08,
        mix: &[
            ("11R22.5", 0.45, 1.0),
            ("295/80R22.5", 0.25, 0.9),
            ("245/70R19.5", 0.15, 0.8),
            ("195/75R16C", 0.15, 0.9),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "O/A 60天（提单日后60天TT，月末结算）", parts: &[(After, 100, Bl, 60)] },
    },
    Profile {
        id: "C043",
        base: 330_000.0,
        growth: 0.10,
        mix: &[
            ("20.5-25", 0.25, 1.0),
            ("17.5R25", 0.2, 0.9),
            ("23.5-25", 0.2, 0.8),
            ("12-16.5", 0.1, 0.8),
            ("27.00R49", 0.25, 0.85),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "O/A 30天（提单日后30天TT）", parts: &[(After, 100, Bl, 30)] },
    },
    // ── 韩国 KR ──
    Profile {
        id: "C045",
        base: 160_000.0,
        growth: 0.12,
        mix: &[
            ("315/80R22.5", 0.35, 1.0),
            ("12R22.5", 0.2, 0.9),
            ("295/80R22.5", 0.15, 0.8),
            ("385/65R22.5", 0.15, 0.8),
            ("215/65R16C", 0.15, 0.7),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: Terms { text: "见提单副本后30天TT（T/T 30 days after B/L）", parts: &[(Bol, 100, Bl, 30)] },
    },
    Profile {
        id: "C046",
        base: 420_000.0,
        growth: 0.07,
        mix: &[
            ("18.00-25", 0.3, 1.0),
            ("26.5R25", 0.2, 0.9),
            ("12R22.5", 0.15, 0.8),
            ("315/80R22.5", 0.1, 0.7),
            ("27.00R49", 0.25, 0.85),
        ],
        lumps: &[],
        start: None,
        stop: None,
        terms: T_30_BL,
    },
    Profile {
        id: "C047",
        base: 60_000.0,
        growth: 0.0,
        mix: &[("205/55R16", 0.35, 1.0), ("225/45R18", 0.25, 0.9), ("235/60R18", 0.2, 0.9), ("225/65R17", 0.2, 0.8)],
        lumps: &[],
        start: Some(-2),
        stop: None,
        terms: Terms { text: "100% TT预付（新客户试销）", parts: &[(Pre, 100, Sg, 7)] },
    },
];

/// A scripted month of a customer's purchases (from the dossiers): `replace` drops the generated
/// lines of that customer-month, otherwise the lines are added to them.
pub(crate) struct ScriptedSale {
    pub customer: &'static str,
    /// Offset from the end month.
    pub offset: i64,
    pub lines: &'static [(&'static str, i64)],
    pub replace: bool,
}

pub(crate) const SCRIPTED_SALES: &[ScriptedSale] = &[
    // 天山矿业: 2026 上半年交付 33.00R51 40 条、27.00R49 20 条 (March batch); 9 月批次 33.00R51 44 条、29.5R25 16 条.
    ScriptedSale { customer: "C040", offset: -7, lines: &[("33.00R51", 40), ("27.00R49", 20)], replace: true },
    ScriptedSale { customer: "C040", offset: -1, lines: &[("33.00R51", 44), ("29.5R25", 16)], replace: true },
    // 休尼克矿石运输: 2025-10 首份合同 27.00R49 24 条 + 12.00R24 300 条.
    ScriptedSale { customer: "C027", offset: -12, lines: &[("27.00R49", 24), ("12.00R24", 300)], replace: true },
    // 开发中 customers' sample orders (样品): 远东港口服务 2025-12 送样 18.00-25 4 条; 樱花轮胎商事 2026-02
    // 寄送样品 6 个规格各 8 条; 里海货运 2026-09 样品 20 条.
    ScriptedSale { customer: "C009", offset: -10, lines: &[("18.00-25", 4)], replace: true },
    ScriptedSale {
        customer: "C044",
        offset: -8,
        lines: &[
            ("185/65R15", 8),
            ("195/65R15", 8),
            ("205/55R16", 8),
            ("225/45R18", 8),
            ("225/60R17", 8),
            ("225/65R17", 8),
        ],
        replace: true,
    },
    ScriptedSale { customer: "C020", offset: -1, lines: &[("315/80R22.5", 12), ("385/65R22.5", 8)], replace: true },
    // 阿尔泰矿业: 第四季度按计划交付 40.00R57 36 条 → receivables above the credit limit.
    ScriptedSale { customer: "C016", offset: 0, lines: &[("40.00R57", 36)], replace: false },
];
