//! The error backoff of a tunnel with a fixed remote (Linux's `err_count`
//! and `err_time`): ICMP errors about the tunnel's packets are remembered
//! for a while, and each of the next packets' senders is told of one.
//!
//! Anyone who can send ICMP to the host drives the count, so it wraps as
//! C's `int` does: with the kernel's overflow checks, `+= 1` would let a
//! stream of forged errors panic the kernel.

/// The count after an ICMP error; `recent`: the previous error came within
/// the backoff period.
pub fn error_noted(count: i32, recent: bool) -> i32 {
    if recent {
        count.wrapping_add(1)
    } else {
        1
    }
}

/// Whether the sender of a packet about to be sent is told of an error,
/// and the count after that; `recent` as for [`error_noted`].
pub fn error_taken(count: i32, recent: bool) -> (bool, i32) {
    match (count > 0, recent) {
        (false, _) => (false, count),
        (true, true) => (true, count.wrapping_sub(1)),
        (true, false) => (false, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_recent_errors_and_restarts_after_a_pause() {
        assert_eq!(error_noted(0, true), 1);
        assert_eq!(error_noted(5, true), 6);
        assert_eq!(error_noted(5, false), 1);
    }

    #[test]
    fn wraps_like_c_instead_of_overflowing() {
        assert_eq!(error_noted(i32::MAX, true), i32::MIN);
        // A wrapped (negative) count reports nothing and stays as it is.
        assert_eq!(error_taken(i32::MIN, true), (false, i32::MIN));
    }

    #[test]
    fn each_error_is_reported_once_while_recent() {
        assert_eq!(error_taken(2, true), (true, 1));
        assert_eq!(error_taken(1, true), (true, 0));
        assert_eq!(error_taken(0, true), (false, 0));
        assert_eq!(error_taken(3, false), (false, 0));
    }
}
