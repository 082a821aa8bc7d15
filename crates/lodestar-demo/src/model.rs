//! The generated records, in memory, before they are written to workbooks.
//!
//! Codes (country `RU`, category `TBR`, customer `C001`, staff `S05`) are kept next to the
//! spelling that the workbook shows, so tests and fact sheets can work on either.

use chrono::NaiveDate;
use lodestar_core::Month;
use rust_decimal::Decimal;
use serde::Serialize;

/// One line of the sales export (销售明细).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaleRow {
    /// 月份
    pub month: Month,
    /// Country code (国家), e.g. `RU`.
    pub country: String,
    /// Customer id (客户), e.g. `C001`.
    pub customer: String,
    /// The customer's name as written in the export (Chinese name mostly, sometimes English).
    pub customer_name: String,
    /// Category code (品类): `GOTR`, `TBR`, `PCR`, `OTR`.
    pub category: String,
    /// Canonical spec (规格), e.g. `315/80R22.5`.
    pub spec: String,
    /// 销量 (条).
    pub quantity: i64,
    /// 销售额 in `currency`, two decimals.
    pub amount: Decimal,
    /// 币种: `USD`, `EUR`, `RUB`, `CNY`.
    pub currency: String,
    /// Staff id of the 销售负责人.
    pub owner: String,
}

/// One monthly target (目标) of a country × category, in USD.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetRow {
    /// 月份.
    pub month: Month,
    /// Country code.
    pub country: String,
    /// Category code.
    pub category: String,
    /// 目标销量 (条).
    pub target_quantity: i64,
    /// 目标金额 (USD).
    pub target_amount: Decimal,
    /// 币种 (USD).
    pub currency: String,
}

/// 付款节点: when an installment falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PaymentNode {
    /// 预付 (advance, on signing)
    #[serde(rename = "预付")]
    Prepay,
    /// 发货前 (before shipment, usually after the goods-ready notice)
    #[serde(rename = "发货前")]
    BeforeShipment,
    /// 见提单 (against the bill of lading copy)
    #[serde(rename = "见提单")]
    AgainstBl,
    /// 发货后 (N days after shipment / B/L date)
    #[serde(rename = "发货后")]
    AfterShipment,
}

impl PaymentNode {
    /// The node's Chinese label as the export writes it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Prepay => "预付",
            Self::BeforeShipment => "发货前",
            Self::AgainstBl => "见提单",
            Self::AfterShipment => "发货后",
        }
    }
}

/// 发货状态 of a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ShippingStatus {
    /// 未发货
    #[serde(rename = "未发货")]
    NotShipped,
    /// 已订舱
    #[serde(rename = "已订舱")]
    Booked,
    /// 已发货
    #[serde(rename = "已发货")]
    Shipped,
}

impl ShippingStatus {
    /// The status's Chinese label as the export writes it.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotShipped => "未发货",
            Self::Booked => "已订舱",
            Self::Shipped => "已发货",
        }
    }
}

/// One payment installment of a contract (合同回款), the grain of the receivables export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Installment {
    /// 合同号, e.g. `BC-RU-2026-0455`.
    pub contract_no: String,
    /// Customer id.
    pub customer: String,
    /// Country code.
    pub country: String,
    /// 币种.
    pub currency: String,
    /// 合同金额.
    pub contract_amount: Decimal,
    /// 付款条件 (free text).
    pub payment_terms: String,
    /// 付款节点.
    pub node: PaymentNode,
    /// 应回款金额.
    pub due_amount: Decimal,
    /// 约定回款日期.
    pub due_date: NaiveDate,
    /// 已回款金额.
    pub paid_amount: Decimal,
    /// 实际回款日期 (of the last payment), when anything was paid.
    pub paid_date: Option<NaiveDate>,
    /// 货好日期.
    pub goods_ready: Option<NaiveDate>,
    /// 发货状态.
    pub shipping: ShippingStatus,
}

impl Installment {
    /// 应回款 − 已回款.
    pub fn outstanding(&self) -> Decimal {
        self.due_amount - self.paid_amount
    }
}

/// One row of the fx table (汇率): USD per unit of `currency` in `month`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FxRate {
    /// 月份.
    pub month: Month,
    /// The currency converted from.
    pub currency: String,
    /// 对美元汇率.
    pub usd_per_unit: Decimal,
}
