//! The OpenID Connect identity providers the local endpoint plays for
//! AssumeRoleWithWebIdentity (an EKS cluster's service-account issuer, say): one ES256 signing
//! key per issuer, made when the endpoint starts (or at first use for an issuer the scenario
//! does not register, so a test can present a token of an unknown issuer), tokens minted with
//! it for the control API, and a token's signature and claims checked as STS checks them.
//!
//! Verification accepts ES256 and RS256 (the model's `WebIdentityToken` documentation: "RSA
//! keys (RS256, RS384, or RS512) or ECDSA keys (ES256, ES384, or ES512)"; this endpoint checks
//! the two that EKS and most issuers use) against the endpoint's own key for the issuer and the
//! public keys a scenario gives for the provider (`jwks`, for tokens minted elsewhere).
//!
//! A token is a credential: no error message, log line or `Debug` output shows one.

use crate::local::iam::OneOrMany;
use crate::local::scenario::{Jwk, Secret};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The audience EKS puts in a pod's projected token, and the one IAM suggests for a provider.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
/// Lifetime of a minted token when the request names none (EKS projects tokens for a day and
/// the SDKs read the file again before each AssumeRoleWithWebIdentity; an hour suffices here).
pub const DEFAULT_TTL_S: u32 = 3600;
/// Longest lifetime a minted token may ask for: a day, as EKS's longest projected token.
pub const MAX_TTL_S: u32 = 86_400;

/// `https://HOST/PATH` without its scheme and trailing slash: what the provider's ARN ends with
/// and what its condition keys start with. `None` when the issuer is not an https URL (IAM
/// registers https providers only).
pub fn issuer_key(issuer: &str) -> Option<&str> {
    let rest = issuer.strip_prefix("https://")?.trim_end_matches('/');
    (!rest.is_empty()).then_some(rest)
}

/// An IAM OIDC identity provider of an account, at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The issuer URL, as registered.
    pub issuer: String,
    /// `HOST/PATH`: [`issuer_key`] of the issuer.
    pub key: String,
    /// `arn:aws:iam::ACCT:oidc-provider/HOST/PATH`.
    pub arn: String,
    /// Client ids: a token's `aud` must hold one.
    pub audiences: Vec<String>,
    /// Public keys given by the scenario (the issuer's JWKS).
    pub jwks: Vec<VerifyingKey>,
}

impl Provider {
    /// The provider `issuer` of `account`, with `jwks` already checked by the scenario's
    /// validation (a key that does not convert is left out).
    pub fn new(account: &str, issuer: &str, audiences: &[String], jwks: &[Jwk]) -> Option<Provider> {
        let key = issuer_key(issuer)?;
        Some(Provider {
            issuer: issuer.to_string(),
            key: key.to_string(),
            arn: format!("arn:aws:iam::{account}:oidc-provider/{key}"),
            audiences: audiences.to_vec(),
            jwks: jwks.iter().filter_map(|k| VerifyingKey::from_jwk(k).ok()).collect(),
        })
    }
}

/// A public key a token may be signed with.
#[derive(Clone, PartialEq, Eq)]
pub enum VerifyingKey {
    /// ES256: a P-256 point, uncompressed (`0x04 ‖ x ‖ y`).
    Ec { kid: Option<String>, point: Vec<u8> },
    /// RS256: modulus and exponent, big-endian.
    Rsa {
        kid: Option<String>,
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyingKey::Ec { kid, .. } => write!(f, "Ec({kid:?})"),
            VerifyingKey::Rsa { kid, n, .. } => write!(f, "Rsa({kid:?}, {} bits)", n.len() * 8),
        }
    }
}

