//! Typed ARNs. A target or role ARN is parsed once, when configuration is read, so the rest of
//! the code holds values that cannot be malformed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Why a string is not an ARN of the expected kind. Each message says what a valid one is.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ArnError {
    #[error("{value:?} is not a function ARN: expected arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER], e.g. arn:aws:lambda:us-east-1:222222222222:function:target:live ({problem})")]
    Function { value: String, problem: &'static str },
    #[error("{value:?} is not an IAM role ARN: expected arn:PARTITION:iam::ACCOUNT:role/NAME, e.g. arn:aws:iam::222222222222:role/xinvoke-invoke ({problem})")]
    Role { value: String, problem: &'static str },
    #[error("{value:?} is not a valid qualifier: use a version number (1, 2, ...) or an alias name (letters, digits, - and _; at most 128 characters); $LATEST is not allowed across accounts")]
    Qualifier { value: String },
}

// The patterns below are the Lambda service model's (botocore
// `data/lambda/2015-03-31/service-2.json`): `NamespacedFunctionName` (Invoke's FunctionName),
// `Alias`, `Version` and `Qualifier`. tests/it/fuzz_inputs.rs checks them against the model's
// regexes, both ways.

/// `aws[a-zA-Z-]*`: the partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, ...).
fn valid_partition(p: &str) -> bool {
    p.strip_prefix("aws")
        .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-'))
}

/// `(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}`: a region.
fn valid_region(r: &str) -> bool {
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let mut parts: Vec<&str> = r.split('-').collect();
    if parts.first() == Some(&"eusc") {
        parts.remove(0);
    }
    let (Some(area), Some(digit)) = (parts.first(), parts.last()) else {
        return false;
    };
    let qualifier_ok = |q: &str| {
        q == "gov"
            || q.strip_prefix("iso")
                .is_some_and(|x| x.len() <= 1 && (x.is_empty() || lower(x)))
    };
    let middle_ok = match &parts[1..parts.len().saturating_sub(1).max(1)] {
        [word] => lower(word),
        [q, word] => qualifier_ok(q) && lower(word),
        _ => false,
    };
    area.len() == 2 && lower(area) && digit.len() == 1 && digit.bytes().all(|b| b.is_ascii_digit()) && middle_ok
}

fn valid_account(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

/// `[a-zA-Z0-9-_\.]+`, at most 64 characters (the length CreateFunction allows a name).
fn valid_function_name(n: &str) -> bool {
    (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The partition a region belongs to, by the region patterns of the partition data the AWS SDKs
/// resolve endpoints with (aws-sdk-lambda's `endpoint_lib`, `regionRegex` of each partition):
/// `aws` `^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`, `aws-cn` `^cn-\w+-\d+$`, `aws-us-gov`
/// `^us-gov-\w+-\d+$`, `aws-iso` `^us-iso-`, `aws-iso-b` `^us-isob-`, `aws-iso-e` `^eu-isoe-`,
/// `aws-iso-f` `^us-isof-`, `aws-eusc` `^eusc-de-`. `None` for a region of none of them.
/// tests/it/endpoints.rs checks it against aws-sdk-lambda's resolver.
pub fn partition_of_region(region: &str) -> Option<&'static str> {
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let number = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = region.split('-').collect();
    match parts.as_slice() {
        ["cn", w, d] if word(w) && number(d) => Some("aws-cn"),
        [area, w, d]
            if word(w) && number(d) && ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"].contains(area) =>
        {
            Some("aws")
        }
        [a, b, w, d] if word(w) && number(d) => match (*a, *b) {
            ("us", "gov") => Some("aws-us-gov"),
            ("us", "iso") => Some("aws-iso"),
            ("us", "isob") => Some("aws-iso-b"),
            ("eu", "isoe") => Some("aws-iso-e"),
            ("us", "isof") => Some("aws-iso-f"),
            ("eusc", "de") => Some("aws-eusc"),
            _ => None,
        },
        _ => None,
    }
}

/// A partition's DNS suffixes, plain and dual-stack (the `dnsSuffix` and `dualStackDnsSuffix`
/// of the SDKs' partition data), for the few services xinvoke calls without their SDK crate
/// (SSM, Organizations). tests/it/endpoints.rs checks them against aws-sdk-lambda's resolver.
pub fn partition_dns_suffixes(partition: &str) -> Option<(&'static str, &'static str)> {
    Some(match partition {
        "aws" | "aws-us-gov" => ("amazonaws.com", "api.aws"),
        "aws-cn" => ("amazonaws.com.cn", "api.amazonwebservices.com.cn"),
        "aws-iso" => ("c2s.ic.gov", "api.aws.ic.gov"),
        "aws-iso-b" => ("sc2s.sgov.gov", "api.aws.scloud"),
        "aws-iso-e" => ("cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
        "aws-iso-f" => ("csp.hci.ic.gov", "api.aws.hci.ic.gov"),
        "aws-eusc" => ("amazonaws.eu", "api.amazonwebservices.eu"),
        _ => return None,
    })
}

/// A function or role of one partition used with a region (or resource) of another: no call
/// can succeed, so it is refused before any is made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{arn} names partition {partition}, but {region} is a region of {region_partition}: use arn:{region_partition}:... (ARNs, regions and credentials never cross partitions)")]
pub struct PartitionMismatch {
    pub arn: String,
    pub partition: String,
    pub region: String,
    pub region_partition: &'static str,
}

impl FunctionArn {
    /// Refuse an ARN whose partition is not its region's.
    pub fn check_partition(&self) -> Result<(), PartitionMismatch> {
        check_partition(&self.to_string(), &self.partition, &self.region)
    }
}

/// `arn` (of `partition`) used in `region`: refused when the region is of another partition.
pub fn check_partition(arn: &str, partition: &str, region: &str) -> Result<(), PartitionMismatch> {
    match partition_of_region(region) {
        Some(p) if p != partition => Err(PartitionMismatch {
            arn: arn.to_string(),
            partition: partition.to_string(),
            region: region.to_string(),
            region_partition: p,
        }),
        _ => Ok(()),
    }
}

/// A function qualifier: a published version number or an alias name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Qualifier(String);

impl Qualifier {
    /// The qualifier as sent in `?Qualifier=`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Qualifier {
    /// A published version number (`Version`: `[0-9]+`), as opposed to an alias.
    pub fn is_version(&self) -> bool {
        self.0.bytes().all(|b| b.is_ascii_digit())
    }
}

impl FromStr for Qualifier {
    type Err = ArnError;
    /// A version (`[0-9]+`) or an alias (`(?!^[0-9]+$)([a-zA-Z0-9-_]+)`: anything of those
    /// characters but all digits, `2024-prod` included), at most 128 characters. `$LATEST`,
    /// which the model's `Qualifier` allows, is refused: across accounts a resource policy
    /// cannot grant it.
    fn from_str(s: &str) -> Result<Self, ArnError> {
        let ok = (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Qualifier(s.to_string()))
        } else {
            Err(ArnError::Qualifier { value: s.to_string() })
        }
    }
}

impl TryFrom<String> for Qualifier {
    type Error = ArnError;
    fn try_from(s: String) -> Result<Self, ArnError> {
        s.parse()
    }
}

impl From<Qualifier> for String {
    fn from(q: Qualifier) -> String {
        q.0
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full Lambda function ARN, optionally qualified with an alias or version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FunctionArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
    pub qualifier: Option<Qualifier>,
}

impl FunctionArn {
    /// The ARN without its qualifier.
    pub fn unqualified(&self) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:{}",
            self.partition, self.region, self.account, self.name
        )
    }

    /// The same function with another qualifier (or none).
    pub(crate) fn with_qualifier(&self, qualifier: Option<Qualifier>) -> FunctionArn {
        FunctionArn {
            qualifier,
            ..self.clone()
        }
    }
}

impl FromStr for FunctionArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, ArnError> {
        let err = |problem| ArnError::Function {
            value: s.to_string(),
            problem,
        };
        if !s.starts_with("arn:") && is_short_function_name(s) {
            return Err(err(
                "a function name or partial ARN names a function without its region (and a name alone, one of the caller's own account): across accounts give the full ARN",
            ));
        }
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() < 7 || parts.len() > 8 {
            return Err(err("wrong number of ':'-separated parts"));
        }
        if parts[0] != "arn" {
            return Err(err("it must start with arn:"));
        }
        if !valid_partition(parts[1]) {
            return Err(err("unknown partition"));
        }
        if parts[2] != "lambda" {
            return Err(err("the service must be lambda"));
        }
        if !valid_region(parts[3]) {
            return Err(err("the region is not valid"));
        }
        if !valid_account(parts[4]) {
            return Err(err("the account must be 12 digits"));
        }
        if parts[5] != "function" {
            return Err(err("the resource type must be function"));
        }
        if !valid_function_name(parts[6]) {
            return Err(err("the function name must be 1-64 letters, digits, -, _ or ."));
        }
        let qualifier = match parts.get(7) {
            None => None,
            Some(q) if q.starts_with("$LATEST") => {
                return Err(err("use an alias or version, not $LATEST, across accounts"))
            }
            Some(q) => Some(
                q.parse()
                    .map_err(|_| err("the qualifier must be a version number or an alias name"))?,
            ),
        };
        Ok(FunctionArn {
            partition: parts[1].to_string(),
            region: parts[3].to_string(),
            account: parts[4].to_string(),
            name: parts[6].to_string(),
            qualifier,
        })
    }
}

impl TryFrom<String> for FunctionArn {
    type Error = ArnError;
    fn try_from(s: String) -> Result<Self, ArnError> {
        s.parse()
    }
}

impl From<FunctionArn> for String {
    fn from(a: FunctionArn) -> String {
        a.to_string()
    }
}

impl fmt::Display for FunctionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.unqualified())?;
        if let Some(q) = &self.qualifier {
            write!(f, ":{q}")?;
        }
        Ok(())
    }
}

