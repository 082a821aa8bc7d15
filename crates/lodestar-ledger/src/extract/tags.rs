//! Type tags (stage 2): weighted keywords of `dictionaries/type_keywords.csv` plus the item's
//! customer, spec and amount signals; ties go to review.

use super::*;

/// Tie-break order of the tags (first wins on equal keyword scores), by tag code.
pub(super) const TYPE_PRIORITY: &[&str] =
    &["AR_RISK", "HIRING", "SERVICE", "ORDER_SHIP", "MARKETING", "CUST_DEV", "PRODUCT", "OTHER"];

/// Tag keyword table: tags.csv keywords (weight 1) overlaid with `dictionaries/type_keywords.csv` (and the home's overlay).
pub struct TypeRules {
    /// (keyword lower-cased, tag code, weight)
    keywords: Vec<(String, String, f64)>,
    /// tag code → name, in priority order
    tags: Vec<(String, String)>,
}

impl TypeRules {
    /// Builds the table from the dictionaries' tags and keyword weights.
    pub fn new(d: &Dictionaries) -> Self {
        let mut kw: BTreeMap<(String, String), f64> = BTreeMap::new();
        for t in &d.tags {
            for k in &t.keywords {
                kw.insert((k.to_lowercase(), t.code.clone()), 1.0);
            }
        }
        // `dictionaries/type_keywords.csv` (with the home's overlay): keyword,tag,weight
        for f in &d.vocab.type_keywords.rows {
            if f.len() == 3 && d.tags.iter().any(|t| t.code == f[1]) {
                let w: f64 = f[2].parse().unwrap_or(1.0);
                kw.insert((f[0].to_lowercase(), f[1].clone()), w);
            }
        }
        let mut tags: Vec<(String, String)> = d.tags.iter().map(|t| (t.code.clone(), t.name.clone())).collect();
        tags.sort_by_key(|(c, _)| TYPE_PRIORITY.iter().position(|p| p == c).unwrap_or(usize::MAX));
        Self { keywords: kw.into_iter().map(|((k, c), w)| (k, c, w)).collect(), tags }
    }

    /// Scores per tag code of a (masked) text.
    pub fn scores(&self, masked: &str) -> BTreeMap<String, f64> {
        let low = masked.to_lowercase();
        let mut s: BTreeMap<String, f64> = BTreeMap::new();
        for (k, code, w) in &self.keywords {
            let n = low.matches(k.as_str()).count();
            if n > 0 {
                *s.entry(code.clone()).or_default() += w * n as f64;
            }
        }
        s
    }

    /// The best tag code for a text (ties broken by the priority order), or None without any hit.
    pub fn best(&self, masked: &str) -> Option<String> {
        let s = self.scores(masked);
        let mut best: Option<(String, f64)> = None;
        for (code, _) in &self.tags {
            if let Some(&v) = s.get(code) {
                if best.as_ref().is_none_or(|b| v > b.1 + 1e-9) {
                    best = Some((code.clone(), v));
                }
            }
        }
        best.map(|b| b.0)
    }

    /// The display name of tag `code` (`AR_RISK` → `回款风险`).
    pub fn name_of(&self, code: &str) -> Option<&str> {
        self.tags.iter().find(|(c, _)| c == code).map(|(_, n)| n.as_str())
    }

    /// The tag code for a tag name or code as written (case and width ignored).
    pub fn code_of_name(&self, name: &str) -> Option<&str> {
        let k = lodestar_core::text::norm_key(name);
        self.tags
            .iter()
            .find(|(c, n)| lodestar_core::text::norm_key(n) == k || lodestar_core::text::norm_key(c) == k)
            .map(|(c, _)| c.as_str())
    }

    /// Tag names, in priority order.
    pub fn names(&self) -> Vec<&str> {
        self.tags.iter().map(|(_, n)| n.as_str()).collect()
    }
}
