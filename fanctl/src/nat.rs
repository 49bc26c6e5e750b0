//! NAT of fan traffic leaving the overlay: one nftables table of our own,
//! `ip fan`, rewritten whole from the list of fans in one atomic `nft -f -`
//! transaction (nftables' netlink protocol is too large to speak directly).

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{bail, Context, Result};
use ipnetwork::Ipv4Network;

use crate::paths::find_program;

const TABLE: &str = "fan";

/// Masquerade traffic from `slice` to anywhere outside `overlay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatRule {
    pub bridge: String,
    pub slice: Ipv4Network,
    pub overlay: Ipv4Network,
}

/// The whole transaction: create-then-delete makes the delete safe when the
/// table does not exist yet; with no rules the table is simply gone.
pub fn ruleset(rules: &[NatRule]) -> String {
    let mut out = format!("table ip {TABLE}\ndelete table ip {TABLE}\n");
    if rules.is_empty() {
        return out;
    }
    out += &format!("table ip {TABLE} {{\n\tchain postrouting {{\n");
    out += "\t\ttype nat hook postrouting priority srcnat; policy accept;\n";
    for rule in rules {
        out += &format!(
            "\t\tip saddr {} ip daddr != {} masquerade comment \"{}\"\n",
            rule.slice, rule.overlay, rule.bridge
        );
    }
    out += "\t}\n}\n";
    out
}

pub fn apply(nft: &Path, rules: &[NatRule]) -> Result<()> {
    let nft = find_program(nft).context("cannot run nft (install nftables)")?;
    let mut child = Command::new(&nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", nft.display()))?;
    let script = ruleset(rules);
    child
        .stdin
        .take()
        .context("nft has no stdin")?
        .write_all(script.as_bytes())
        .context("cannot write the ruleset to nft")?;
    let out = child.wait_with_output().context("nft did not finish")?;
    if !out.status.success() {
        bail!(
            "nft rejected the ruleset ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fan_masquerades_its_slice() {
        let rules = [NatRule {
            bridge: "fan-250-0-28".into(),
            slice: "250.0.28.0/24".parse().unwrap(),
            overlay: "250.0.0.0/8".parse().unwrap(),
        }];
        let text = ruleset(&rules);
        assert!(text.starts_with("table ip fan\ndelete table ip fan\ntable ip fan {"));
        assert!(text.contains("type nat hook postrouting priority srcnat; policy accept;"));
        assert!(text.contains(
            "ip saddr 250.0.28.0/24 ip daddr != 250.0.0.0/8 masquerade comment \"fan-250-0-28\""
        ));
    }

    #[test]
    fn no_fans_removes_the_table() {
        assert_eq!(ruleset(&[]), "table ip fan\ndelete table ip fan\n");
    }
}
