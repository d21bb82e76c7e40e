//! The model's constraints on request parameters, checked before anything is looked up, as
//! Lambda does: every parameter that breaks one (a pattern, a length, an enum, a range) is
//! one error of a single 400 `ValidationException`, "N validation error(s) detected: Value 'X'
//! at 'member' failed to satisfy constraint: ...; ...". Only then is the function looked up
//! (a name that passes but names nothing is a 404, never a 400).
//!
//! The patterns are the ones AWS writes in its messages (LocalStack's recorded
//! `test_function_name_and_qualifier_validation`, `test_permission_exceptions`,
//! `test_update_lambda_exceptions`, checked against AWS in November 2025 and January 2026),
//! `$LATEST.PUBLISHED`, `eusc-` and the iso partitions' regions included. The function-name
//! pattern is the same for every operation there, and no length is checked on it.

use crate::local::errors::ApiError;
use regex_lite::Regex;
use std::sync::OnceLock;

/// A pattern of the model, as AWS writes it in its messages, compiled once when first used.
pub(super) struct Pattern {
    pub text: &'static str,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    const fn new(text: &'static str) -> Pattern {
        Pattern {
            text,
            compiled: OnceLock::new(),
        }
    }

    /// Whether all of `value` matches (the model's patterns match whole values).
    pub fn matches(&self, value: &str) -> bool {
        self.compiled
            .get_or_init(|| Regex::new(&format!("^(?:{})$", self.text)).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(value))
    }
}

/// The function-name pattern of AWS's messages.
pub(super) static FUNCTION_NAME: Pattern = Pattern::new(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?",
);
/// The qualifier pattern (the model's `NumericLatestPublishedOrAliasQualifier`).
pub(super) static QUALIFIER: Pattern = Pattern::new(r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+");
/// AddPermission's `StatementId`.
pub(super) static STATEMENT_ID: Pattern = Pattern::new("([a-zA-Z0-9-_]+)");
/// RemovePermission's `StatementId` (the model's `NamespacedStatementId`).
pub(super) static NAMESPACED_STATEMENT_ID: Pattern = Pattern::new("([a-zA-Z0-9-_.]+)");
/// An alias name (the model's `Alias`, less its "not all digits" lookahead, which the caller
/// checks).
pub(super) static ALIAS: Pattern = Pattern::new("([a-zA-Z0-9-_]+)");
/// ListAliases's `FunctionVersion` (the model's `VersionWithLatestPublished`).
pub(super) static VERSION_WITH_LATEST_PUBLISHED: Pattern = Pattern::new(r"(\$LATEST(\.PUBLISHED)?|[0-9]+)");
/// `Role` (the model's `RoleArn`).
pub(super) static ROLE_ARN: Pattern = Pattern::new(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+");

/// The qualifier's longest length.
const QUALIFIER_MAX: usize = 128;

/// The parts of a function name that passed [`FUNCTION_NAME`]: region, account, name and
/// qualifier, each when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NameParts<'a> {
    pub region: Option<&'a str>,
    pub account: Option<&'a str>,
    pub name: &'a str,
    pub qualifier: Option<&'a str>,
}

/// Split a function name AWS's pattern accepts.
pub(super) fn name_parts(raw: &str) -> Option<NameParts<'_>> {
    static PARTS: OnceLock<Option<Regex>> = OnceLock::new();
    let re = PARTS.get_or_init(|| {
        Regex::new(
            r"^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:((?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d:))?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9\-_.]+)(?::(\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9\-_]+))?$",
        )
        .ok()
    });
    let caps = re.as_ref()?.captures(raw)?;
    let text = |i: usize| caps.get(i).map(|m| m.as_str());
    Some(NameParts {
        region: text(1).map(|r| r.trim_end_matches(':')),
        account: text(2),
        name: text(3)?,
        qualifier: text(4),
    })
}

/// The errors of one request's parameters.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<String>);

impl Violations {
    /// `value` broke `constraint` (as the message words it).
    pub fn failed(&mut self, member: &str, value: &str, constraint: &str) {
        self.add(member, value, constraint);
    }

    fn add(&mut self, member: &str, value: &str, constraint: &str) {
        self.0.push(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// `value` must match `pattern`.
    pub fn pattern(&mut self, member: &str, value: &str, pattern: &Pattern) {
        if !pattern.matches(value) {
            self.add(
                member,
                value,
                &format!("Member must satisfy regular expression pattern: {}", pattern.text),
            );
        }
    }

    /// A qualifier: at most 128 characters of [`QUALIFIER`].
    pub fn qualifier(&mut self, value: &str) {
        if value.len() > QUALIFIER_MAX {
            self.add(
                "qualifier",
                value,
                &format!("Member must have length less than or equal to {QUALIFIER_MAX}"),
            );
        } else if value.is_empty() {
            self.add("qualifier", value, "Member must have length greater than or equal to 1");
        } else {
            self.pattern("qualifier", value, &QUALIFIER);
        }
    }

    /// `value` must be at most `max` characters long.
    pub fn too_long(&mut self, member: &str, value: &str, max: usize) {
        self.add(
            member,
            value,
            &format!("Member must have length less than or equal to {max}"),
        );
    }

    /// `value`, when given, must be one of `values`; the value when it is.
    pub fn one_of<'v>(&mut self, member: &str, value: Option<&'v str>, values: &[&str]) -> Option<&'v str> {
        let v = value?;
        if values.contains(&v) {
            return Some(v);
        }
        self.add(
            member,
            v,
            &format!("Member must satisfy enum value set: [{}]", values.join(", ")),
        );
        None
    }

