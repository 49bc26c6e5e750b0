//! An LXD profile (the YAML of `lxc profile edit`) with one NIC bridged onto
//! the fan's bridge.

use super::FanNet;

/// A YAML scalar that stays a string whatever it holds: a JSON string is a
/// valid YAML double-quoted scalar. LXD's device settings are all strings,
/// so the MTU is quoted too (LXD rejects a YAML integer there).
fn string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

pub fn profile(net: &FanNet) -> String {
    let description = format!(
        "Fan {} on this host: bridge {}, slice {}",
        net.overlay, net.bridge, net.slice
    );
    let mtu = net.mtu.to_string();
    let fields = [
        ("type", "nic"),
        ("nictype", "bridged"),
        ("parent", net.bridge.as_str()),
        ("mtu", mtu.as_str()),
        ("name", "eth0"),
    ];
    let mut out = format!(
        "name: {}\ndescription: {}\nconfig: {{}}\ndevices:\n  eth0:\n",
        string(&net.name),
        string(&description)
    );
    for (key, value) in fields {
        out += &format!("    {key}: {}\n", string(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_norway::Value;

    use super::*;
    use crate::runtime::tests::net;

    fn parsed(net: &FanNet) -> Value {
        serde_norway::from_str(&profile(net)).expect("not YAML")
    }

    #[test]
    fn a_bridged_nic_on_the_fan_bridge() {
        let yaml = parsed(&net("250.0.28.0/24", 1));
        assert_eq!(yaml["name"].as_str(), Some("fan-250"));
        assert!(yaml["description"]
            .as_str()
            .unwrap()
            .contains("bridge fan-250-0-28"));
        assert_eq!(yaml["config"].as_mapping().map(|m| m.len()), Some(0));
        let devices = yaml["devices"].as_mapping().unwrap();
        assert_eq!(devices.len(), 1);
        let eth0 = &yaml["devices"]["eth0"];
        let fields: Vec<(&str, &str)> = eth0
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                // Every device setting must be a YAML string for LXD.
                (
                    k.as_str().unwrap(),
                    v.as_str().unwrap_or_else(|| panic!("{k:?} not a string")),
                )
            })
            .collect();
        assert_eq!(
            fields,
            [
                ("type", "nic"),
                ("nictype", "bridged"),
                ("parent", "fan-250-0-28"),
                ("mtu", "8981"),
                ("name", "eth0"),
            ]
        );
    }

    #[test]
    fn odd_names_stay_strings() {
        let mut n = net("250.0.28.0/24", 1);
        for name in ["yes", "1480", "null", "a: b", "#x", "~", "it's \"q\""] {
            n.name = name.into();
            n.bridge = name.into();
            let yaml = parsed(&n);
            assert_eq!(yaml["name"].as_str(), Some(name), "{name:?}");
            assert_eq!(yaml["devices"]["eth0"]["parent"].as_str(), Some(name));
        }
    }
}
