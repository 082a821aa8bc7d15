//! Rules as data: the routing and minutes rules read their words from `dictionaries/` — a test
//! that fails when a cue is spelled in the rules' code instead.
//!
//! The sources of routing (`lodestar-rag/src/route*`) and extraction (`lodestar-ledger/src/extract*`,
//! `deadline*`) are scanned for ordinary string literals holding CJK characters. Allowed are: raw
//! strings (regular expressions: the grammar of numerals, dates and labels), the patterns of a
//! `match` arm (what a regex capture means), comments, the test modules, and the short list of
//! grammar tokens below. Anything else is a cue in code: move it to a `kind,word` row of
//! `route_cues.csv`, `period_words.csv` or `minutes_cues.csv`.

use lodestar_dict::Vocabulary;
use std::path::{Path, PathBuf};

/// Grammar tokens the rules may spell in code (each is explained where it is used).
const ALLOW: &[&str] = &[
    // date units: which pattern matched (`月` / `年` captures)
    "月",
    "年",
    // the canonical half-year token the English date rewriting produces for the period patterns
    "上半年",
    "上半年 ",
    // the one bare verb of the owner-label pattern (`负责：` labels a field, `张三负责：` does not)
    "负责",
    // the display name of the catch-all action-item type when tags.csv has none
    "其他管理事项",
    // character classes of the date grammar: numerals, and the numerals and particles that bind a
    // date word to what precedes it (`第三季度`, `每个季度`, `去年底`)
    "一二三四五六七八九十",
    "一二三四1234第每个",
    "一二三四五六七八九十两几多今去明前每当全半上下本该同",
    "一二三四五六七八九十两几后",
];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The rule sources: `route*.rs` / `route/` of lodestar-rag, `extract*` / `deadline*` of lodestar-ledger.
fn rule_sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (krate, stems) in [("lodestar-rag", &["route"][..]), ("lodestar-ledger", &["extract", "deadline"][..])] {
        let src = crates_dir().join(krate).join("src");
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                let rel = p.strip_prefix(&src).unwrap().to_string_lossy().to_string();
                let ours = stems.iter().any(|s| rel.starts_with(s));
                if p.is_dir() {
                    if ours {
                        stack.push(p);
                    }
                } else if ours && rel.ends_with(".rs") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// The ordinary (non-raw) string literals of `src` outside comments and the test module, with
/// their line, and whether they are a pattern of a `match` arm.
fn literals(src: &str) -> Vec<(usize, String, bool)> {
    let code = match src.find("\n#[cfg(test)]") {
        Some(i) => &src[..i],
        None => src,
    };
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    let line_text = |at: usize| -> String {
        let start = c[..at].iter().rposition(|&x| x == '\n').map_or(0, |p| p + 1);
        let end = c[at..].iter().position(|&x| x == '\n').map_or(c.len(), |p| at + p);
        c[start..end].iter().collect()
    };
    while i < c.len() {
        match c[i] {
            '\n' => line += 1,
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                while i + 1 < c.len() && !(c[i] == '*' && c[i + 1] == '/') {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
                i += 2;
                continue;
            }
            'r' if (c.get(i + 1) == Some(&'"') || c.get(i + 1) == Some(&'#'))
                && (i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while c.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if c.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    if j >= c.len() {
                        break;
                    }
                    if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    line += usize::from(c[j] == '\n');
                    j += 1;
                }
                i = j;
                continue;
            }
            '\'' => {
                // a char literal ('x', '\n', '\u{3000}') or a lifetime ('a)
                if c.get(i + 1) == Some(&'\\') {
                    let mut j = i + 2;
                    while j < c.len() && c[j] != '\'' {
                        j += 1;
                    }
                    i = j + 1;
                    continue;
                }
                if c.get(i + 2) == Some(&'\'') {
                    i += 3;
                    continue;
                }
            }
            '"' => {
                let start_line = line;
                let at = i;
                let mut s = String::new();
                let mut j = i + 1;
                while j < c.len() && c[j] != '"' {
                    if c[j] == '\\' {
                        j += 1;
                    }
                    if let Some(&x) = c.get(j) {
                        line += usize::from(x == '\n');
                        s.push(x);
                    }
                    j += 1;
                }
                let text = line_text(at);
                let arm = text.find("=>").is_some_and(|p| {
                    let col = at - c[..at].iter().rposition(|&x| x == '\n').map_or(0, |p| p + 1);
                    text.chars().take(col).collect::<String>().len() < p
                });
                out.push((start_line, s, arm));
                i = j + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[test]
fn no_routing_or_extraction_cue_is_defined_in_code() {
    let files = rule_sources();
    assert!(files.len() >= 3, "rule sources not found: {files:?}");
    let mut found = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        for (line, lit, arm) in literals(&src) {
            // a format template (`{}年{}月`) writes text, it matches none
            let template = lit.contains('{');
            if lit.chars().any(lodestar_core::text::is_cjk) && !arm && !template && !ALLOW.contains(&lit.as_str()) {
                found.push(format!("{}:{line}: \"{lit}\"", f.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "cue words in code — move them to a kind,word row of dictionaries/route_cues.csv, period_words.csv \
         or minutes_cues.csv (docs/vocabulary.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_cues_but_not_grammar() {
    let src = "fn f(t: &str) -> bool {\n    // \"注释\"\n    let re = r\"(本月|下月)底\";\n    match x { \"底\" | \"末\" => 1, _ => 0 };\n    t.contains(\"逾期\")\n}\n#[cfg(test)]\nmod tests { const X: &str = \"测试\"; }\n";
    let lits = literals(src);
    let cues: Vec<&str> = lits.iter().filter(|l| !l.2).map(|l| l.1.as_str()).collect();
    assert_eq!(cues, vec!["逾期"]);
    assert!(lits.iter().any(|l| l.1 == "底" && l.2));
}

/// Every `get("kind")` the rules ask for is a kind their data file defines (a typo would read an
/// empty list and silently change behaviour).
#[test]
fn every_kind_the_rules_read_is_defined_in_the_data_files() {
    let v = Vocabulary::builtin();
    let re = regex::Regex::new(r#"get\("([a-z_]+)"\)"#).unwrap();
    let mut missing = Vec::new();
    for f in rule_sources() {
        let src = std::fs::read_to_string(&f).unwrap();
        let kinds: Vec<&lodestar_dict::vocab::Cues> =
            if f.to_string_lossy().contains("lodestar-rag") { vec![&v.route, &v.periods] } else { vec![&v.minutes] };
        for c in re.captures_iter(&src) {
            let k = &c[1];
            if !kinds.iter().any(|cues| cues.kinds().iter().any(|x| x == k)) {
                missing.push(format!("{}: {k}", f.display()));
            }
        }
    }
    assert!(missing.is_empty(), "kinds read in code but not defined in dictionaries/: {missing:?}");
    for cues in [&v.route, &v.periods, &v.minutes] {
        for k in cues.kinds() {
            assert!(!cues.get(k).is_empty(), "kind {k} has no words");
        }
    }
}
