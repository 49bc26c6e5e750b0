//! What fanctl has set up, in `RUN_DIR/state.json`, so that `down` removes
//! exactly what `up` made. Written whole to a temporary file and renamed, so
//! readers (`show`) never see half of it.

use std::{fs, io, net::Ipv4Addr, path::Path};

use anyhow::{Context, Result};
use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

use crate::{plan::Mode, resource::Resource, spec::Encap};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanRecord {
    pub bridge: String,
    pub overlay: Ipv4Network,
    /// This host's underlay address with the underlay prefix length.
    pub underlay: Ipv4Network,
    pub underlay_device: String,
    pub slice: Ipv4Network,
    pub address: Ipv4Addr,
    pub mtu: u32,
    pub mtu_given: bool,
    pub dhcp: bool,
    pub host_reserve: u32,
    pub mode: Mode,
    /// How its packets travel; ipip in records written before FOU.
    #[serde(default)]
    pub encap: Encap,
    /// Brought up by `up -a` or with the `auto` flag: `down -a` takes it
    /// down. Absent from records written before the flag existed.
    #[serde(default)]
    pub auto: bool,
    /// What `up` made for this fan alone, in the order it was made.
    pub resources: Vec<Resource>,
}

impl FanRecord {
    /// The words of the announcement's Flags column.
    pub fn flags(&self) -> String {
        let mut flags = Vec::new();
        if self.dhcp {
            flags.push("dhcp".to_string());
        }
        flags.push(format!("host-reserve {}", self.host_reserve));
        if self.mtu_given {
            flags.push(format!("mtu {}", self.mtu));
        }
        if self.encap != Encap::Ipip {
            flags.push(self.encap.to_string());
        }
        if self.mode != Mode::Module {
            flags.push(self.mode.name().to_string());
        }
        if self.auto {
            flags.push("auto".to_string());
        }
        flags.join(" ")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub fans: Vec<FanRecord>,
    /// What the first fan made for all of them (tunnel device, forwarding);
    /// undone when the last fan goes.
    pub shared: Vec<Resource>,
}

impl State {
    pub fn load(path: &Path) -> Result<State> {
        match fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("cannot parse state file {}", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self)?;
        fs::write(&tmp, text + "\n").with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
    }

    pub fn find_overlay(&self, overlay: &Ipv4Network) -> Option<&FanRecord> {
        self.fans.iter().find(|f| f.overlay == *overlay)
    }
}

/// The announcement's fan on 172.30.0.28, as recorded, for tests.
#[cfg(test)]
pub(crate) fn example_record() -> FanRecord {
    FanRecord {
        bridge: "fan-250-0-28".into(),
        overlay: "250.0.0.0/8".parse().unwrap(),
        underlay: "172.30.0.28/16".parse().unwrap(),
        underlay_device: "eth0".into(),
        slice: "250.0.28.0/24".parse().unwrap(),
        address: "250.0.28.1".parse().unwrap(),
        mtu: 8981,
        mtu_given: false,
        dhcp: true,
        host_reserve: 1,
        mode: Mode::Module,
        encap: Encap::Ipip,
        auto: false,
        resources: vec![Resource::Bridge {
            name: "fan-250-0-28".into(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_as_in_the_announcement() {
        let mut fan = example_record();
        assert_eq!(fan.flags(), "dhcp host-reserve 1");
        fan.mode = Mode::Fallback;
        fan.mtu_given = true;
        fan.dhcp = false;
        assert_eq!(fan.flags(), "host-reserve 1 mtu 8981 fallback");
        fan.encap = Encap::Fou { port: 6000 };
        assert_eq!(
            fan.flags(),
            "host-reserve 1 mtu 8981 encap fou port 6000 fallback"
        );
    }

    #[test]
    fn records_from_before_fou_are_ipip() {
        let mut value = serde_json::to_value(example_record()).unwrap();
        value.as_object_mut().unwrap().remove("encap");
        let fan: FanRecord = serde_json::from_value(value).unwrap();
        assert_eq!(fan.encap, Encap::Ipip);
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = std::env::temp_dir().join(format!("fanctl-state-{}", std::process::id()));
        let path = dir.join("state.json");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let state = State {
            fans: vec![example_record()],
            shared: vec![Resource::Forwarding {
                previous: "0".into(),
            }],
        };
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), state);
        fs::write(&path, "{ not json").unwrap();
        assert!(State::load(&path).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