/// A function name or partial ARN of the model's `NamespacedFunctionName` without the
/// `arn:...:lambda:REGION:` part: `NAME[:QUALIFIER]`, `ACCOUNT:function:NAME[:QUALIFIER]`.
fn is_short_function_name(s: &str) -> bool {
    let rest = match s.split_once(':') {
        Some((account, rest)) if valid_account(account) => rest,
        _ => s,
    };
    let rest = rest.strip_prefix("function:").unwrap_or(rest);
    let (name, qualifier) = match rest.split_once(':') {
        Some((n, q)) => (n, Some(q)),
        None => (rest, None),
    };
    valid_function_name(name) && qualifier.is_none_or(|q| q.starts_with("$LATEST") || q.parse::<Qualifier>().is_ok())
}

/// An IAM role ARN (the role to assume in account 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleArn {
    pub partition: String,
    pub account: String,
    /// The role name, with its path if any (`path/to/name`).
    pub name: String,
}

impl FromStr for RoleArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, ArnError> {
        let err = |problem| ArnError::Role {
            value: s.to_string(),
            problem,
        };
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(err("wrong number of ':'-separated parts"));
        }
        if !valid_partition(parts[1]) {
            return Err(err("unknown partition"));
        }
        if parts[2] != "iam" || !parts[3].is_empty() {
            return Err(err("the service must be iam with an empty region"));
        }
        if !valid_account(parts[4]) {
            return Err(err("the account must be 12 digits"));
        }
        let Some(name) = parts[5].strip_prefix("role/") else {
            return Err(err("the resource must be role/NAME"));
        };
        let leaf = name.rsplit('/').next().unwrap_or("");
        let ok_char = |b: u8| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b);
        if !(1..=64).contains(&leaf.len()) || !name.bytes().all(|b| ok_char(b) || b == b'/') {
            return Err(err("the role name must be 1-64 of letters, digits and +=,.@_-"));
        }
        Ok(RoleArn {
            partition: parts[1].to_string(),
            account: parts[4].to_string(),
            name: name.to_string(),
        })
    }
}

