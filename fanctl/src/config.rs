//! /etc/network/fan: one fan per line, `OVERLAY UNDERLAY [flags]`, `#`
//! comments, `off` disables a line.

use std::{fs, path::Path};

use anyhow::{bail, Context, Result};

use crate::spec::FanSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLine {
    /// 1-based, for messages.
    pub line: usize,
    pub spec: FanSpec,
}

/// The enabled fans; every bad line is reported with its number.
pub fn parse(text: &str, source: &Path) -> Result<Vec<ConfigLine>> {
    let mut fans = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or_default();
        let words: Vec<&str> = content.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        match FanSpec::from_words(&words) {
            Ok((_, flags)) if flags.off => {}
            Ok((spec, _)) => fans.push(ConfigLine {
                line: index + 1,
                spec,
            }),
            Err(e) => errors.push(format!("{}:{}: {e}", source.display(), index + 1)),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(fans)
}

pub fn load(path: &Path) -> Result<Vec<ConfigLine>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/etc/network/fan";

    fn parse_text(text: &str) -> Result<Vec<ConfigLine>> {
        parse(text, Path::new(PATH))
    }

    #[test]
    fn comments_blank_lines_and_off() {
        let fans = parse_text(
            "# fans of this host\n\
             \n\
             250.0.0.0/8 eth0/16 dhcp   # the announcement's\n\
             \t  # indented comment\n\
             251 172.30.0.28 off\n\
             252.0.0.0/8 default/16 host-reserve 2 bridge fanb mtu 1400\n",
        )
        .unwrap();
        assert_eq!(fans.len(), 2);
        assert_eq!(fans[0].line, 3);
        assert!(fans[0].spec.dhcp);
        assert_eq!(fans[1].line, 6);
        assert_eq!(fans[1].spec.host_reserve, 2);
        assert_eq!(fans[1].spec.bridge.as_deref(), Some("fanb"));
        assert!(parse_text("").unwrap().is_empty());
    }

    #[test]
    fn every_bad_line_is_named() {
        let err = parse_text(
            "250.0.0.0/8 eth0/16\n\
             garbage\n\
             # fine\n\
             250.0.0.0/33 eth0/16\n\
             251 eth0/16 frobnicate\n\
             252 172.30.0.28/8\n",
        )
        .unwrap_err()
        .to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 4, "{err}");
        assert!(
            lines[0].starts_with("/etc/network/fan:2: missing UNDERLAY"),
            "{err}"
        );
        assert!(
            lines[1].starts_with("/etc/network/fan:4: bad overlay"),
            "{err}"
        );
        assert!(
            lines[2].starts_with("/etc/network/fan:5: unknown flag"),
            "{err}"
        );
        assert!(lines[3].starts_with("/etc/network/fan:6: overlay"), "{err}");
    }
}
