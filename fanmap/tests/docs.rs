//! docs/ stays true: the worked examples of docs/mapping.md compute as
//! written, and docs/netlink.md quotes every message the map code and the
//! module can give.

use std::{fs, net::Ipv4Addr, path::PathBuf};

use fanmap::{attrs::AttrError, FanMap, MapError, Prefix};

fn repo_file(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()))
}

/// The rows of the first table after `heading`, as cells.
fn table_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_worked_examples_compute_as_written() {
    let rows = table_after(&repo_file("docs/mapping.md"), "## Worked examples");
    assert!(rows.len() >= 4, "{rows:?}");
    for row in rows {
        let [map, host, slice, dst, sent_to] = &row[..] else {
            panic!("not five cells: {row:?}");
        };
        let map: FanMap = map.parse().unwrap();
        let host: Ipv4Addr = host.parse().unwrap();
        let slice_of_host = map.slice_for(host).unwrap().prefix();
        assert_eq!(slice_of_host, slice.parse::<Prefix>().unwrap(), "{row:?}");
        let dst: Ipv4Addr = dst.parse().unwrap();
        assert_eq!(map.underlay_for(dst), sent_to.parse().ok(), "{row:?}");
    }
}

#[test]
fn the_slice_table_follows_host_reserve() {
    let rows = table_after(&repo_file("docs/mapping.md"), "## The slice on the host");
    assert!(rows.len() >= 3, "{rows:?}");
    for row in rows {
        let [slice, reserve, kept, containers] = &row[..] else {
            panic!("not four cells: {row:?}");
        };
        let prefix: Prefix = slice.parse().unwrap();
        // A map whose slices have this length: ov + 32 - ul = len.
        let (ov, ul) = (8, 40 - prefix.prefix_len());
        let overlay = Prefix::containing(prefix.network(), ov).unwrap();
        let underlay = Prefix::containing(Ipv4Addr::new(10, 0, 0, 0), ul).unwrap();
        let map = FanMap::from_prefixes(overlay, underlay).unwrap();
        let host_bits = (u32::from(prefix.network()) & (u32::MAX >> ov)) >> (ul - ov);
        let host = Ipv4Addr::from(u32::from(underlay.network()) | host_bits);
        let got = map.slice_for(host).unwrap();
        assert_eq!(got.prefix(), prefix, "{row:?}");
        let reserve = reserve.parse().unwrap();
        let range = |(first, last): (Ipv4Addr, Ipv4Addr)| match first == last {
            true => first.to_string(),
            false => format!("{first} - {last}"),
        };
        assert_eq!(kept, &range(got.host_range(reserve).unwrap()), "{row:?}");
        assert_eq!(
            containers,
            &range(got.dhcp_range(reserve).unwrap()),
            "{row:?}"
        );
    }
}

/// The `c"..."` messages of the module's own refusals.
fn module_messages() -> Vec<String> {
    let mut out = Vec::new();
    for file in ["kmod/link.rs", "kmod/netlink.rs"] {
        let text = repo_file(file);
        for piece in text.split("c\"").skip(1) {
            let message = &piece[..piece.find('"').unwrap()];
            // Link kinds and names are single words; messages are not.
            if message.contains(' ') {
                out.push(message.to_string());
            }
        }
    }
    out
}

#[test]
fn netlink_md_quotes_every_message() {
    let doc = repo_file("docs/netlink.md");
    let mut messages: Vec<String> = MapError::ALL
        .iter()
        .map(|e| e.message().to_string())
        .collect();
    for e in [AttrError::Truncated, AttrError::UnknownType] {
        messages.push(e.c_message().to_str().unwrap().to_string());
    }
    let module = module_messages();
    assert!(module.len() >= 4, "{module:?}");
    messages.extend(module);
    let missing: Vec<&String> = messages
        .iter()
        .filter(|m| !doc.contains(&format!("`{m}`")))
        .collect();
    assert!(missing.is_empty(), "not in docs/netlink.md: {missing:#?}");
}

#[test]
fn netlink_md_gives_each_refusal_its_errno() {
    let rows = table_after(&repo_file("docs/netlink.md"), "## Refusals");
    for e in MapError::ALL {
        let quoted = format!("`{}`", e.message());
        let Some(row) = rows.iter().find(|r| r.get(2) == Some(&quoted)) else {
            continue; // the three messages the module never sends
        };
        let errno = match e.errno() {
            2 => "ENOENT",
            17 => "EEXIST",
            22 => "EINVAL",
            28 => "ENOSPC",
            other => panic!("errno {other} of {e:?}"),
        };
        assert_eq!(row[0], errno, "{e:?}");
    }
}
