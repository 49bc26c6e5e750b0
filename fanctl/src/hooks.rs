//! Test hooks, read from the environment: a step of `up` that fails
//! (`FANCTL_FAIL_AT=STEP`) and a kernel without ipip
//! (`FANCTL_TEST_NO_TUNNEL`). Compiled only with the `test-hooks`
//! feature, which fanctl's tests turn on; other builds ignore both.

/// Why step `name` fails when a test asks it to.
#[cfg(feature = "test-hooks")]
pub fn injected_failure(step: &str) -> Option<String> {
    std::env::var("FANCTL_FAIL_AT")
        .is_ok_and(|v| v == step)
        .then(|| format!("injected failure (FANCTL_FAIL_AT={step})"))
}

#[cfg(not(feature = "test-hooks"))]
pub fn injected_failure(_step: &str) -> Option<String> {
    None
}

/// Whether to run the fan without its tunnel, as on a kernel without ipip.
#[cfg(feature = "test-hooks")]
pub fn no_tunnel() -> bool {
    std::env::var_os("FANCTL_TEST_NO_TUNNEL").is_some()
}

#[cfg(not(feature = "test-hooks"))]
pub fn no_tunnel() -> bool {
    false
}
