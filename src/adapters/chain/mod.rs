//! The credential chain, link by link: when credentials cannot be had, which link is missing
//! (a variable, a token file, a profile, an IAM Identity Center token, a container endpoint, a
//! role's trust), said with the fix, never "no credentials". The gateway runs it at start for
//! every upstream; `doctor` when GetCallerIdentity fails; `invoke` and `load` when the chain
//! gave nothing.

mod error;
mod links;
mod profiles;

pub use error::ChainError;
pub use links::check;
