//! `fanctl show`: the announcement's table, or JSON.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::{
    resource::Resource,
    spec::Encap,
    state::{FanRecord, State},
};

const HEADER: [&str; 4] = ["Bridge", "Overlay", "Underlay", "Flags"];

pub fn table(state: &State) -> String {
    let rows: Vec<[String; 4]> = state
        .fans
        .iter()
        .map(|f| {
            [
                f.bridge.clone(),
                f.overlay.to_string(),
                f.underlay.to_string(),
                f.flags(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: [&str; 4]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate().take(3) {
            out += &format!("{cell:<w$} ", w = widths[i]);
        }
        out += cells[3];
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(HEADER);
    for row in &rows {
        out += &line([&row[0], &row[1], &row[2], &row[3]]);
    }
    out
}

#[derive(Serialize)]
struct FanView<'a> {
    bridge: &'a str,
    overlay: String,
    underlay: String,
    underlay_device: &'a str,
    slice: String,
    address: String,
    mtu: u32,
    dhcp: bool,
    host_reserve: u32,
    mode: &'static str,
    encap: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fou_port: Option<u16>,
    flags: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dnsmasq_pid: Option<i32>,
}

impl<'a> FanView<'a> {
    fn new(f: &'a FanRecord) -> Self {
        FanView {
            bridge: &f.bridge,
            overlay: f.overlay.to_string(),
            underlay: f.underlay.to_string(),
            underlay_device: &f.underlay_device,
            slice: f.slice.to_string(),
            address: f.address.to_string(),
            mtu: f.mtu,
            dhcp: f.dhcp,
            host_reserve: f.host_reserve,
            mode: f.mode.name(),
            encap: match f.encap {
                Encap::Ipip => "ipip",
                Encap::Fou { .. } => "fou",
            },
            fou_port: match f.encap {
                Encap::Fou { port } => Some(port),
                Encap::Ipip => None,
            },
            flags: f.flags(),
            dnsmasq_pid: f.resources.iter().find_map(|r| match r {
                Resource::Dnsmasq { pid, .. } => Some(*pid),
                _ => None,
            }),
        }
    }
}

pub fn json(state: &State) -> Result<String> {
    #[derive(Serialize)]
    struct View<'a> {
        fans: Vec<FanView<'a>>,
    }
    let view = View {
        fans: state.fans.iter().map(FanView::new).collect(),
    };
    Ok(serde_json::to_string_pretty(&view)? + "\n")
}

pub fn show(state: &State, as_json: bool) -> Result<()> {
    let text = if as_json { json(state)? } else { table(state) };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut fan = crate::state::example_record();
        fan.resources = vec![Resource::Dnsmasq {
            bridge: "fan-250-0-28".into(),
            pid: 42,
            pid_file: "/run/fan/dnsmasq-fan-250-0-28.pid".into(),
        }];
        State {
            fans: vec![fan],
            shared: vec![],
        }
    }

    #[test]
    fn the_announcements_table() {
        let text = table(&state());
        let words: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(words[0], ["Bridge", "Overlay", "Underlay", "Flags"]);
        assert_eq!(
            words[1],
            [
                "fan-250-0-28",
                "250.0.0.0/8",
                "172.30.0.28/16",
                "dhcp",
                "host-reserve",
                "1"
            ]
        );
        assert_eq!(table(&State::default()), "Bridge Overlay Underlay Flags\n");
    }

    #[test]
    fn json_is_valid() {
        let value: serde_json::Value = serde_json::from_str(&json(&state()).unwrap()).unwrap();
        let fan = &value["fans"][0];
        assert_eq!(fan["bridge"], "fan-250-0-28");
        assert_eq!(fan["overlay"], "250.0.0.0/8");
        assert_eq!(fan["underlay"], "172.30.0.28/16");
        assert_eq!(fan["mode"], "module");
        assert_eq!(fan["encap"], "ipip");
        assert!(fan.get("fou_port").is_none());
        assert_eq!(fan["dnsmasq_pid"], 42);
        assert_eq!(fan["flags"], "dhcp host-reserve 1");
    }
}