/// Why a JWKS key cannot verify tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    #[error("a {kty} key needs {field:?}")]
    Missing { kty: String, field: &'static str },
    #[error("{field:?} is not base64url without padding")]
    NotBase64 { field: &'static str },
    #[error("EC curve {crv:?} is not supported; ES256 keys are on \"P-256\"")]
    Curve { crv: Option<String> },
    #[error("a P-256 key's x and y are 32 bytes each")]
    PointSize,
    #[error("the RSA modulus has {bits} bits; RS256 keys have 2048 or more")]
    RsaModulus { bits: usize },
    #[error("key type {kty:?} is not supported; use \"EC\" (ES256) or \"RSA\" (RS256)")]
    KeyType { kty: String },
}

impl VerifyingKey {
    /// A key of a JWKS (RFC 7517): `{"kty":"EC","crv":"P-256","x","y"}` or
    /// `{"kty":"RSA","n","e"}` of 2048 bits or more; the error says what is wrong.
    pub fn from_jwk(jwk: &Jwk) -> Result<VerifyingKey, JwkError> {
        let field = |field: &'static str, v: &Option<String>| -> Result<Vec<u8>, JwkError> {
            let text = v.as_deref().ok_or_else(|| JwkError::Missing {
                kty: jwk.kty.clone(),
                field,
            })?;
            URL_SAFE_NO_PAD.decode(text).map_err(|_| JwkError::NotBase64 { field })
        };
        match jwk.kty.as_str() {
            "EC" => {
                if jwk.crv.as_deref() != Some("P-256") {
                    return Err(JwkError::Curve { crv: jwk.crv.clone() });
                }
                let (x, y) = (field("x", &jwk.x)?, field("y", &jwk.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JwkError::PointSize);
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Ok(VerifyingKey::Ec {
                    kid: jwk.kid.clone(),
                    point,
                })
            }
            "RSA" => {
                let (n, e) = (field("n", &jwk.n)?, field("e", &jwk.e)?);
                if n.len() < 256 {
                    return Err(JwkError::RsaModulus { bits: n.len() * 8 });
                }
                Ok(VerifyingKey::Rsa {
                    kid: jwk.kid.clone(),
                    n,
                    e,
                })
            }
            other => Err(JwkError::KeyType { kty: other.to_string() }),
        }
    }

    fn kid(&self) -> Option<&str> {
        match self {
            VerifyingKey::Ec { kid, .. } | VerifyingKey::Rsa { kid, .. } => kid.as_deref(),
        }
    }

    fn verifies(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        match (self, alg) {
            (VerifyingKey::Ec { point, .. }, Alg::Es256) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            (VerifyingKey::Rsa { n, e, .. }, Alg::Rs256) => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            _ => false,
        }
    }
}

/// The signature algorithms verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    Es256,
    Rs256,
}

/// What to mint: the body of `POST /_local/oidc/token`, sent by
/// [`ControlClient::oidc_token`](crate::local::ControlClient::oidc_token) (whose example mints
/// one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// `iss`; the scenario's first OIDC provider when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `sub`, e.g. `system:serviceaccount:NAMESPACE:SERVICE-ACCOUNT`.
    pub sub: String,
    /// `aud`; the issuer's first registered audience when absent (else `sts.amazonaws.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<OneOrMany<String>>,
    /// Seconds until `exp`, on the endpoint's clock (`DEFAULT_TTL_S` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_s: Option<u32>,
}

impl TokenRequest {
    /// A token for `sub` with every default: the scenario's first issuer, that issuer's first
    /// audience, an hour.
    pub fn subject(sub: impl Into<String>) -> TokenRequest {
        TokenRequest {
            issuer: None,
            sub: sub.into(),
            aud: None,
            ttl_s: None,
        }
    }
}

/// Why a token cannot be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error("\"issuer\" {0:?} is not an https:// URL; OIDC issuers registered in IAM are")]
    Issuer(String),
    #[error("no \"issuer\" given and the scenario registers no OIDC provider ([[accounts.oidc_providers]]); give one")]
    NoIssuer,
    #[error("\"sub\" is empty; give the subject, e.g. system:serviceaccount:NAMESPACE:NAME")]
    Subject,
    #[error("\"aud\" is empty; give at least one audience, e.g. sts.amazonaws.com")]
    Audience,
    #[error("\"ttl_s\" {0} is outside 1..={MAX_TTL_S}")]
    Ttl(u32),
    #[error("the signing key could not be made or used")]
    Key,
}

/// One issuer's signing key.
struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
}

/// The endpoint's signing keys, one per issuer. Kept across `POST /_local/reset`: the keys are
/// the identity provider's, not the simulated AWS accounts' state.
pub struct Issuers {
    rng: SystemRandom,
    keys: Mutex<HashMap<String, Arc<SigningKey>>>,
}

impl fmt::Debug for Issuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_map()
            .entries(keys.iter().map(|(iss, k)| (iss, &k.kid)))
            .finish()
    }
}

impl Default for Issuers {
    fn default() -> Self {
        Issuers {
            rng: SystemRandom::new(),
            keys: Mutex::new(HashMap::new()),
        }
    }
}

