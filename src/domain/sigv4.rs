//! What signing (`adapters::sigv4`, the signed path) and verifying (`local::sigv4`, the local
//! endpoint) share of AWS Signature Version 4: the characters left unencoded, the signing
//! key's derivation, the string to sign and the canonical form of a header value. Each side
//! writes its canonical request its own way (the signer knows its one request; the verifier
//! rebuilds any request from the wire).

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

/// The characters SigV4 (and a Lambda path segment) leave unencoded: RFC 3986's unreserved
/// `A-Za-z0-9-_.~`; everything else is `%XX`.
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// [`UNRESERVED`] and `/`: a canonical URI encodes each segment, not the separators.
pub(crate) const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// HMAC-SHA256.
fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key of `secret` for the scope `day` (`YYYYMMDD`) / `region` / `service`.
pub(crate) fn signing_key(secret: &str, day: &[u8], region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), day);
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The hex signature of the string to sign `AWS4-HMAC-SHA256\n{amz_date}\n{day}/{region}/
/// {service}/aws4_request\n{canonical_request_hash}`, fed to the HMAC as it is written.
pub fn signature(key: &[u8; 32], amz_date: &str, scope: [&str; 3], canonical_request_hash: &[u8; 64]) -> [u8; 64] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    let [day, region, service] = scope;
    for part in [
        "AWS4-HMAC-SHA256\n",
        amz_date,
        "\n",
        day,
        "/",
        region,
        "/",
        service,
        "/aws4_request\n",
    ] {
        mac.update(part.as_bytes());
    }
    mac.update(canonical_request_hash);
    hex64(&mac.finalize().into_bytes())
}

/// Lowercase hex of a 32-byte digest, without allocating.
pub(crate) fn hex64(digest: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    hex::encode_to_slice(digest, &mut out).expect("a 32-byte digest is 64 hex digits");
    out
}

/// Write a header value as the canonical request holds it: trimmed, each run of spaces one.
pub(crate) fn write_trimmed(text: &str, mut put: impl FnMut(&str)) {
    // Most values have no space to trim or collapse: written whole.
    if !text.starts_with(' ') && !text.ends_with(' ') && !text.contains("  ") {
        return put(text);
    }
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        put(first);
        for w in words {
            put(" ");
            put(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's worked example ("Examples of how to derive a signing key for Signature Version
    /// 4"): secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1, iam.
    #[test]
    fn the_signing_key_of_aws_worked_example() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            b"20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_spaces_collapsed() {
        let mut out = String::new();
        write_trimmed("  a   b c  ", |s| out.push_str(s));
        assert_eq!(out, "a b c");
    }
}
