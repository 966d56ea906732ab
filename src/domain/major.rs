//! Major incident rules that need no storage: when two incident titles are about the same thing.

use std::collections::BTreeSet;

/// Words that say nothing about which outage it is.
const STOPWORDS: [&str; 16] = [
    "the", "and", "for", "not", "with", "from", "are", "was", "can", "cannot", "cant", "our", "all", "any", "has",
    "have",
];

/// The share of words two titles must have in common (of all the words either has).
pub const SAME_ISSUE_OVERLAP: f64 = 0.5;

fn words(title: &str) -> BTreeSet<String> {
    title
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| {
            let number = !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
            number || (w.chars().count() >= 3 && !STOPWORDS.contains(w))
        })
        .map(str::to_owned)
        .collect()
}

/// Whether two incident titles probably report the same issue: at least half of the words
/// either has (numbers, and words of three letters or more but for common ones) are in both,
/// case and punctuation aside. "Email is down!" and "email down" are; "VPN slow" and "VPN down" are not.
pub fn similar_titles(a: &str, b: &str) -> bool {
    let (a, b) = (words(a), words(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let shared = a.intersection(&b).count() as f64;
    let all = a.union(&b).count() as f64;
    shared / all >= SAME_ISSUE_OVERLAP
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_same_outage_in_other_words_matches_and_another_does_not() {
        assert!(similar_titles("Email is down!", "email down"));
        assert!(similar_titles(
            "Checkout page returns 500",
            "checkout returns 500 errors"
        ));
        assert!(!similar_titles("VPN slow", "VPN down"));
        assert!(!similar_titles("Outage 1", "Outage 2"), "numbers tell outages apart");
        assert!(!similar_titles("a b", "a b"), "no word long enough to go on");
    }

    proptest! {
        #[test]
        fn similarity_is_symmetric_and_a_title_matches_itself(a in "[a-z ]{0,40}", b in "[a-z ]{0,40}") {
            prop_assert_eq!(similar_titles(&a, &b), similar_titles(&b, &a));
            if !words(&a).is_empty() {
                prop_assert!(similar_titles(&a, &a));
            }
        }
    }
}
