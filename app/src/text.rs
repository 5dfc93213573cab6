//! What a name a person types may hold, and how text that came from elsewhere (the entry names
//! inside an uploaded archive) is shown.
//!
//! A name is refused if it holds a control character (tab, line break, escape) or an invisible
//! formatting character — Unicode's "format" category: the bidirectional overrides and isolates
//! (`U+202E` makes `exe.txt` read `txt.exe`), zero-width spaces and joiners, the byte-order mark —
//! or a line or paragraph separator. What people see is then what is stored.

use std::borrow::Cow;
use std::fmt::Write;

use unicode_general_category::{GeneralCategory, get_general_category};

/// Whether `c` may stand in a name a person types.
pub fn allowed_in_name(c: char) -> bool {
    !is_hidden(c)
}

/// Control and invisible formatting characters, and line and paragraph separators. Not the
/// zero-width non-joiner and joiner (U+200C, U+200D): Persian and Indic names and emoji
/// sequences need them, and they reorder nothing.
fn is_hidden(c: char) -> bool {
    !matches!(c, '\u{200c}' | '\u{200d}')
        && matches!(
            get_general_category(c),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// `text` with every character [`allowed_in_name`] refuses written as a Rust-style escape
/// (`\u{202e}`), so that an archive's entry names show what they hold in job errors, reports and
/// mails instead of reordering or hiding the text around them.
pub fn escape_hidden(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_may_not_hide_or_reorder_text() {
        for hidden in [
            '\u{202e}', '\u{2066}', '\u{200b}', '\u{feff}', '\u{2028}', '\t', '\n', '\u{1b}',
        ] {
            assert!(!allowed_in_name(hidden), "{hidden:?}");
        }
        // The joiners a name in Persian (می‌خواهم) or an emoji sequence needs.
        for shown in ['a', 'é', '中', ' ', '-', '😀', '\u{200c}', '\u{200d}'] {
            assert!(allowed_in_name(shown), "{shown:?}");
        }
    }

    #[test]
    fn hidden_characters_are_shown_escaped() {
        assert_eq!(escape_hidden("src/Main.java"), "src/Main.java");
        assert_eq!(
            escape_hidden("evil\u{202e}txt.exe\r\n\u{1b}[31m"),
            "evil\\u{202e}txt.exe\\u{d}\\u{a}\\u{1b}[31m"
        );
    }
}
