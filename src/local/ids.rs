//! The ids AWS writes in UUID form (request ids, revision ids): made here, below every file
//! that answers or records one, so none of them needs another to make an id.

/// A request id in UUID form.
pub(crate) fn request_id() -> String {
    let mut hex = [0u8; 32];
    hex::encode_to_slice(fastrand::u128(..).to_be_bytes(), &mut hex).expect("16 bytes are 32 hex digits");
    let mut id = String::with_capacity(36);
    for (i, group) in [0..8, 8..12, 12..16, 16..20, 20..32].into_iter().enumerate() {
        if i > 0 {
            id.push('-');
        }
        id.push_str(std::str::from_utf8(&hex[group]).expect("hex digits are ASCII"));
    }
    id
}