impl Issuers {
    /// Keys for `issuers`, made now. A key that cannot be made now is tried again at first use.
    pub fn new<'a>(issuers: impl IntoIterator<Item = &'a str>) -> Issuers {
        let out = Issuers::default();
        for issuer in issuers {
            let _ = out.key(issuer);
        }
        out
    }

    /// The issuer's key, made at first use.
    fn key(&self, issuer: &str) -> Result<Arc<SigningKey>, MintError> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = keys.get(issuer) {
            return Ok(Arc::clone(k));
        }
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &self.rng).map_err(|_| MintError::Key)?;
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &self.rng).map_err(|_| MintError::Key)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, pair.public_key().as_ref());
        let key = Arc::new(SigningKey {
            kid: hex::encode(&digest.as_ref()[..8]),
            pair,
        });
        keys.insert(issuer.to_string(), Arc::clone(&key));
        Ok(key)
    }

    /// The public key of the issuer's signing key, if the endpoint has one.
    pub fn verifying_key(&self, issuer: &str) -> Option<VerifyingKey> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(issuer).map(|k| VerifyingKey::Ec {
            kid: Some(k.kid.clone()),
            point: k.pair.public_key().as_ref().to_vec(),
        })
    }

    /// A JWT as an issuer writes one: header `{"alg":"ES256","kid","typ":"JWT"}`, claims `iss`,
    /// `sub`, `aud` (a list, as EKS writes it), `iat` = `nbf` = `now_s`, `exp` = `now_s + ttl`.
    /// `issuer` and `aud` are already resolved (see [`TokenRequest`]).
    pub fn mint(&self, issuer: &str, sub: &str, aud: &[String], ttl_s: u32, now_s: i64) -> Result<Secret, MintError> {
        if issuer_key(issuer).is_none() {
            return Err(MintError::Issuer(issuer.to_string()));
        }
        if sub.is_empty() {
            return Err(MintError::Subject);
        }
        if aud.is_empty() || aud.iter().any(String::is_empty) {
            return Err(MintError::Audience);
        }
        if !(1..=MAX_TTL_S).contains(&ttl_s) {
            return Err(MintError::Ttl(ttl_s));
        }
        let key = self.key(issuer)?;
        let header = serde_json::json!({ "alg": "ES256", "kid": key.kid, "typ": "JWT" });
        let claims = serde_json::json!({
            "aud": aud,
            "exp": now_s + i64::from(ttl_s),
            "iat": now_s,
            "iss": issuer,
            "nbf": now_s,
            "sub": sub,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = key
            .pair
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| MintError::Key)?;
        Ok(Secret(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig.as_ref())
        )))
    }
}

/// Why STS refuses a web identity token, in STS's words. [`TokenError::Expired`] is
/// ExpiredTokenException; every other is InvalidIdentityToken (both HTTP 400, the STS model's
/// `ExpiredTokenException` and `InvalidIdentityTokenException`). None carries the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON, a timestamp that is not an integer, or an algorithm
    /// not verified here. AWS's wording is not documented: this is the model's description of
    /// InvalidIdentityTokenException.
    #[error("The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.")]
    Malformed,
    /// Seen from STS (aws-sdk-ruby issue 2698): "Missing a required claim: aud".
    #[error("Missing a required claim: {0}")]
    MissingClaim(&'static str),
    /// Seen from STS on every EKS cluster without its IAM provider: "No OpenIDConnect provider
    /// found in your account for https://oidc.eks...".
    #[error("No OpenIDConnect provider found in your account for {0}")]
    NoProvider(String),
    /// No key of the issuer verifies the signature (wording not documented, as Malformed).
    #[error("The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.")]
    Signature,
    /// Seen from STS (aws-sdk-java-v2 issue 5709): "Token expired: current date/time 1731098245
    /// must be before the expiration date/time 1731095240".
    #[error("Token expired: current date/time {now_s} must be before the expiration date/time {exp_s}")]
    Expired { now_s: i64, exp_s: i64 },
    /// `nbf` or `iat` after now (wording not documented).
    #[error("The web identity token is not valid yet: its nbf or iat is later than the current date/time {0}.")]
    NotYetValid(i64),
    /// Seen from STS whenever `aud` is not a client id of the provider: "Incorrect token audience".
    #[error("Incorrect token audience")]
    Audience,
}

impl TokenError {
    /// The STS error code it is answered with.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Expired { .. } => "ExpiredTokenException",
            _ => "InvalidIdentityToken",
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The claims STS reads. Timestamps must be integers (the model: "Timestamps in the token must
/// be formatted as either an integer or a long integer").
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<OneOrMany<String>>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
}

/// A token that passed: who it names, for which audience, from which provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'p> {
    pub provider: &'p Provider,
    /// `sub`.
    pub subject: String,
    /// The audience of the token that is one of the provider's client ids.
    pub audience: String,
}

