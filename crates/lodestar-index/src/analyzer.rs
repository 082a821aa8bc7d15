//! The text analyzer (分词) shared by indexing and querying.
//!
//! 1. Normalize: full-width → half-width, lower-case (Latin and Cyrillic), `ё` → `е`.
//! 2. Codes are single tokens: tyre specs (`315/80 R22.5` → `315/80r22.5`, `12.00R24`,
//!    `17.5-25`, normalized with [`lodestar_dict::spec::normalize_spec`]) and hyphenated codes such
//!    as contract numbers (`BC-RU-2026-0815`). Their text is then masked so that no fragments
//!    (`315`, `80`) are indexed.
//! 3. Dictionary names: every alias of a customer, country, category or staff member (Chinese,
//!    English, Cyrillic) also emits an entity token (`cust:c001`, `ctry:ru`, `cat:tbr`,
//!    `staff:s05`), so `Sibir Logistics`, `Сибирь Логистик` and `西伯利亚物流` all meet.
//! 4. Chinese runs go through jieba (search mode) whose user dictionary holds the Chinese names of
//!    the dictionaries and the domain terms; other letter/digit runs are words (`bd177`, `сибирь`).
//! 5. A short stop list (的, 了, 哪些, what, и …) is dropped.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use jieba_rs::Jieba;
use lodestar_dict::{Dictionaries, NameKind};
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;

/// Bumped whenever tokenization changes, so stored BM25 indexes are rebuilt.
const ANALYZER_VERSION: &str = "lodestar-analyzer-3";

/// Domain terms kept whole by jieba (产品 / 业务 terms).
pub const DOMAIN_TERMS: &[&str] = &[
    "巨胎",
    "全钢",
    "半钢",
    "中小工程胎",
    "工程胎",
    "子午线",
    "斜交",
    "花纹",
    "花纹深度",
    "层级",
    "负荷指数",
    "速度级别",
    "轮辋",
    "胎面",
    "胎侧",
    "胎体",
    "带束层",
    "翻新",
    "矿山",
    "矿区",
    "露天矿",
    "井下",
    "港口",
    "干线",
    "长途",
    "区域",
    "驱动轮",
    "转向轮",
    "挂车轮",
    "导向轮",
    "牵引车",
    "自卸车",
    "装载机",
    "平地机",
    "宽体车",
    "矿卡",
    "货好",
    "订舱",
    "提单",
    "预付",
    "预付款",
    "尾款",
    "见提单",
    "发货前",
    "发货后",
    "回款",
    "逾期",
    "信用额度",
    "信用等级",
    "账期",
    "付款条件",
    "达成率",
    "同比",
    "环比",
    "年累计",
    "缺口",
    "排名",
    "督办",
    "台账",
    "三包",
    "质保",
    "索赔",
    "理赔",
    "返利",
    "价格政策",
    "价目表",
    "指导价",
    "报关",
    "清关",
    "认证",
    "海运",
    "铁路",
    "中欧班列",
    "集装箱",
    "高柜",
    "起订量",
    "交期",
    "排产",
    "本地化",
    "经销商",
    "车队",
    "展会",
    "促销",
    "培训",
    "胎压",
    "气压",
    "耐磨",
    "抗刺扎",
    "抗切割",
    "生热",
    "里程",
    "磨耗",
    "冬季胎",
    "雪地",
    "三峰雪山",
];

const STOPWORDS: &[&str] = &[
    "的",
    "了",
    "是",
    "在",
    "和",
    "与",
    "及",
    "或",
    "对",
    "为",
    "把",
    "被",
    "吗",
    "呢",
    "啊",
    "吧",
    "么",
    "哪些",
    "哪个",
    "哪",
    "什么",
    "多少",
    "怎么",
    "怎么样",
    "如何",
    "怎样",
    "有",
    "有没有",
    "请问",
    "一下",
    "我们",
    "你们",
    "他们",
    "这个",
    "那个",
    "这",
    "那",
    "其",
    "之",
    "也",
    "都",
    "就",
    "还",
    "要",
    "会",
    "能",
    "可以",
    "是否",
    "请",
    "给",
    "从",
    "中",
    "上",
    "下",
    "等",
    "里",
    "时",
    "个",
    "吗?",
    "the",
    "a",
    "an",
    "of",
    "and",
    "or",
    "is",
    "are",
    "to",
    "in",
    "for",
    "on",
    "with",
    "what",
    "which",
    "how",
    "и",
    "в",
    "на",
    "с",
    "по",
    "для",
];