impl TryFrom<String> for RoleArn {
    type Error = ArnError;
    fn try_from(s: String) -> Result<Self, ArnError> {
        s.parse()
    }
}

impl From<RoleArn> for String {
    fn from(a: RoleArn) -> String {
        a.to_string()
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:iam::{}:role/{}", self.partition, self.account, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_function_arn_with_alias_parses_into_its_parts() {
        let a: FunctionArn = "arn:aws:lambda:us-east-1:222222222222:function:target:live"
            .parse()
            .unwrap();
        assert_eq!(a.partition, "aws");
        assert_eq!(a.region, "us-east-1");
        assert_eq!(a.account, "222222222222");
        assert_eq!(a.name, "target");
        assert_eq!(a.qualifier.as_ref().map(Qualifier::as_str), Some("live"));
        assert_eq!(
            a.to_string(),
            "arn:aws:lambda:us-east-1:222222222222:function:target:live"
        );
        assert_eq!(a.unqualified(), "arn:aws:lambda:us-east-1:222222222222:function:target");
    }

    #[test]
    fn function_arn_with_version_and_without_qualifier_parse() {
        let v: FunctionArn = "arn:aws-cn:lambda:cn-north-1:222222222222:function:t_1:7"
            .parse()
            .unwrap();
        assert_eq!(v.qualifier.unwrap().as_str(), "7");
        let u: FunctionArn = "arn:aws:lambda:eu-west-1:222222222222:function:target".parse().unwrap();
        assert!(u.qualifier.is_none());
    }

