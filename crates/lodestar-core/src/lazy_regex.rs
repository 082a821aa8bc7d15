//! The one idiom for compiled regular expressions: [`regex!`](crate::regex) compiles a literal
//! pattern once, on first use, into a `static` `LazyLock` and returns `&'static Regex`.
//!
//! ```
//! fn year() -> &'static regex::Regex {
//!     lodestar_core::regex!(r"^\d{4}$")
//! }
//! assert!(year().is_match("2026"));
//! ```
//!
//! The patterns are literals written in the code, not input: every one is compiled by the tests
//! that exercise it, so the `panic!` on a pattern that does not compile cannot fire in a build
//! that passed its tests.

#[doc(hidden)]
pub use regex::Regex as __Regex;

/// A `&'static Regex` compiled once from a literal pattern (see [`crate::lazy_regex`]).
#[macro_export]
macro_rules! regex {
    ($pattern:expr $(,)?) => {{
        static RE: ::std::sync::LazyLock<$crate::lazy_regex::__Regex> = ::std::sync::LazyLock::new(|| {
            $crate::lazy_regex::__Regex::new($pattern)
                .unwrap_or_else(|e| panic!("regex {:?} does not compile: {e}", $pattern))
        });
        &*RE
    }};
}