/// The analyzer: build once per dictionary set, share behind an `Arc`.
pub struct Analyzer {
    jieba: Jieba,
    entities: Option<AhoCorasick>,
    /// Entity tokens of each automaton pattern.
    entity_tokens: Vec<Vec<String>>,
    /// Whether a pattern starts / ends with a letter or digit (needs word boundaries there).
    entity_bounds: Vec<(bool, bool)>,
    specs: HashSet<String>,
    stop: HashSet<&'static str>,
    fingerprint: String,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

fn code_re() -> &'static Regex {
    lodestar_core::regex!(concat!(
        r"(?P<contract>[a-z]{1,6}[0-9]*(?:-[a-z0-9]{1,10}){2,6})",
        r"|(?P<metric>(?:lt|p)?\d{2,3}/\d{2}(?:\.\d{1,2})?\s?(?:zr|r|-|d|b)?\s?\d{2}(?:\.\d)?c?)",
        r"|(?P<numeric>\d{1,2}(?:\.\d{1,2})?\s?[r-]\s?\d{2}(?:\.\d)?)"
    ))
}

/// Han ideographs (the runs jieba segments).
pub use lodestar_core::text::is_han;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_han(c)
}

/// Half-width, lower-case, `ё` → `е`.
pub fn normalize(text: &str) -> String {
    lodestar_core::text::to_halfwidth(text)
        .chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

impl Analyzer {
    /// Builds the analyzer from the dictionaries (user dictionary of jieba and entity names).
    pub fn new(dicts: &Dictionaries) -> Self {
        let mut jieba = Jieba::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut tokens: Vec<Vec<String>> = Vec::new();
        let mut pattern_ix: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut fp = Sha256::new();
        fp.update(ANALYZER_VERSION.as_bytes());
        for (kind, prefix) in [
            (NameKind::Customer, "cust"),
            (NameKind::Country, "ctry"),
            (NameKind::Category, "cat"),
            (NameKind::Staff, "staff"),
        ] {
            for (key, id) in dicts.alias_keys(kind) {
                let key = normalize(&key);
                let n = key.chars().count();
                let ascii = key.is_ascii();
                if n < 2 || (ascii && n <= 2) {
                    continue; // `RU`, `by`: too ambiguous in free text
                }
                let tok = format!("{prefix}:{}", id.to_lowercase());
                fp.update(key.as_bytes());
                fp.update(tok.as_bytes());
                let ix = *pattern_ix.entry(key.clone()).or_insert_with(|| {
                    patterns.push(key.clone());
                    tokens.push(Vec::new());
                    patterns.len() - 1
                });
                if !tokens[ix].contains(&tok) {
                    tokens[ix].push(tok);
                }
                if key.chars().any(is_han) && !key.contains(' ') {
                    jieba.add_word(&key, None, None);
                }
            }
        }
        for t in DOMAIN_TERMS {
            jieba.add_word(t, None, None);
            fp.update(t.as_bytes());
        }
        let specs: HashSet<String> = dicts.specs.iter().map(|s| s.spec.to_lowercase()).collect();
        let mut sorted_specs: Vec<&String> = specs.iter().collect();
        sorted_specs.sort();
        for s in sorted_specs {
            fp.update(s.as_bytes());
        }
        let entity_bounds = patterns
            .iter()
            .map(|p| (p.chars().next().is_some_and(is_word_char), p.chars().next_back().is_some_and(is_word_char)))
            .collect();
        let entities = if patterns.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostLongest).build(&patterns).ok()
        };
        Self {
            jieba,
            entities,
            entity_tokens: tokens,
            entity_bounds,
            specs,
            stop: STOPWORDS.iter().copied().collect(),
            fingerprint: hex::encode(&fp.finalize()[..8]),
        }
    }

    /// Changes whenever the analyzer would tokenize differently (dictionaries or code changed).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The codes found in a text (normalized specs and hyphenated codes), in order.
    pub fn codes(&self, text: &str) -> Vec<String> {
        let norm = normalize(text);
        self.scan_codes(&norm).into_iter().map(|(_, _, c)| c).collect()
    }

    fn scan_codes(&self, t: &str) -> Vec<(usize, usize, String)> {
        let re = code_re();
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < t.len() {
            let Some(caps) = re.captures_at(t, pos) else { break };
            let Some(m) = caps.get(0) else { break };
            let before = t[..m.start()].chars().next_back();
            let after = t[m.end()..].chars().next();
            let glued_before = before.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-'));
            let glued_after = after.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-'))
                || (after == Some('.') && t[m.end() + 1..].chars().next().is_some_and(|c| c.is_ascii_digit()));
            let bounded = !(glued_before || glued_after);
            let code = if !bounded {
                None
            } else if caps.name("contract").is_some() {
                let s = m.as_str();
                s.chars().any(|c| c.is_ascii_digit()).then(|| s.to_string())
            } else {
                let raw = m.as_str();
                lodestar_dict::spec::normalize_spec(raw).map(|s| s.to_lowercase()).filter(|s| {
                    // `25-30 天` is a range, `17.5-25` a size: a dash size needs a decimal or the catalogue.
                    caps.name("metric").is_some()
                        || s.contains('r')
                        || s.split('-').next().is_some_and(|l| l.contains('.'))
                        || self.specs.contains(s)
                })
            };
            match code {
                Some(c) => {
                    out.push((m.start(), m.end(), c));
                    pos = m.end();
                }
                None => {
                    pos = m.start() + t[m.start()..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        out
    }

    /// Tokens of a text, in order (codes, entity tokens, then words).
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let norm = normalize(text);
        let codes = self.scan_codes(&norm);
        let mut out: Vec<String> = Vec::new();
        let mut masked = String::with_capacity(norm.len());
        let mut last = 0;
        for (s, e, c) in codes {
            masked.push_str(&norm[last..s]);
            masked.push(' ');
            last = e;
            out.push(c);
        }
        masked.push_str(&norm[last..]);
        if let Some(ac) = &self.entities {
            for m in ac.find_iter(&masked) {
                let (need_l, need_r) = self.entity_bounds[m.pattern().as_usize()];
                let before = masked[..m.start()].chars().next_back();
                let after = masked[m.end()..].chars().next();
                if (need_l && before.is_some_and(is_word_char)) || (need_r && after.is_some_and(is_word_char)) {
                    continue;
                }
                out.extend(self.entity_tokens[m.pattern().as_usize()].iter().cloned());
            }
        }
        self.words(&masked, &mut out);
        out
    }

    fn words(&self, t: &str, out: &mut Vec<String>) {
        let chars: Vec<(usize, char)> = t.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (start, c) = chars[i];
            if is_han(c) {
                let mut j = i;
                while j < chars.len() && is_han(chars[j].1) {
                    j += 1;
                }
                let end = chars.get(j).map_or(t.len(), |x| x.0);
                for w in self.jieba.cut_for_search(&t[start..end], true) {
                    self.push(w.word, out);
                }
                i = j;
            } else if is_word_char(c) {
                let mut j = i;
                while j < chars.len() {
                    let cj = chars[j].1;
                    let dot_in_number = cj == '.'
                        && j > i
                        && chars[j - 1].1.is_ascii_digit()
                        && chars.get(j + 1).is_some_and(|x| x.1.is_ascii_digit());
                    if is_word_char(cj) || dot_in_number {
                        j += 1;
                    } else {
                        break;
                    }
                }
                let end = chars.get(j).map_or(t.len(), |x| x.0);
                self.push(&t[start..end], out);
                i = j;
            } else {
                i += 1;
            }
        }
    }

    fn push(&self, w: &str, out: &mut Vec<String>) {
        let w = w.trim();
        if w.is_empty() || self.stop.contains(w) || !w.chars().any(char::is_alphanumeric) {
            return;
        }
        out.push(w.to_string());
    }
}

/// The analyzer as a tantivy tokenizer (registered as `lodestar`).
#[derive(Clone)]
pub struct TantivyAnalyzer {
    inner: Arc<Analyzer>,
    tokens: Vec<tantivy::tokenizer::Token>,
}

impl TantivyAnalyzer {
    /// Wraps a shared [`Analyzer`] for registration with tantivy.
    pub fn new(inner: Arc<Analyzer>) -> Self {
        Self { inner, tokens: Vec::new() }
    }
}

/// Token stream over a precomputed token list.
pub struct AnalyzerStream<'a> {
    tokens: &'a mut Vec<tantivy::tokenizer::Token>,
    next: usize,
}