/// Check `token` as STS does for a role of an account whose OIDC providers are `providers`:
/// its form, its issuer among the providers, its signature (the endpoint's key for the issuer
/// or the provider's JWKS), `exp`, `nbf` and `iat` against `now_s`, then `aud` among the
/// provider's client ids, and a `sub`.
pub fn verify<'p>(
    token: &str,
    providers: &'p [Provider],
    issuers: &Issuers,
    now_s: i64,
) -> Result<Verified<'p>, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed);
    let header: Header = serde_json::from_slice(&decode(h)?).map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&decode(c)?).map_err(|_| TokenError::Malformed)?;
    let sig = decode(s)?;
    let alg = match header.alg.as_str() {
        "ES256" => Alg::Es256,
        "RS256" => Alg::Rs256,
        _ => return Err(TokenError::Malformed),
    };
    let iss = claims.iss.ok_or(TokenError::MissingClaim("iss"))?;
    let provider = issuer_key(&iss)
        .and_then(|key| providers.iter().find(|p| p.key == key))
        .ok_or_else(|| TokenError::NoProvider(iss.clone()))?;
    let own = issuers.verifying_key(&provider.issuer);
    let signing_input = &token[..h.len() + 1 + c.len()];
    let signed = own.iter().chain(&provider.jwks).any(|k| {
        let kid_fits = match (header.kid.as_deref(), k.kid()) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        };
        kid_fits && k.verifies(alg, signing_input.as_bytes(), &sig)
    });
    if !signed {
        return Err(TokenError::Signature);
    }
    let exp_s = claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
    if now_s >= exp_s {
        return Err(TokenError::Expired { now_s, exp_s });
    }
    if claims.nbf.is_some_and(|t| t > now_s) || claims.iat.is_some_and(|t| t > now_s) {
        return Err(TokenError::NotYetValid(now_s));
    }
    let aud = claims.aud.ok_or(TokenError::MissingClaim("aud"))?;
    let audience = aud
        .as_slice()
        .iter()
        .find(|a| provider.audiences.contains(a))
        .ok_or(TokenError::Audience)?
        .clone();
    let subject = claims
        .sub
        .filter(|s| !s.is_empty())
        .ok_or(TokenError::MissingClaim("sub"))?;
    Ok(Verified {
        provider,
        subject,
        audience,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
    const NOW: i64 = 1_700_000_000;

    fn provider() -> Provider {
        Provider::new("111111111111", ISS, &[DEFAULT_AUDIENCE.to_string()], &[]).unwrap()
    }

    fn mint(issuers: &Issuers, aud: &str, ttl: u32) -> String {
        issuers
            .mint(ISS, "system:serviceaccount:ns:sa", &[aud.to_string()], ttl, NOW)
            .unwrap()
            .0
    }

    /// A token of the given parts, signed by nobody.
    fn unsigned(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims),
            URL_SAFE_NO_PAD.encode([0u8; 64])
        )
    }

    #[test]
    fn issuer_keys_and_provider_arns_drop_the_scheme() {
        assert_eq!(issuer_key(ISS), Some("oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"));
        assert_eq!(
            issuer_key("https://token.actions.githubusercontent.com/"),
            Some("token.actions.githubusercontent.com")
        );
        assert_eq!(issuer_key("http://insecure.example"), None);
        assert_eq!(issuer_key("https://"), None);
        assert_eq!(
            provider().arn,
            "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
        );
    }

    #[test]
    fn a_minted_token_verifies_and_names_its_subject_and_audience() {
        let issuers = Issuers::new([ISS]);
        let providers = [provider()];
        let token = mint(&issuers, DEFAULT_AUDIENCE, 600);
        let v = verify(&token, &providers, &issuers, NOW + 1).unwrap();
        assert_eq!(v.subject, "system:serviceaccount:ns:sa");
        assert_eq!(v.audience, DEFAULT_AUDIENCE);
        assert_eq!(v.provider.issuer, ISS);
    }

    #[test]
    fn each_refusal_has_its_error() {
        let issuers = Issuers::new([ISS]);
        let providers = [provider()];
        let good = mint(&issuers, DEFAULT_AUDIENCE, 600);
        let other_key = mint(&Issuers::new([ISS]), DEFAULT_AUDIENCE, 600);
        // One character of the signature changed (its first: the last one carries padding bits).
        let at = good.rfind('.').unwrap() + 1;
        let mut tampered = good.clone();
        let first = if &good[at..=at] == "A" { "B" } else { "A" };
        tampered.replace_range(at..=at, first);
        let (h, rest) = good.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let swapped_claims = format!(
            "{h}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(format!(
                r#"{{"iss":"{ISS}","sub":"system:serviceaccount:ns:admin","aud":"sts.amazonaws.com","exp":{}}}"#,
                NOW + 600
            ))
        );
        let cases: Vec<(String, i64, TokenError)> = vec![
            ("not-a-jwt".into(), NOW, TokenError::Malformed),
            ("a.b.c.d".into(), NOW, TokenError::Malformed),
            (
                unsigned(r#"{"alg":"none"}"#, r#"{"iss":"x"}"#),
                NOW,
                TokenError::Malformed,
            ),
            (
                unsigned(r#"{"alg":"ES256"}"#, r#"{"iss":"x","exp":1.5}"#),
                NOW,
                TokenError::Malformed,
            ),
            (
                unsigned(r#"{"alg":"ES256"}"#, r#"{"sub":"x"}"#),
                NOW,
                TokenError::MissingClaim("iss"),
            ),
            (
                unsigned(r#"{"alg":"ES256"}"#, r#"{"iss":"https://elsewhere.example"}"#),
                NOW,
                TokenError::NoProvider("https://elsewhere.example".into()),
            ),
            (tampered, NOW, TokenError::Signature),
            (other_key, NOW, TokenError::Signature),
            (swapped_claims, NOW, TokenError::Signature),
            (
                good.clone(),
                NOW + 600,
                TokenError::Expired {
                    now_s: NOW + 600,
                    exp_s: NOW + 600,
                },
            ),
            (good, NOW - 1, TokenError::NotYetValid(NOW - 1)),
            (mint(&issuers, "someone-else", 600), NOW, TokenError::Audience),
        ];
        for (token, now, want) in cases {
            assert_eq!(verify(&token, &providers, &issuers, now), Err(want.clone()), "{want:?}");
        }
    }

    #[test]
    fn errors_never_carry_the_token() {
        let issuers = Issuers::new([ISS]);
        let token = mint(&issuers, DEFAULT_AUDIENCE, 600);
        let e = verify(&token, &[provider()], &issuers, NOW + 9999).unwrap_err();
        assert_eq!(e.code(), "ExpiredTokenException");
        assert!(!e.to_string().contains(&token));
        assert!(!format!("{issuers:?}").contains(&token));
        let secret = issuers.mint(ISS, "s", &["a".into()], 60, NOW).unwrap();
        assert_eq!(format!("{secret:?}"), "<redacted>");
    }

    #[test]
    fn mint_refuses_what_no_issuer_would_write() {
        let issuers = Issuers::default();
        let aud = [DEFAULT_AUDIENCE.to_string()];
        assert_eq!(
            issuers.mint("http://x", "s", &aud, 60, NOW),
            Err(MintError::Issuer("http://x".into()))
        );
        assert_eq!(issuers.mint(ISS, "", &aud, 60, NOW), Err(MintError::Subject));
        assert_eq!(issuers.mint(ISS, "s", &[], 60, NOW), Err(MintError::Audience));
        assert_eq!(issuers.mint(ISS, "s", &aud, 0, NOW), Err(MintError::Ttl(0)));
        assert_eq!(
            issuers.mint(ISS, "s", &aud, MAX_TTL_S + 1, NOW),
            Err(MintError::Ttl(MAX_TTL_S + 1))
        );
    }

    #[test]
    fn jwks_keys_convert_or_say_why_not() {
        let jwk = |v: serde_json::Value| -> Jwk { serde_json::from_value(v).unwrap() };
        let issuers = Issuers::new([ISS]);
        let Some(VerifyingKey::Ec { point, .. }) = issuers.verifying_key(ISS) else {
            panic!("the issuer has a key");
        };
        let ec = jwk(serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        }));
        assert_eq!(
            VerifyingKey::from_jwk(&ec).unwrap(),
            VerifyingKey::Ec {
                kid: Some("k1".into()),
                point: point.clone()
            }
        );
        let small_rsa = jwk(serde_json::json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([1u8; 128]), "e": "AQAB"}));
        assert!(VerifyingKey::from_jwk(&small_rsa)
            .unwrap_err()
            .to_string()
            .contains("1024 bits"));
        let oct = jwk(serde_json::json!({"kty": "oct", "k": "x"}));
        assert!(VerifyingKey::from_jwk(&oct)
            .unwrap_err()
            .to_string()
            .contains("\"oct\""));
        let p384 = jwk(serde_json::json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}));
        assert!(VerifyingKey::from_jwk(&p384).unwrap_err().to_string().contains("P-384"));
    }
}
