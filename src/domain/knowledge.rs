//! Knowledge rules that need no storage: article ids, the FTS5 query made from what a person
//! typed, and when an article matches well enough to be offered at intake.

use std::collections::BTreeSet;
use std::fmt;

/// Longest article title.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest symptoms text.
pub const MAX_SYMPTOMS_CHARS: usize = 1000;
/// Longest article body.
pub const MAX_BODY_CHARS: usize = 4000;
/// Longest tags text.
pub const MAX_TAGS_CHARS: usize = 200;
/// Days until an article is due for review.
pub const REVIEW_DAYS: i64 = 180;
/// Most articles offered at intake.
pub const MAX_OFFERED: usize = 3;
/// The share of what a person typed (its significant words) an article must contain to be
/// offered at intake.
pub const OFFER_COVERAGE: f64 = 0.5;
/// Most words of a text that go into a search.
const MAX_QUERY_WORDS: usize = 12;

/// `KB-7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KbRef(pub u32);

/// An article id that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an article id: write it like KB-7.")]
pub struct KbRefError(pub String);

impl KbRef {
    /// Reads `KB-7`, `kb-7` or `7`.
    pub fn parse(text: &str) -> Result<KbRef, KbRefError> {
        let t = text.trim();
        let digits = t
            .strip_prefix("KB-")
            .or_else(|| t.strip_prefix("kb-"))
            .or_else(|| t.strip_prefix("Kb-"))
            .unwrap_or(t);
        digits
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .map(KbRef)
            .ok_or_else(|| KbRefError(t.chars().take(24).collect()))
    }
}

impl fmt::Display for KbRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KB-{}", self.0)
    }
}

/// Words that say nothing about what is wrong.
const STOPWORDS: [&str; 24] = [
    "the", "and", "for", "not", "with", "from", "are", "was", "can", "cannot", "cant", "our", "all", "any", "has",
    "have", "how", "why", "what", "does", "doesn", "when", "this", "that",
];

/// The significant words of a text, lowercase: three letters or more, common words left out.
pub fn words(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && !STOPWORDS.contains(w))
        .filter(|w| seen.insert((*w).to_owned()))
        .map(str::to_owned)
        .collect()
}

/// The FTS5 query for a text: its significant words, each quoted (so nothing a person types is
/// read as FTS5 syntax), any of them; `None` when it has none.
pub fn fts_query(text: &str) -> Option<String> {
    let w = words(text);
    if w.is_empty() {
        return None;
    }
    let terms: Vec<String> = w
        .iter()
        .take(MAX_QUERY_WORDS)
        .map(|w| format!("\"{}\"", w.replace('"', "")))
        .collect();
    Some(terms.join(" OR "))
}

/// The stem a match compares: the first five letters (the Porter stemmer FTS5 uses makes
/// "printing" and "printer" both match "print"; five letters is close enough for the share).
fn stem(word: &str) -> String {
    word.chars().take(5).collect()
}

/// The share of `query`'s significant words that `article` contains.
pub fn coverage(query: &str, article: &str) -> f64 {
    let wanted = words(query);
    if wanted.is_empty() {
        return 0.0;
    }
    let have: BTreeSet<String> = words(article).iter().map(|w| stem(w)).collect();
    let found = wanted.iter().filter(|w| have.contains(&stem(w))).count();
    found as f64 / wanted.len() as f64
}

/// Whether an article matches what a person typed well enough to offer it before a ticket is
/// raised: at least [`OFFER_COVERAGE`] of their significant words, and at least two of them
/// (one, if they typed only one).
pub fn worth_offering(query: &str, article: &str) -> bool {
    let wanted = words(query).len();
    let c = coverage(query, article);
    let found = (c * wanted as f64).round() as usize;
    c >= OFFER_COVERAGE && found >= wanted.min(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_read_with_or_without_their_prefix() {
        assert_eq!(KbRef::parse("KB-7").unwrap(), KbRef(7));
        assert_eq!(KbRef::parse(" 7 ").unwrap(), KbRef(7));
        assert!(KbRef::parse("REQ-7").is_err());
        assert!(KbRef::parse("KB-0").is_err());
        assert_eq!(KbRef(3).to_string(), "KB-3");
    }

    #[test]
    fn a_query_quotes_every_word_so_nothing_is_fts_syntax() {
        assert_eq!(fts_query("VPN NOT connecting*").unwrap(), "\"vpn\" OR \"connecting\"");
        assert_eq!(fts_query("a b ?"), None);
    }

    #[test]
    fn an_article_is_offered_when_it_covers_half_of_what_was_typed() {
        let article = "Printer shows offline. Restart the print spooler and check the network cable.";
        assert!(worth_offering("printer offline", article));
        assert!(worth_offering("my printer says it is offline again", article));
        assert!(!worth_offering("laptop screen flickers", article));
        assert!(!worth_offering("printer", "Laptop battery drains"));
    }

    proptest! {
        #[test]
        fn coverage_is_a_share(q in "[a-z ]{0,40}", a in "[a-z ]{0,60}") {
            let c = coverage(&q, &a);
            prop_assert!((0.0..=1.0).contains(&c));
            if !words(&q).is_empty() {
                prop_assert_eq!(coverage(&q, &q), 1.0);
            }
        }
    }
}
