//! A CNI network configuration list (CNI spec 1.0.0) for the fan's bridge:
//! the reference `bridge` plugin with `host-local` addresses.

use anyhow::{Context, Result};
use serde::Serialize;

use super::FanNet;

pub const CNI_VERSION: &str = "1.0.0";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfList {
    pub cni_version: &'static str,
    pub name: String,
    pub plugins: Vec<BridgePlugin>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BridgePlugin {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub bridge: String,
    /// The bridge already holds the gateway address: the plugin must not
    /// manage it (with `true` it would only check that it is there).
    pub is_gateway: bool,
    /// The fan NATs traffic leaving the overlay itself.
    pub ip_masq: bool,
    /// Containers' veths get the bridge's MTU, not 1500.
    pub mtu: u32,
    pub ipam: HostLocal,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostLocal {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub ranges: Vec<Vec<Range>>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Range {
    pub subnet: String,
    pub range_start: String,
    pub range_end: String,
    pub gateway: String,
}

#[derive(Debug, Serialize)]
pub struct Route {
    pub dst: String,
    pub gw: String,
}

pub fn conflist(net: &FanNet) -> ConfList {
    ConfList {
        cni_version: CNI_VERSION,
        name: net.name.clone(),
        plugins: vec![BridgePlugin {
            kind: "bridge",
            bridge: net.bridge.clone(),
            is_gateway: false,
            ip_masq: false,
            mtu: net.mtu,
            ipam: HostLocal {
                kind: "host-local",
                ranges: vec![vec![Range {
                    subnet: net.slice.to_string(),
                    range_start: net.containers.0.to_string(),
                    range_end: net.containers.1.to_string(),
                    gateway: net.gateway.to_string(),
                }]],
                // Everything, the other hosts' slices included, goes via the
                // bridge: the host routes the overlay into the tunnel.
                routes: vec![Route {
                    dst: "0.0.0.0/0".into(),
                    gw: net.gateway.to_string(),
                }],
            },
        }],
    }
}

pub fn render(net: &FanNet) -> Result<String> {
    let text =
        serde_json::to_string_pretty(&conflist(net)).context("cannot encode the CNI list")?;
    Ok(text + "\n")
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use ipnetwork::Ipv4Network;
    use serde_json::Value;

    use super::*;
    use crate::runtime::tests::net;

    fn value(net: &FanNet) -> Value {
        serde_json::from_str(&render(net).unwrap()).unwrap()
    }

    fn addr(v: &Value) -> Ipv4Addr {
        v.as_str()
            .unwrap_or_else(|| panic!("not a string: {v}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn the_cni_specs_required_fields() {
        let list = value(&net("250.0.28.0/24", 1));
        assert_eq!(list["cniVersion"], "1.0.0");
        assert_eq!(list["name"], "fan-250");
        let plugins = list["plugins"].as_array().unwrap();
        assert_eq!(plugins.len(), 1);
        for plugin in plugins {
            assert!(plugin["type"].is_string(), "{plugin}");
            // libcni injects these into each plugin's config: a list must not
            // carry its own.
            assert!(plugin.get("name").is_none() && plugin.get("cniVersion").is_none());
        }
        let bridge = &plugins[0];
        assert_eq!(bridge["type"], "bridge");
        assert_eq!(bridge["bridge"], "fan-250-0-28");
        assert_eq!(bridge["isGateway"], false);
        assert_eq!(bridge["ipMasq"], false);
        assert_eq!(bridge["mtu"], 8981);
        assert_eq!(bridge["ipam"]["type"], "host-local");
        assert_eq!(
            bridge["ipam"]["routes"],
            serde_json::json!([{ "dst": "0.0.0.0/0", "gw": "250.0.28.1" }])
        );
        // Names as the plugins spell them, so none is silently ignored.
        let keys: Vec<&str> = bridge
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in keys {
            assert!(
                ["type", "bridge", "isGateway", "ipMasq", "mtu", "ipam"].contains(&key),
                "{key}"
            );
        }
    }

    #[test]
    fn host_local_gives_out_the_containers_range_only() {
        for (slice, reserve) in [
            ("250.0.28.0/24", 1),
            ("250.0.28.0/24", 0),
            ("250.0.28.0/24", 10),
            ("250.0.28.0/24", 253),
            ("10.7.0.0/16", 300),
            ("250.0.28.0/29", 2),
        ] {
            let net = net(slice, reserve);
            let list = value(&net);
            let ranges = list["plugins"][0]["ipam"]["ranges"].as_array().unwrap();
            assert_eq!(ranges.len(), 1);
            let range = &ranges[0][0];
            let subnet: Ipv4Network = range["subnet"].as_str().unwrap().parse().unwrap();
            assert_eq!(subnet, net.slice);
            let (start, end, gateway) = (
                addr(&range["rangeStart"]),
                addr(&range["rangeEnd"]),
                addr(&range["gateway"]),
            );
            assert!(subnet.contains(start) && subnet.contains(end), "{slice}");
            assert!(start <= end);
            assert_eq!(gateway, net.gateway);
            assert!(
                !(start..=end).contains(&gateway),
                "{slice}: gateway in range"
            );
            // After every reserved address, up to the one before broadcast.
            let reserved_end = u32::from(subnet.network()) + reserve.max(1);
            assert_eq!(u32::from(start), reserved_end + 1, "{slice} {reserve}");
            assert_eq!(u32::from(end), u32::from(subnet.broadcast()) - 1);
        }
    }

    #[test]
    fn the_name_is_the_networks() {
        let mut n = net("250.0.28.0/24", 1);
        n.name = "pods".into();
        assert_eq!(value(&n)["name"], "pods");
    }
}
