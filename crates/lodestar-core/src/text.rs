//! Text normalization shared by import, dictionary lookup and search.

/// Full-width ASCII forms (Ａ１，．) → half-width, ideographic space → space, and a few
/// full-width punctuation marks used in numbers (，。：；（）) → ASCII.
pub fn to_halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '。' => '.',
            '、' => ',',
            '\u{00A0}' | '\u{2007}' | '\u{202F}' => ' ',
            _ => c,
        })
        .collect()
}

/// The lookup key of a name: half-width, trimmed, lower-case, inner whitespace collapsed to one space.
/// `"  Ｓｉｂｉｒ   Logistics "` → `"sibir logistics"`.
pub fn norm_key(s: &str) -> String {
    let h = to_halfwidth(s);
    let mut out = String::with_capacity(h.len());
    for w in h.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&w.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halfwidth_digits_and_punctuation() {
        assert_eq!(to_halfwidth("１２，３４５．６７"), "12,345.67");
        assert_eq!(to_halfwidth("ＴＢＲ\u{3000}全钢"), "TBR 全钢");
        assert_eq!(to_halfwidth("（合计）"), "(合计)");
    }

    #[test]
    fn keys_collapse_case_and_space() {
        assert_eq!(norm_key("  Ｓｉｂｉｒ   Logistics "), "sibir logistics");
        assert_eq!(norm_key("Россия"), "россия");
    }
}