impl tantivy::tokenizer::Tokenizer for TantivyAnalyzer {
    type TokenStream<'a> = AnalyzerStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> AnalyzerStream<'a> {
        self.tokens.clear();
        for (position, t) in self.inner.tokens(text).into_iter().enumerate() {
            // Offsets are not used (no highlighting); tantivy only needs them ordered.
            self.tokens.push(tantivy::tokenizer::Token {
                offset_from: 0,
                offset_to: 0,
                position,
                text: t,
                position_length: 1,
            });
        }
        AnalyzerStream { tokens: &mut self.tokens, next: 0 }
    }
}

impl tantivy::tokenizer::TokenStream for AnalyzerStream<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &tantivy::tokenizer::Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> Analyzer {
        Analyzer::new(&Dictionaries::builtin().expect("builtin dictionaries"))
    }

    #[test]
    fn specs_are_whole_tokens_both_spellings() {
        let a = analyzer();
        let t = a.tokens("315/80R22.5 BD177 驱动轮");
        assert!(t.contains(&"315/80r22.5".to_string()), "{t:?}");
        assert!(!t.iter().any(|x| x == "315" || x == "80" || x == "22.5"), "{t:?}");
        // A user's spelling with a space and lower case normalizes to the same token.
        assert!(a.tokens("315/80 r22.5 多少钱").contains(&"315/80r22.5".to_string()));
        assert_eq!(a.codes("12.00r24 和 17.5-25、11R22.5"), vec!["12.00r24", "17.5-25", "11r22.5"]);
        // Ranges and dates are not sizes.
        assert!(a.codes("预付款到账后 25-30 天，2026-09-07").is_empty());
    }

    #[test]
    fn contract_numbers_are_whole() {
        let a = analyzer();
        let t = a.tokens("合同BC-RU-2026-0815的尾款");
        assert!(t.contains(&"bc-ru-2026-0815".to_string()), "{t:?}");
        assert!(!t.iter().any(|x| x == "2026" || x == "0815"), "{t:?}");
    }

    #[test]
    fn customer_names_whole_and_aliases_meet() {
        let a = analyzer();
        let zh = a.tokens("西伯利亚物流的付款条件");
        assert!(zh.contains(&"西伯利亚物流".to_string()), "{zh:?}");
        assert!(zh.contains(&"cust:c001".to_string()), "{zh:?}");
        let en = a.tokens("payment terms of Sibir Logistics");
        assert!(en.contains(&"cust:c001".to_string()), "{en:?}");
        let ru = a.tokens("ООО «Сибирь Логистик»");
        assert!(ru.contains(&"cust:c001".to_string()), "{ru:?}");
        assert!(ru.contains(&"сибирь".to_string()), "{ru:?}");
    }

    #[test]
    fn stopwords_dropped() {
        let a = analyzer();
        let t = a.tokens("哪些规格是全钢的？");
        assert!(!t.contains(&"的".to_string()) && !t.contains(&"哪些".to_string()), "{t:?}");
        assert!(t.contains(&"全钢".to_string()), "{t:?}");
    }
}