    /// `value`, when given, must be an integer within `min..=max`.
    pub fn range(&mut self, member: &str, value: Option<i64>, min: i64, max: i64) {
        match value {
            Some(v) if v < min => self.add(
                member,
                &v.to_string(),
                &format!("Member must have value greater than or equal to {min}"),
            ),
            Some(v) if v > max => self.add(
                member,
                &v.to_string(),
                &format!("Member must have value less than or equal to {max}"),
            ),
            _ => {}
        }
    }

    /// None: fine; else the one ValidationException that counts them all.
    pub fn check(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::new(
                "ValidationException",
                format!("1 validation error detected: {}", self.0[0]),
            )),
            n => Err(ApiError::new(
                "ValidationException",
                format!("{n} validation errors detected: {}", self.0.join("; ")),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_compile_and_anchor() {
        for p in [
            &FUNCTION_NAME,
            &QUALIFIER,
            &STATEMENT_ID,
            &NAMESPACED_STATEMENT_ID,
            &ROLE_ARN,
        ] {
            assert!(Regex::new(&format!("^(?:{})$", p.text)).is_ok(), "{}", p.text);
        }
        assert!(QUALIFIER.matches("$LATEST.PUBLISHED"));
        assert!(QUALIFIER.matches("$latest"), "lowercase passes the pattern: then a 404");
        assert!(!QUALIFIER.matches("invalid!"));
        assert!(!STATEMENT_ID.matches("example.com"));
        assert!(NAMESPACED_STATEMENT_ID.matches("example.com"));
        assert!(!ROLE_ARN.matches("r1"));
        assert!(ROLE_ARN.matches("arn:aws:iam::123456789012:role/x"));
    }

    #[test]
    fn names_split_as_aws_reads_them() {
        let cases: [(&str, Option<NameParts>); 9] = [
            (
                "target",
                Some(NameParts {
                    region: None,
                    account: None,
                    name: "target",
                    qualifier: None,
                }),
            ),
            (
                "target:live",
                Some(NameParts {
                    region: None,
                    account: None,
                    name: "target",
                    qualifier: Some("live"),
                }),
            ),
            (
                "function:target",
                Some(NameParts {
                    region: None,
                    account: None,
                    name: "target",
                    qualifier: None,
                }),
            ),
            (
                "222222222222:function:target:1",
                Some(NameParts {
                    region: None,
                    account: Some("222222222222"),
                    name: "target",
                    qualifier: Some("1"),
                }),
            ),
            (
                "arn:aws:lambda:us-east-1:111111111111:function",
                Some(NameParts {
                    region: Some("us-east-1"),
                    account: Some("111111111111"),
                    name: "function",
                    qualifier: None,
                }),
            ),
            (
                "arn:aws-iso-b:lambda:us-isob-east-1:111111111111:function:f:$LATEST.PUBLISHED",
                Some(NameParts {
                    region: Some("us-isob-east-1"),
                    account: Some("111111111111"),
                    name: "f",
                    qualifier: Some("$LATEST.PUBLISHED"),
                }),
            ),
            (
                "arn:aws:lambda:eusc-de-east-1:111111111111:function:f",
                Some(NameParts {
                    region: Some("eusc-de-east-1"),
                    account: Some("111111111111"),
                    name: "f",
                    qualifier: None,
                }),
            ),
            ("function:my-function:$LATEST:extra", None),
            (
                "arn:aws:lambda:us-east-1:111111111111:function:my-function:$LATES",
                None,
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(name_parts(raw), want, "{raw}");
            assert_eq!(
                FUNCTION_NAME.matches(raw),
                want.is_some(),
                "{raw}: the message's pattern agrees"
            );
        }
    }

    #[test]
    fn several_errors_are_counted_in_one_message() {
        let mut v = Violations::default();
        v.qualifier(&"a".repeat(129));
        v.pattern("functionName", "*", &FUNCTION_NAME);
        let e = v.check().unwrap_err();
        assert_eq!(e.name(), "ValidationException");
        assert!(
            e.message.starts_with("2 validation errors detected: Value 'aaa"),
            "{}",
            e.message
        );
        assert!(e
            .message
            .contains("Member must have length less than or equal to 128; Value '*' at 'functionName'"));
        assert!(Violations::default().check().is_ok());
    }
}
