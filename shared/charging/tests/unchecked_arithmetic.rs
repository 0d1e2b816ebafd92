//! A guard against regressions of issue #13: the modules that turn a
//! charger's numbers and times into stored values use checked or saturating
//! operations only. Each denies clippy's `arithmetic_side_effects` lint, and
//! because `cargo test` does not run clippy, this test also looks for bare
//! binary operators in their non-test code (rustfmt always spaces them, so a
//! textual search finds them).

use std::path::Path;

/// The guarded modules, relative to the workspace's `shared/`.
const GUARDED: &[&str] = &[
    "domain/src/meter.rs",
    "domain/src/session.rs",
    "charging/src/charger/wire.rs",
    "charging/src/charger/v16/types.rs",
    "charging/src/charger/v201/types.rs",
    "kernel/src/views.rs",
    "api/src/views.rs",
];

const LINT: &str = "#![deny(clippy::arithmetic_side_effects)]";

/// The code of a file without its tests, comments and string literals.
fn code_of(src: &str) -> Vec<(usize, String)> {
    let body = src.split("#[cfg(test)]").next().unwrap_or_default();
    body.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut out = String::new();
            let mut in_str = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                if in_str {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => in_str = false,
                        _ => {}
                    }
                    continue;
                }
                match c {
                    '"' => in_str = true,
                    '/' if chars.peek() == Some(&'/') => break,
                    _ => out.push(c),
                }
            }
            (i + 1, out)
        })
        .collect()
}

/// Bare arithmetic in a line of code, except `+` in trait bounds.
fn bare_operator(line: &str) -> Option<&'static str> {
    let bounds = ["+ Send", "+ Sync", "+ '", "+ ?Sized", "+ Unpin"];
    if bounds.iter().any(|b| line.contains(b)) {
        return None;
    }
    [
        " + ", " - ", " * ", " / ", " % ", "+=", "-=", "*=", "/=", "%=",
    ]
    .into_iter()
    .find(|op| line.contains(op))
}

#[test]
fn modules_that_handle_charger_numbers_use_no_unchecked_arithmetic() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for rel in GUARDED {
        let src = std::fs::read_to_string(shared.join(rel))
            .unwrap_or_else(|e| panic!("reading shared/{rel}: {e}"));
        assert!(
            src.contains(LINT),
            "shared/{rel} must keep `{LINT}`: it handles numbers from chargers"
        );
        for (n, line) in code_of(&src) {
            if let Some(op) = bare_operator(&line) {
                found.push(format!("shared/{rel}:{n}: `{}` ({op:?})", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unchecked arithmetic on values from chargers (use checked_*/saturating_*):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_guard_sees_an_operator_and_ignores_comments_strings_and_bounds() {
    let src = "let a = b + c;\n// x + y\nlet s = \"1 + 2\";\nfn f<T: Send + Sync>() {}\nlet d = e.checked_sub(f);\n#[cfg(test)]\nlet g = h * i;\n";
    let hits: Vec<_> = code_of(src)
        .into_iter()
        .filter_map(|(n, l)| bare_operator(&l).map(|_| n))
        .collect();
    assert_eq!(hits, [1]);
}
