//! Python-compatible text primitives.
//!
//! The reference metrics are Python programs, and several Python string operations
//! differ from their closest Rust `std` counterparts in small ways that change scores.
//! Each function here states which Python operation it reproduces and why the obvious
//! `std` call would not do.
//!
//! The Unicode tables behind these functions (Rust `std` and the
//! `unicode-general-category` crate) may be newer than the Unicode version of the
//! Python that produced a reference value; characters assigned or re-categorised in
//! between can behave differently. Everything else matches exactly.

use unicode_general_category::{GeneralCategory, get_general_category};

/// Python's `str.isspace()` for one character, the separator set of `str.split()`.
///
/// Python counts a character as whitespace if its bidirectional class is WS, B or S or
/// its general category is Zs. That is Unicode's `White_Space` (Rust's
/// [`char::is_whitespace`]) plus the four information separators U+001C..U+001F,
/// which have bidi class B or S but are not `White_Space`.
#[inline]
pub fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.isalnum()` for one character.
///
/// Python's "alphanumeric" is exactly the general categories L* and N*. Rust's
/// [`char::is_alphanumeric`] uses the `Alphabetic` property instead, which also
/// includes combining marks with `Other_Alphabetic` (e.g. Devanagari vowel signs) and
/// some symbols (e.g. circled letters, category So), so it cannot be used.
#[inline]
pub fn is_python_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    use GeneralCategory as G;
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
    )
}

/// A word character of Python's `re` module for `str` patterns (`\w`, and the two
/// sides of `\b`): [`is_python_alnum`] or `'_'`.
#[inline]
pub fn is_python_word_char(c: char) -> bool {
    c == '_' || is_python_alnum(c)
}

/// A character of Python's `string.punctuation`.
///
/// That constant holds the 32 ASCII punctuation characters only, which is exactly
/// [`char::is_ascii_punctuation`]; Unicode punctuation (curly quotes, dashes, the
/// ellipsis) is not in it and so survives SQuAD normalisation.
#[inline]
pub fn is_python_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// Python's `str.lower()`.
///
/// Both Python and [`str::to_lowercase`] apply the full (multi-character) lowercase
/// mapping, e.g. `'İ'` becomes `"i\u{307}"`, and both lower a capital sigma to the
/// final form `'ς'` at the end of a word. Lowering character by character with
/// [`char::to_lowercase`] would miss the final sigma, so whole-string lowering is used.
#[inline]
pub fn python_lower(s: &str) -> String {
    s.to_lowercase()
}

/// Python's `str.split()` without arguments: the non-empty runs between
/// [`is_python_whitespace`] characters.
///
/// [`str::split_whitespace`] would keep U+001C..U+001F inside tokens.
pub fn python_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_python_whitespace).filter(|t| !t.is_empty())
}

/// `sum((Counter(a) & Counter(b)).values())`: the size of the multiset intersection of
/// two **sorted** slices, as a linear merge.
///
/// Python's `Counter` is a hash map; sorting gives the same counts without any
/// iteration order to worry about.
pub(crate) fn counter_intersection_len<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_includes_information_separators() {
        for c in ['\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', '\u{a0}', '\u{2028}', '\u{85}'] {
            assert!(is_python_whitespace(c), "{c:?}");
        }
        assert!(!is_python_whitespace('\u{200b}'));
        assert!(!is_python_whitespace('\u{180e}'));
    }

    #[test]
    fn word_chars_follow_general_category() {
        assert!(is_python_word_char('_'));
        assert!(is_python_word_char('\u{663}'));
        assert!(is_python_word_char('é'));
        // Circled letters are So and vowel signs are Mc: alphabetic in Rust, not in Python.
        assert!('\u{24b6}'.is_alphanumeric() && !is_python_word_char('\u{24b6}'));
        assert!('\u{93f}'.is_alphanumeric() && !is_python_word_char('\u{93f}'));
        assert!(!is_python_word_char('\u{301}'));
    }

    #[test]
    fn lower_uses_final_sigma_and_full_mapping() {
        assert_eq!(python_lower("ΣΑΣ"), "σας");
        assert_eq!(python_lower("İ"), "i\u{307}");
        assert_eq!(python_lower("\u{212a}"), "k");
    }

    #[test]
    fn counter_intersection_takes_min_counts() {
        assert_eq!(counter_intersection_len(&[1, 1, 1, 2, 3], &[1, 1, 3, 3, 4]), 3);
        assert_eq!(counter_intersection_len::<u8>(&[], &[1]), 0);
    }

    #[test]
    fn split_drops_empty_runs() {
        let v: Vec<&str> = python_split(" a\u{1c}b\u{a0} c ").collect();
        assert_eq!(v, ["a", "b", "c"]);
        assert_eq!(python_split("").count(), 0);
    }
}
