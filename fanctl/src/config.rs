//! /etc/network/fan: one fan per line, `OVERLAY UNDERLAY [flags]`, `#`
//! comments, `off` disables a line.

use std::{fs, path::Path};

use anyhow::{Context, Result};

use crate::spec::{FanSpec, SpecError};

/// An enabled line of the file: a fan, or what is wrong with the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLine {
    /// 1-based, for messages.
    pub line: usize,
    pub fan: Result<FanSpec, SpecError>,
}

/// The enabled lines, in order; a bad line does not hide the good ones, so
/// that `up -a` can bring those up and name every bad line.
pub fn parse(text: &str) -> Vec<ConfigLine> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or_default();
        let words: Vec<&str> = content.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let fan = match FanSpec::from_words(&words) {
            Ok((_, flags)) if flags.off => continue,
            Ok((spec, _)) => Ok(spec),
            Err(e) => Err(e),
        };
        lines.push(ConfigLine {
            line: index + 1,
            fan,
        });
    }
    lines
}

pub fn load(path: &Path) -> Result<Vec<ConfigLine>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Encap;

    fn errors(lines: &[ConfigLine]) -> Vec<(usize, String)> {
        lines
            .iter()
            .filter_map(|l| l.fan.as_ref().err().map(|e| (l.line, e.to_string())))
            .collect()
    }

    #[test]
    fn comments_blank_lines_off_and_auto() {
        let lines = parse(
            "# fans of this host\n\
             \n\
             250.0.0.0/8 eth0/16 dhcp   # the announcement's\n\
             \t  # indented comment\n\
             251 172.30.0.28 off\n\
             252.0.0.0/8 default/16 host-reserve 2 bridge fanb mtu 1400 auto\n",
        );
        assert!(errors(&lines).is_empty());
        let fans: Vec<(usize, &FanSpec)> = lines
            .iter()
            .map(|l| (l.line, l.fan.as_ref().unwrap()))
            .collect();
        assert_eq!(fans.len(), 2);
        assert_eq!(fans[0].0, 3);
        assert!(fans[0].1.dhcp && !fans[0].1.auto);
        assert_eq!(fans[1].0, 6);
        assert_eq!(fans[1].1.host_reserve, 2);
        assert_eq!(fans[1].1.bridge.as_deref(), Some("fanb"));
        assert!(fans[1].1.auto);
        assert!(parse("").is_empty());
    }

    #[test]
    fn fou_lines() {
        let lines = parse(
            "250.0.0.0/8 eth0/16 dhcp encap fou port 6000
             251 eth0/16 encap fou
             252 eth0/16 port 6000
",
        );
        let encap = |i: usize| lines[i].fan.as_ref().map(|f| f.encap);
        assert_eq!(encap(0), Ok(Encap::Fou { port: 6000 }));
        assert_eq!(encap(1), Ok(Encap::Fou { port: 5555 }));
        assert_eq!(
            errors(&lines),
            [(3, "port 6000 needs encap fou".to_string())]
        );
    }

    #[test]
    fn every_bad_line_is_named_and_the_good_ones_kept() {
        let lines = parse(
            "250.0.0.0/8 eth0/16\n\
             garbage\n\
             # fine\n\
             250.0.0.0/33 eth0/16\n\
             251 eth0/16 frobnicate\n\
             252 172.30.0.28/8\n\
             253 eth0/16 auto\n",
        );
        let good: Vec<usize> = lines
            .iter()
            .filter(|l| l.fan.is_ok())
            .map(|l| l.line)
            .collect();
        assert_eq!(good, [1, 7]);
        let bad = errors(&lines);
        assert_eq!(
            bad.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
            [2, 4, 5, 6]
        );
        assert!(bad[0].1.starts_with("missing UNDERLAY"), "{bad:?}");
        assert!(bad[1].1.starts_with("bad overlay"), "{bad:?}");
        assert!(bad[2].1.starts_with("unknown flag"), "{bad:?}");
        assert!(bad[3].1.starts_with("overlay"), "{bad:?}");
    }
}