    #[test]
    fn malformed_function_arns_are_rejected_with_the_reason() {
        let cases = [
            ("target", "full ARN"),
            ("222222222222:function:target:live", "full ARN"),
            ("target:live", "full ARN"),
            ("arn:aws:lambda:us-east-1:2222:function:target", "12 digits"),
            ("arn:aws:s3:us-east-1:222222222222:function:target", "lambda"),
            ("arn:aws:lambda:useast1:222222222222:function:target", "region"),
            ("arn:aws:lambda:us-east-1:222222222222:layer:target", "function"),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:bad name",
                "function name",
            ),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:target:$LATEST",
                "$LATEST",
            ),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:target:li/ve",
                "qualifier",
            ),
            ("arn:nope:lambda:us-east-1:222222222222:function:target", "partition"),
            ("arn:aws:lambda:us-east-12:222222222222:function:target", "region"),
            ("", "wrong number"),
        ];
        for (input, problem) in cases {
            let e = input.parse::<FunctionArn>().unwrap_err().to_string();
            assert!(e.contains(problem), "{input}: {e}");
            assert!(e.contains("expected arn:PARTITION:lambda"), "{input}: {e}");
        }
    }

    #[test]
    fn regions_belong_to_their_partition_and_mismatches_name_both() {
        let cases = [
            ("us-east-1", Some("aws")),
            ("ap-southeast-7", Some("aws")),
            ("cn-north-1", Some("aws-cn")),
            ("us-gov-west-1", Some("aws-us-gov")),
            ("us-iso-east-1", Some("aws-iso")),
            ("us-isob-east-1", Some("aws-iso-b")),
            ("eu-isoe-west-1", Some("aws-iso-e")),
            ("us-isof-south-1", Some("aws-iso-f")),
            ("eusc-de-east-1", Some("aws-eusc")),
            ("xx-east-1", None),
            ("us-east", None),
        ];
        for (region, want) in cases {
            assert_eq!(partition_of_region(region), want, "{region}");
        }
        let wrong: FunctionArn = "arn:aws:lambda:cn-north-1:222222222222:function:t:live"
            .parse()
            .unwrap();
        let e = wrong.check_partition().unwrap_err().to_string();
        assert!(
            e.contains("names partition aws") && e.contains("cn-north-1 is a region of aws-cn"),
            "{e}"
        );
        let right: FunctionArn = "arn:aws-cn:lambda:cn-north-1:222222222222:function:t:live"
            .parse()
            .unwrap();
        assert!(right.check_partition().is_ok());
    }

    #[test]
    fn role_arns_parse_and_reject() {
        let r: RoleArn = "arn:aws:iam::222222222222:role/xinvoke-invoke".parse().unwrap();
        assert_eq!(r.account, "222222222222");
        assert_eq!(r.name, "xinvoke-invoke");
        assert_eq!(r.to_string(), "arn:aws:iam::222222222222:role/xinvoke-invoke");
        let p: RoleArn = "arn:aws:iam::222222222222:role/team/app".parse().unwrap();
        assert_eq!(p.name, "team/app");
        for bad in [
            "arn:aws:iam::222222222222:user/bob",
            "arn:aws:iam:us-east-1:222222222222:role/x",
            "arn:aws:sts::222222222222:role/x",
            "arn:aws:iam::22:role/x",
            "arn:aws:iam::222222222222:role/",
        ] {
            assert!(bad.parse::<RoleArn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn qualifiers_accept_versions_and_aliases_only() {
        // Aliases may start with a digit; only all-digit ones are versions (model: Alias
        // `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`, Version `[0-9]+`).
        for ok in ["1", "42", "live", "blue-green_2", "2024-prod", "2live"] {
            assert!(ok.parse::<Qualifier>().is_ok(), "{ok}");
        }
        assert!("42".parse::<Qualifier>().unwrap().is_version());
        assert!(!"2024-prod".parse::<Qualifier>().unwrap().is_version());
        for bad in ["", "$LATEST", "a b", "li/ve", &"x".repeat(129)] {
            assert!(bad.parse::<Qualifier>().is_err(), "{bad}");
        }
    }

    #[test]
    fn arns_round_trip_through_serde_and_reject_bad_values() {
        let a: FunctionArn =
            serde_json::from_str("\"arn:aws:lambda:us-east-1:222222222222:function:target:live\"").unwrap();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            "\"arn:aws:lambda:us-east-1:222222222222:function:target:live\""
        );
        assert!(serde_json::from_str::<FunctionArn>("\"nope\"").is_err());
    }
}
