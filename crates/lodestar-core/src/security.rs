//! Knowledge bases, sensitivity levels (密级), roles and the principal a request runs as.

use std::fmt;
use std::str::FromStr;

/// Sensitivity level of a document or data field, ordered 公开 < 内部 < 敏感 < 机密.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sensitivity {
    /// 公开
    Public,
    /// 内部
    Internal,
    /// 敏感
    Sensitive,
    /// 机密
    Secret,
}

impl Sensitivity {
    /// The four levels, lowest first (index = [`Sensitivity::rank`]).
    pub const ALL: [Sensitivity; 4] =
        [Sensitivity::Public, Sensitivity::Internal, Sensitivity::Sensitive, Sensitivity::Secret];
    /// The Chinese label used in files, JSON and the UI.
    pub fn label(self) -> &'static str {
        match self {
            Sensitivity::Public => "公开",
            Sensitivity::Internal => "内部",
            Sensitivity::Sensitive => "敏感",
            Sensitivity::Secret => "机密",
        }
    }
    /// A small integer (0..=3) for storage and range filters.
    pub fn rank(self) -> u8 {
        self as u8
    }
    /// The level of [`Sensitivity::rank`] `r`; `None` above 3.
    pub fn from_rank(r: u8) -> Option<Self> {
        Self::ALL.get(r as usize).copied()
    }
}

impl fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A label that names no sensitivity level, knowledge base or role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: `{value}` (expected one of: {expected})")]
pub struct ParseEnumError {
    /// What was being parsed (`sensitivity`, `knowledge base`, `role`).
    pub what: &'static str,
    /// The text that did not parse.
    pub value: String,
    /// The accepted spellings, for the message.
    pub expected: &'static str,
}

impl FromStr for Sensitivity {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match crate::text::norm_key(s).as_str() {
            "公开" | "public" | "0" => Ok(Sensitivity::Public),
            "内部" | "internal" | "1" => Ok(Sensitivity::Internal),
            "敏感" | "sensitive" | "2" => Ok(Sensitivity::Sensitive),
            "机密" | "secret" | "confidential" | "3" => Ok(Sensitivity::Secret),
            _ => Err(ParseEnumError {
                what: "sensitivity",
                value: s.to_string(),
                expected: "公开, 内部, 敏感, 机密 (public, internal, sensitive, secret)",
            }),
        }
    }
}

impl serde::Serialize for Sensitivity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> serde::Deserialize<'de> for Sensitivity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The five knowledge bases (知识库), by canonical id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KbId {
    /// `product` 产品知识库
    Product,
    /// `customer` 客户开发知识库
    Customer,
    /// `policy` 销售政策与服务知识库
    Policy,
    /// `meeting` 经营会议知识库
    Meeting,
    /// `ops` 运营材料知识库
    Ops,
}

impl KbId {
    /// The five knowledge bases in canonical order.
    pub const ALL: [KbId; 5] = [KbId::Product, KbId::Customer, KbId::Policy, KbId::Meeting, KbId::Ops];
    /// The canonical id (`product`, `customer`, `policy`, `meeting`, `ops`) used in files, flags and JSON.
    pub fn id(self) -> &'static str {
        match self {
            KbId::Product => "product",
            KbId::Customer => "customer",
            KbId::Policy => "policy",
            KbId::Meeting => "meeting",
            KbId::Ops => "ops",
        }
    }
    /// The Chinese name, e.g. `产品知识库`.
    pub fn name_zh(self) -> &'static str {
        match self {
            KbId::Product => "产品知识库",
            KbId::Customer => "客户开发知识库",
            KbId::Policy => "销售政策与服务知识库",
            KbId::Meeting => "经营会议知识库",
            KbId::Ops => "运营材料知识库",
        }
    }
}

