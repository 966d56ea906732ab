//! Limits on text people type, checked before anything is stored.
//!
//! Discord also enforces `max_length` on the options we register, but a client can send
//! anything, so the bot checks again.

/// Longest summary or title (SPEC: ≤ 100 characters).
pub const MAX_SUMMARY_CHARS: usize = 100;
/// Longest details text (SPEC: ≤ 1500).
pub const MAX_DETAILS_CHARS: usize = 1500;
/// Longest comment, resolution note or hold note.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Longest reason (reopen, cancel).
pub const MAX_REASON_CHARS: usize = 500;
/// Longest catalog item name.
pub const MAX_ITEM_NAME_CHARS: usize = 80;
/// Longest catalog item description.
pub const MAX_ITEM_DESCRIPTION_CHARS: usize = 200;

/// A text that broke a limit; the message is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty or only spaces where text is required.
    #[error("The {field} is empty: write a few words.")]
    Empty {
        /// Which input.
        field: &'static str,
    },
    /// Over the limit.
    #[error("The {field} is {len} characters long; the limit is {max}. Shorten it and try again.")]
    TooLong {
        /// Which input.
        field: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Trims `text` and checks it is non-empty and at most `max` characters.
pub fn required(field: &'static str, text: &str, max: usize) -> Result<String, TextError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(TextError::Empty { field });
    }
    let len = t.chars().count();
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    Ok(t.to_owned())
}

/// Like [`required`], but empty or missing text is `None`.
pub fn optional(field: &'static str, text: Option<&str>, max: usize) -> Result<Option<String>, TextError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => required(field, t, max).map(Some),
    }
}

/// Cuts `text` to at most `max` characters, ending with `…` when it cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limits_count_characters_not_bytes() {
        let accents = "é".repeat(MAX_SUMMARY_CHARS);
        assert!(required("summary", &accents, MAX_SUMMARY_CHARS).is_ok());
        let err = required("summary", &"x".repeat(101), MAX_SUMMARY_CHARS).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The summary is 101 characters long; the limit is 100. Shorten it and try again."
        );
        assert!(required("summary", "   ", 10).is_err());
        assert_eq!(optional("details", Some("  "), 10).unwrap(), None);
    }

    proptest! {
        #[test]
        fn truncate_respects_the_limit(s in ".{0,300}", max in 1usize..200) {
            let t = truncate(&s, max);
            prop_assert!(t.chars().count() <= max);
            if s.chars().count() <= max { prop_assert_eq!(t, s); }
        }
    }
}
