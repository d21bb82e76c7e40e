//! What the docs say about the test command agrees with itself: README.md and docs/testing.md
//! each carry the wall time `scripts/test.sh --record-time` last wrote between
//! `<!-- test-time -->` markers, and a reader must not find two different figures.

use std::path::Path;

const OPEN: &str = "<!-- test-time -->";
const CLOSE: &str = "<!-- /test-time -->";

/// The recorded figure in a doc: the text between the markers (exactly one pair).
fn recorded(doc: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{doc}: {e}"));
    assert_eq!(
        text.matches(OPEN).count(),
        1,
        "{doc} must hold the test command's wall time once, between {OPEN} and {CLOSE} (scripts/test.sh --record-time writes it)"
    );
    let start = text.find(OPEN).unwrap() + OPEN.len();
    let len = text[start..]
        .find(CLOSE)
        .unwrap_or_else(|| panic!("{doc}: {OPEN} without {CLOSE}"));
    text[start..start + len].to_string()
}

/// `**N min M s** (YYYY-MM-DD, from a clean|warm checkout, N cores, ...)`: what test.sh writes.
fn check_shape(doc: &str, figure: &str) {
    let rest = figure
        .strip_prefix("**")
        .unwrap_or_else(|| panic!("{doc}: the test time {figure:?} does not start with the bold wall time"));
    let (time, rest) = rest
        .split_once("** (")
        .unwrap_or_else(|| panic!("{doc}: {figure:?} is not '**N min M s** (date, ...)'"));
    let words: Vec<&str> = time.split(' ').collect();
    assert!(
        matches!(words.as_slice(), [m, "min", s, "s"] if m.parse::<u32>().is_ok() && s.parse::<u32>().is_ok_and(|s| s < 60)),
        "{doc}: {time:?} is not 'N min M s'"
    );
    let date = &rest[..10.min(rest.len())];
    assert!(
        date.len() == 10
            && date
                .chars()
                .enumerate()
                .all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() }),
        "{doc}: {figure:?} has no date (YYYY-MM-DD) after the time"
    );
    assert!(
        rest.contains("from a clean checkout") || rest.contains("from a warm checkout"),
        "{doc}: {figure:?} does not say whether the checkout was clean"
    );
    assert!(rest.contains(" cores"), "{doc}: {figure:?} does not say how many cores");
}

#[test]
fn readme_and_testing_md_give_the_same_test_time() {
    let readme = recorded("README.md");
    let testing = recorded("docs/testing.md");
    check_shape("README.md", &readme);
    check_shape("docs/testing.md", &testing);
    assert_eq!(
        readme, testing,
        "README.md and docs/testing.md give different wall times for scripts/test.sh: run `scripts/test.sh --record-time` (it writes both)"
    );
}