impl fmt::Display for KbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for KbId {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let k = crate::text::norm_key(s);
        for kb in KbId::ALL {
            if k == kb.id() || k == kb.name_zh() || k == kb.name_zh().trim_end_matches("知识库") {
                return Ok(kb);
            }
        }
        Err(ParseEnumError {
            what: "knowledge base",
            value: s.to_string(),
            expected: "product, customer, policy, meeting, ops",
        })
    }
}

impl serde::Serialize for KbId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> serde::Deserialize<'de> for KbId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Account roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 管理员: everything, including accounts and settings.
    Admin,
    /// 运营: sales operations; imports data and minutes and manages the ledger.
    Ops,
    /// 销售: a salesperson; may update ledger items but not import data.
    Sales,
    /// 访客 / 只读: reads only; changes nothing.
    Viewer,
}

impl Role {
    /// The lowercase id (`admin`, `ops`, `sales`, `viewer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Ops => "ops",
            Role::Sales => "sales",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match crate::text::norm_key(s).as_str() {
            "admin" | "管理员" => Ok(Role::Admin),
            "ops" | "运营" => Ok(Role::Ops),
            "sales" | "销售" => Ok(Role::Sales),
            "viewer" | "访客" | "只读" => Ok(Role::Viewer),
            _ => Err(ParseEnumError { what: "role", value: s.to_string(), expected: "admin, ops, sales, viewer" }),
        }
    }
}

/// Who a request runs as: the filters of retrieval and of the rule engine read this.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    /// Account (login) name.
    pub name: String,
    /// The account's role.
    pub role: Role,
    /// Highest sensitivity this principal may see.
    pub clearance: Sensitivity,
    /// Knowledge bases this principal may search; empty = all.
    pub kbs: Vec<KbId>,
}

impl Principal {
    /// The local administrator the CLI acts as unless `--as USER` is given.
    pub fn local_admin() -> Self {
        Self { name: "admin".into(), role: Role::Admin, clearance: Sensitivity::Secret, kbs: Vec::new() }
    }
    /// Whether the principal may search knowledge base `kb`.
    pub fn can_read_kb(&self, kb: KbId) -> bool {
        self.kbs.is_empty() || self.kbs.contains(&kb)
    }
    /// Whether a document or field of sensitivity `level` is within the principal's clearance.
    pub fn can_see(&self, level: Sensitivity) -> bool {
        level <= self.clearance
    }
    /// Both checks: the knowledge base is granted and the level is within clearance.
    pub fn can_read(&self, kb: KbId, level: Sensitivity) -> bool {
        self.can_read_kb(kb) && self.can_see(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitivity_orders_and_parses() {
        assert!(Sensitivity::Public < Sensitivity::Internal);
        assert!(Sensitivity::Sensitive < Sensitivity::Secret);
        assert_eq!("敏感".parse::<Sensitivity>().unwrap(), Sensitivity::Sensitive);
        assert_eq!("Confidential".parse::<Sensitivity>().unwrap(), Sensitivity::Secret);
        assert!("绝密x".parse::<Sensitivity>().is_err());
    }

    #[test]
    fn principal_filters() {
        let p = Principal {
            name: "li".into(),
            role: Role::Sales,
            clearance: Sensitivity::Internal,
            kbs: vec![KbId::Product, KbId::Policy],
        };
        assert!(p.can_read(KbId::Product, Sensitivity::Public));
        assert!(p.can_read(KbId::Policy, Sensitivity::Internal));
        assert!(!p.can_read(KbId::Policy, Sensitivity::Sensitive));
        assert!(!p.can_read(KbId::Customer, Sensitivity::Public));
        assert!(Principal::local_admin().can_read(KbId::Customer, Sensitivity::Secret));
    }

    #[test]
    fn kb_ids_parse_from_chinese() {
        assert_eq!("产品知识库".parse::<KbId>().unwrap(), KbId::Product);
        assert_eq!("经营会议".parse::<KbId>().unwrap(), KbId::Meeting);
        assert_eq!("OPS".parse::<KbId>().unwrap(), KbId::Ops);
    }
}
