//! The text layer shared by import, dictionary lookup, search, routing and minutes: normalization
//! (`to_halfwidth`, `norm_key`), CJK checks (`is_cjk`, `is_han`), Chinese numerals
//! ([`numerals`]), the cue matcher the vocabulary files load into ([`cues::CueSet`]), YAML-style
//! front matter ([`front_matter`]) and Word `.docx` text ([`docx`]). Each job is written once here.

pub mod cues;
pub mod docx;
pub mod front_matter;
pub mod numerals;

pub use cues::CueSet;
pub use numerals::{cn_number, en_number};

/// Han ideographs: CJK Unified Ideographs, Extension A and B, compatibility ideographs (the runs
/// jieba segments, the characters of a Chinese name).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF)
}

/// CJK script: Han ideographs ([`is_han`]), Japanese kana and Korean Hangul syllables — characters
/// written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    is_han(c) || matches!(c as u32, 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

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
    fn cjk_and_han() {
        assert!(is_han('全') && is_cjk('全') && is_cjk('カ') && is_cjk('한'));
        assert!(!is_han('カ') && !is_han('한') && !is_cjk('a') && !is_cjk('，'));
    }

    #[test]
    fn keys_collapse_case_and_space() {
        assert_eq!(norm_key("  Ｓｉｂｉｒ   Logistics "), "sibir logistics");
        assert_eq!(norm_key("Россия"), "россия");
    }
}
