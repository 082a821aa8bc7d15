//! Answer text (Markdown) → HTML the page may insert: pulldown-cmark, then ammonia's sanitizer.

use pulldown_cmark::{html, Options, Parser};

/// Renders Markdown to sanitized HTML: tables and strikethrough on; scripts, event handlers,
/// styles and foreign URLs removed; links get `rel="noopener noreferrer"`.
pub fn markdown_to_html(md: &str) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    // a lone line break in the answer is a line break for the reader
    let md = md.replace("\r\n", "\n");
    let parser = Parser::new_ext(&md, opts).map(|ev| match ev {
        pulldown_cmark::Event::SoftBreak => pulldown_cmark::Event::HardBreak,
        e => e,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    ammonia::Builder::default()
        .url_schemes(["https", "http", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer"))
        .clean(&out)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_render_and_scripts_do_not() {
        let h = markdown_to_html(
            "达成率 **96.00%**\n\n| 国家 | 实际 |\n|---|---:|\n| 俄罗斯 | 48,000.00 |\n\n口径：达成率 = 实际 / 目标",
        );
        assert!(h.contains("<table>") && h.contains("<td>俄罗斯</td>"), "{h}");
        assert!(h.contains("<strong>96.00%</strong>"), "{h}");
        let bad = markdown_to_html("<script>alert(1)</script><img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))\n\n<b style=\"color:red\" onclick=\"x()\">b</b>");
        assert!(!bad.contains("<script") && !bad.contains("onerror") && !bad.contains("href=\"javascript"), "{bad}");
        assert!(!bad.contains("onclick") && !bad.contains("style="), "{bad}");
        assert!(markdown_to_html("行一\n行二").contains("<br"), "line breaks kept");
    }
}
