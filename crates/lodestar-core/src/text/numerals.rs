//! Chinese numerals (中文数字): `三` → 3, `十二` → 12, `两` → 2, `廿五` → 25, `三千零五` → 3005; and
//! the English number words `one` … `twelve` (`last three months`, `within two weeks`).

fn digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// A number 0–9999 written in Arabic digits (`12`) or Chinese numerals: `十` → 10, `十五` → 15,
/// `二十` → 20, `廿五` → 25, `两百` → 200, `一千零二十` → 1020. A run of digits without units
/// (`一二三`) is not a number.
pub fn cn_number(s: &str) -> Option<u32> {
    if let Ok(n) = s.parse::<u32>() {
        return Some(n);
    }
    let mut total = 0u32;
    let mut pending: Option<u32> = None;
    // the last unit read (10 000 before any): units must come in decreasing order
    let mut last_unit = 10_000u32;
    let mut any = false;
    for c in s.chars() {
        any = true;
        if let Some(d) = digit(c) {
            match pending {
                // `零` holds a place: `一千零五`
                Some(0) if total > 0 => pending = Some(d),
                Some(_) => return None,
                None => pending = Some(d),
            }
            continue;
        }
        let (unit, value) = match c {
            '十' => (10, None),
            '百' => (100, None),
            '千' => (1000, None),
            '廿' => (10, Some(20)),
            _ => return None,
        };
        if unit >= last_unit {
            return None;
        }
        let add = match (value, pending) {
            (Some(v), None) => v,
            (Some(_), Some(_)) => return None,
            (None, Some(0)) => return None,
            (None, Some(d)) => d * unit,
            // a leading `十` is one ten (`十五`)
            (None, None) if unit == 10 && total == 0 => 10,
            (None, None) => return None,
        };
        total += add;
        pending = None;
        last_unit = unit;
    }
    if !any {
        return None;
    }
    Some(total + pending.unwrap_or(0))
}

/// An English number word `one` … `twelve` (any case), else `None`.
pub fn en_number(word: &str) -> Option<u32> {
    const WORDS: [&str; 12] =
        ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    let w = word.to_ascii_lowercase();
    WORDS.iter().position(|x| *x == w).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::{cn_number, en_number};

    #[test]
    fn english_number_words() {
        assert_eq!(en_number("one"), Some(1));
        assert_eq!(en_number("Three"), Some(3));
        assert_eq!(en_number("twelve"), Some(12));
        assert_eq!(en_number("thirteen"), None);
        assert_eq!(en_number("3"), None);
    }

    #[test]
    fn chinese_numbers_0_to_9999() {
        for (s, n) in [
            ("零", 0),
            ("〇", 0),
            ("三", 3),
            ("两", 2),
            ("十", 10),
            ("十二", 12),
            ("二十", 20),
            ("三十五", 35),
            ("廿", 20),
            ("廿五", 25),
            ("一百", 100),
            ("两百零五", 205),
            ("三千零五", 3005),
            ("九千九百九十九", 9999),
            ("一千零二十", 1020),
            ("12", 12),
        ] {
            assert_eq!(cn_number(s), Some(n), "{s}");
        }
        for s in ["", "一二三", "十十", "二廿", "零五", "百", "万", "三个", "一零"] {
            assert_eq!(cn_number(s), None, "{s}");
        }
    }
}
