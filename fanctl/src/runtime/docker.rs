//! `docker network create` for the fan's bridge.
//!
//! Docker's bridge driver adopts a bridge that exists
//! (`com.docker.network.bridge.name`) and keeps its address when that is
//! exactly `--gateway` with the prefix of `--subnet`; any other address it
//! would replace, so both come from the recorded fan. Docker's allocator
//! takes any address of `--ip-range` (default: the subnet) except the
//! subnet's network and broadcast, the gateway and each `--aux-address`.
//! A range like .2-.254 is not a CIDR block, so the host's reserved
//! addresses are kept out with the smallest block holding the containers'
//! range as `--ip-range` (left out when that is the whole slice) and one
//! `--aux-address` for each reserved address inside that block.

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;

use super::FanNet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerCommand {
    /// Each option with its value, in order.
    pub options: Vec<(&'static str, String)>,
    pub name: String,
}

const BRIDGE_OPTS: [(&str, &str); 2] = [
    // The fan NATs traffic leaving the overlay itself (nft table `ip fan`).
    ("com.docker.network.bridge.enable_ip_masquerade", "false"),
    // Containers on the other hosts come in through the tunnel, to any port:
    // Docker 28's default (`nat`) would drop what is not published.
    (
        "com.docker.network.bridge.gateway_mode_ipv4",
        "nat-unprotected",
    ),
];

/// The smallest CIDR block holding `first..=last`.
fn block(first: Ipv4Addr, last: Ipv4Addr) -> Ipv4Network {
    let (first, last) = (u32::from(first), u32::from(last));
    let len = (first ^ last).leading_zeros();
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    // len <= 32, so the prefix is always valid.
    Ipv4Network::new(Ipv4Addr::from(first & mask), len as u8)
        .unwrap_or_else(|_| Ipv4Network::from(Ipv4Addr::from(first)))
}

/// `--ip-range` when the containers' addresses are not the whole slice.
pub fn ip_range(net: &FanNet) -> Option<Ipv4Network> {
    let range = block(net.containers.0, net.containers.1);
    (range != net.slice).then_some(range)
}

/// The host's reserved addresses that Docker could otherwise hand out.
pub fn aux_addresses(net: &FanNet) -> Vec<(String, Ipv4Addr)> {
    let pool = ip_range(net).unwrap_or(net.slice);
    let base = u32::from(net.slice.network());
    (base + 1..=u32::from(net.last_reserved))
        .map(Ipv4Addr::from)
        .filter(|&addr| addr != net.gateway && pool.contains(addr))
        .map(|addr| (format!("host-{}", u32::from(addr) - base), addr))
        .collect()
}

pub fn network_create(net: &FanNet) -> DockerCommand {
    let mut options = vec![
        ("--driver", "bridge".to_string()),
        ("--subnet", net.slice.to_string()),
        ("--gateway", net.gateway.to_string()),
    ];
    if let Some(range) = ip_range(net) {
        options.push(("--ip-range", range.to_string()));
    }
    for (key, addr) in aux_addresses(net) {
        options.push(("--aux-address", format!("{key}={addr}")));
    }
    options.push((
        "--opt",
        format!("com.docker.network.bridge.name={}", net.bridge),
    ));
    options.push((
        "--opt",
        format!("com.docker.network.driver.mtu={}", net.mtu),
    ));
    for (key, value) in BRIDGE_OPTS {
        options.push(("--opt", format!("{key}={value}")));
    }
    DockerCommand {
        options,
        name: net.name.clone(),
    }
}

/// A word as the shell reads it back: bare when it has nothing special,
/// otherwise in single quotes.
pub fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.,:/=@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl DockerCommand {
    /// The arguments after the program name.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec!["network".to_string(), "create".to_string()];
        for (option, value) in &self.options {
            argv.push(option.to_string());
            argv.push(value.clone());
        }
        argv.push(self.name.clone());
        argv
    }

    /// The command for a shell, one option a line.
    pub fn text(&self) -> String {
        let mut out = "docker network create".to_string();
        for (option, value) in &self.options {
            out += &format!(" \\\n    {option} {}", quote(value));
        }
        out += &format!(" \\\n    {}\n", quote(&self.name));
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::runtime::tests::net;

    /// The words of `text`, a docker command line, as the shell reads them:
    /// /bin/sh runs it with `docker` a function printing its arguments.
    fn shell_words(text: &str) -> Vec<String> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        // On stdin: a command with thousands of --aux-address is longer than
        // one argument may be.
        let script = format!("docker() {{ printf '%s\\0' docker \"$@\"; }}\n{text}");
        let mut sh = Command::new("sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run sh");
        sh.stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = sh.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "not shell syntax: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .split_terminator('\0')
            .map(str::to_string)
            .collect()
    }

    /// The printed command read back with the shell's rules.
    fn parsed(net: &FanNet) -> Vec<String> {
        shell_words(&network_create(net).text())
    }

    /// Option values by name, from words as the docker CLI sees them.
    fn values<'a>(words: &'a [String], option: &str) -> Vec<&'a str> {
        words
            .windows(2)
            .filter(|w| w[0] == option)
            .map(|w| w[1].as_str())
            .collect()
    }

    fn one<'a>(words: &'a [String], option: &str) -> Option<&'a str> {
        let v = values(words, option);
        assert!(v.len() <= 1, "{option} given {} times", v.len());
        v.first().copied()
    }

    /// The addresses Docker's allocator may hand out for these words.
    fn allocatable(words: &[String]) -> Vec<Ipv4Addr> {
        let subnet: Ipv4Network = one(words, "--subnet").unwrap().parse().unwrap();
        let gateway: Ipv4Addr = one(words, "--gateway").unwrap().parse().unwrap();
        let pool: Ipv4Network = one(words, "--ip-range").map_or(subnet, |r| r.parse().unwrap());
        let aux: HashSet<Ipv4Addr> = values(words, "--aux-address")
            .iter()
            .map(|a| a.split_once('=').unwrap().1.parse().unwrap())
            .collect();
        for addr in &aux {
            assert!(
                subnet.contains(*addr),
                "aux address {addr} outside {subnet}"
            );
        }
        pool.iter()
            .filter(|a| {
                *a != subnet.network()
                    && *a != subnet.broadcast()
                    && *a != gateway
                    && !aux.contains(a)
            })
            .collect()
    }

    #[test]
    fn the_announcements_host() {
        let words = parsed(&net("250.0.28.0/24", 1));
        assert_eq!(&words[..3], ["docker", "network", "create"]);
        assert_eq!(words.last().unwrap(), "fan-250");
        assert_eq!(one(&words, "--driver"), Some("bridge"));
        assert_eq!(one(&words, "--subnet"), Some("250.0.28.0/24"));
        assert_eq!(one(&words, "--gateway"), Some("250.0.28.1"));
        // .2-.254 is what Docker gives out anyway.
        assert_eq!(one(&words, "--ip-range"), None);
        assert!(values(&words, "--aux-address").is_empty());
        assert_eq!(
            values(&words, "--opt"),
            [
                "com.docker.network.bridge.name=fan-250-0-28",
                "com.docker.network.driver.mtu=8981",
                "com.docker.network.bridge.enable_ip_masquerade=false",
                "com.docker.network.bridge.gateway_mode_ipv4=nat-unprotected",
            ]
        );
        // Every word is an option with its value, but the last.
        let mut rest = &words[3..words.len() - 1];
        while let [option, value, tail @ ..] = rest {
            assert!(option.starts_with("--"), "{option}");
            assert!(!value.starts_with('-'), "{option} {value}");
            rest = tail;
        }
        assert!(rest.is_empty());
        assert_eq!(
            network_create(&net("250.0.28.0/24", 1)).argv(),
            words[1..].to_vec()
        );
    }

    #[test]
    fn docker_hands_out_exactly_the_containers_range() {
        for (slice, reserves) in [
            (
                "250.0.28.0/24",
                &[0, 1, 2, 5, 64, 126, 127, 128, 200, 252, 253][..],
            ),
            ("10.7.0.0/16", &[1, 3, 300, 32766, 65532][..]),
            ("250.0.28.0/29", &[1, 2, 5][..]),
        ] {
            for &reserve in reserves {
                let net = net(slice, reserve);
                let words = parsed(&net);
                let want: Vec<Ipv4Addr> = (u32::from(net.containers.0)
                    ..=u32::from(net.containers.1))
                    .map(Ipv4Addr::from)
                    .collect();
                assert_eq!(allocatable(&words), want, "{slice} host-reserve {reserve}");
                if let Some(range) = one(&words, "--ip-range") {
                    let range: Ipv4Network = range.parse().unwrap();
                    assert!(
                        net.slice.contains(range.network()) && range.prefix() > net.slice.prefix()
                    );
                }
                // Only reserved addresses inside the pool are listed.
                let aux = values(&words, "--aux-address");
                assert!(aux.len() < reserve.max(1) as usize, "{slice} {reserve}");
            }
        }
    }

    #[test]
    fn reserve_128_of_a_24_is_the_upper_half() {
        let words = parsed(&net("250.0.28.0/24", 127));
        assert_eq!(one(&words, "--ip-range"), Some("250.0.28.128/25"));
        assert!(values(&words, "--aux-address").is_empty());
        let words = parsed(&net("250.0.28.0/24", 128));
        assert_eq!(one(&words, "--ip-range"), Some("250.0.28.128/25"));
        assert_eq!(values(&words, "--aux-address"), ["host-128=250.0.28.128"]);
        let words = parsed(&net("250.0.28.0/24", 3));
        assert_eq!(
            values(&words, "--aux-address"),
            ["host-2=250.0.28.2", "host-3=250.0.28.3"]
        );
    }

    #[test]
    fn odd_names_are_quoted() {
        for word in [
            "plain", "", "a b", "it's", "$HOME", "a\\b", "x;y", "\"q\"", "*", "a\nb", "~",
        ] {
            assert_eq!(
                shell_words(&format!("docker {}", quote(word))),
                ["docker", word],
                "{word:?}"
            );
        }
        assert_eq!(quote("fan-250-0-28"), "fan-250-0-28");
        assert_eq!(
            quote("com.docker.network.driver.mtu=8981"),
            "com.docker.network.driver.mtu=8981"
        );
        let mut n = net("250.0.28.0/24", 1);
        n.bridge = "br'x y".into();
        let words = parsed(&n);
        assert_eq!(
            values(&words, "--opt")[0],
            "com.docker.network.bridge.name=br'x y"
        );
    }
}
