//! Tyre spec normalization (规格归一): `315/80 r22.5` → `315/80R22.5`, `12.00r24` → `12.00R24`,
//! `１７．５－２５` → `17.5-25`, `LT235/85 R16` → `LT235/85R16`, `195/75r16c` → `195/75R16C`.
//! Load index, speed symbol and pattern after the size are dropped.

use regex::Regex;

fn metric_re() -> &'static Regex {
    lodestar_core::regex!(
        r"^(LT|P)?\s*(\d{2,3}(?:\.\d{1,2})?)(?:\s*/\s*|\s+)(\d{2}(?:\.\d{1,2})?)\s*(ZR|-\s*R|R|-|D|B)?\s*(\d{2}(?:\.\d)?)\s*(C|LT)?(?:[^0-9.A-Z]|$)"
    )
}

fn numeric_re() -> &'static Regex {
    lodestar_core::regex!(r"^(\d{1,2}(?:\.\d{1,2})?)\s*(R|-|X)\s*(\d{2}(?:\.\d)?)(?:[^0-9.]|$)")
}

fn shorthand_re() -> &'static Regex {
    lodestar_core::regex!(r"^(\d{2})00\s*(R)\s*(\d{2}(?:\.\d)?)(?:[^0-9.]|$)")
}

/// `,` between two digits becomes `.`.
fn decimal_comma(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let digit_at = |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|d| d.is_ascii_digit());
            if c == ',' && digit_at(i.checked_sub(1)) && digit_at(Some(i + 1)) {
                '.'
            } else {
                c
            }
        })
        .collect()
}

/// Canonical form of a tyre size, or `None` when `raw` does not look like one.
pub fn normalize_spec(raw: &str) -> Option<String> {
    let s: String = lodestar_core::text::to_halfwidth(raw)
        .to_uppercase()
        .chars()
        .map(|c| match c {
            '－' | '—' | '–' | '‐' => '-',
            '／' => '/',
            '×' | '*' => 'X',
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_string();
    // a European decimal comma: `315/80R22,5` is `315/80R22.5`
    let s = decimal_comma(&s);
    if let Some(c) = metric_re().captures(&s) {
        let prefix = c.get(1).map_or("", |m| m.as_str());
        let sep = match c.get(4).map_or("R", |m| m.as_str()) {
            "-" => "-",
            "ZR" => "ZR",
            _ => "R",
        };
        let suffix = c.get(6).map_or("", |m| m.as_str());
        return Some(format!("{prefix}{}/{}{sep}{}{suffix}", &c[2], &c[3], &c[5]));
    }
    // `1200R24` is the shorthand of `12.00R24` (four digits ending in 00)
    if let Some(c) = shorthand_re().captures(&s) {
        let sep = if &c[2] == "R" { "R" } else { "-" };
        return Some(format!("{}.00{sep}{}", &c[1], &c[3]));
    }
    if let Some(c) = numeric_re().captures(&s) {
        let sep = match &c[2] {
            "R" => "R",
            _ => "-",
        };
        return Some(format!("{}{sep}{}", &c[1], &c[3]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::normalize_spec as n;

    #[test]
    fn metric_sizes() {
        assert_eq!(n("315/80 r22.5").as_deref(), Some("315/80R22.5"));
        assert_eq!(n("315/80R22.5 156/150L").as_deref(), Some("315/80R22.5"));
        assert_eq!(n("３１５／８０Ｒ２２．５").as_deref(), Some("315/80R22.5"));
        assert_eq!(n("59/80R63").as_deref(), Some("59/80R63"));
        assert_eq!(n("lt235/85 r16").as_deref(), Some("LT235/85R16"));
        assert_eq!(n("195/75r16c").as_deref(), Some("195/75R16C"));
        assert_eq!(n("205/55 R 16 91V").as_deref(), Some("205/55R16"));
    }

    #[test]
    fn numeric_sizes() {
        assert_eq!(n("12.00r24").as_deref(), Some("12.00R24"));
        assert_eq!(n("12r22.5").as_deref(), Some("12R22.5"));
        assert_eq!(n("11 R 22.5").as_deref(), Some("11R22.5"));
        assert_eq!(n("17.5-25").as_deref(), Some("17.5-25"));
        assert_eq!(n("１７．５－２５").as_deref(), Some("17.5-25"));
        assert_eq!(n("40.00R57").as_deref(), Some("40.00R57"));
        assert_eq!(n("14.00-24 28PR").as_deref(), Some("14.00-24"));
    }

    #[test]
    fn not_sizes() {
        assert_eq!(n("全钢"), None);
        assert_eq!(n(""), None);
        assert_eq!(n("2026-09"), None);
    }
}
