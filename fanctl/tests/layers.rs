//! fanctl's modules, and the kernel module's, in layers, each using only
//! those below it or beside it, with no cycle: read from the `crate::`
//! paths of the sources.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

type Layers = &'static [(&'static str, &'static [&'static str])];

/// fanctl's, lowest first.
const LAYERS: Layers = &[
    (
        "the words of a fan, where files and programs are, test hooks",
        &["spec", "config", "paths", "hooks"],
    ),
    (
        "planning: what to create, from the fan and the host's facts",
        &["host", "underlay", "fan", "plan"],
    ),
    (
        "kernel and program interfaces",
        &["netlink", "sysctl", "nat", "dhcp", "lock"],
    ),
    ("the record of what was made", &["resource", "state"]),
    (
        "the commands",
        &[
            "session", "tunnel", "down", "up", "show", "runtime", "cli", "commands",
        ],
    ),
];

/// The kernel module's (`kmod/`, its root `fan.rs` above them all),
/// lowest first.
const KMOD_LAYERS: Layers = &[
    ("pure logic, also built in userspace", &["fanmap"]),
    ("the bindings", &["sys", "bindings_generated"]),
    (
        "the thin layer over the kernel, where the unsafe code is",
        &["skb", "nla", "route", "tunnel", "pernet"],
    ),
    (
        "the module's logic: requests, transmit, receive, the link kind",
        &["netlink", "xmit", "rcv", "link"],
    ),
];

fn layer_of(layers: Layers, module: &str) -> Option<usize> {
    layers
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The module a source file belongs to: `netlink/route.rs` is `netlink`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str();
    Path::new(first)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules a text names through `crate::`, including each
/// of `crate::{a, b::{c, d}}`.
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.insert(ident(rest).to_string());
            continue;
        };
        let (mut depth, mut item_start) = (0, true);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if item_start && (c.is_alphanumeric() || c == '_') => {
                    out.insert(ident(&group[i..]).to_string());
                    item_start = false;
                }
                _ => {}
            }
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module -> the modules it uses, for every module of `dir` (relative to
/// fanctl's own directory) but the crate roots.
fn graph(dir: &str, roots: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        if roots.contains(&module.as_str()) {
            continue;
        }
        let used = uses(&fs::read_to_string(&file).unwrap());
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(used.into_iter().filter(|u| *u != module));
    }
    graph
}

#[test]
fn the_parser_reads_nested_use_groups() {
    let text = "use crate::{\n    fan::{prefix_of, Fan},\n    netlink::{self, link},\n    sysctl,\n};\nlet x = crate::down::take_down(s);";
    let found: Vec<String> = uses(text).into_iter().collect();
    assert_eq!(found, ["down", "fan", "netlink", "sysctl"]);
}

fn fanctl_graph() -> BTreeMap<String, BTreeSet<String>> {
    graph("src", &["lib", "main"])
}

fn kmod_graph() -> BTreeMap<String, BTreeSet<String>> {
    graph("../kmod", &["fan"])
}

#[test]
fn every_module_is_in_a_layer_and_uses_none_above_it() {
    let graph = fanctl_graph();
    assert!(graph.len() > 10, "found only {graph:?}");
    check_layers(LAYERS, &graph);
}

#[test]
fn every_kmod_module_is_in_a_layer_and_uses_none_above_it() {
    let graph = kmod_graph();
    assert!(graph.len() >= 10, "found only {graph:?}");
    check_layers(KMOD_LAYERS, &graph);
}

fn check_layers(layers: Layers, graph: &BTreeMap<String, BTreeSet<String>>) {
    let mut wrong = Vec::new();
    for (module, used) in graph {
        let Some(mine) = layer_of(layers, module) else {
            wrong.push(format!("{module} is in no layer of tests/layers.rs"));
            continue;
        };
        for other in used {
            match layer_of(layers, other) {
                Some(theirs) if theirs > mine => wrong.push(format!(
                    "{module} ({}) uses {other} ({}), a higher layer",
                    layers[mine].0, layers[theirs].0
                )),
                None => wrong.push(format!("{module} uses {other}, which is in no layer")),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_module_imports_itself_through_others() {
    check_acyclic(&fanctl_graph());
}

#[test]
fn no_kmod_module_imports_itself_through_others() {
    check_acyclic(&kmod_graph());
}

fn check_acyclic(graph: &BTreeMap<String, BTreeSet<String>>) {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_string());
            return Some(cycle);
        }
        if !done.insert(module.to_string()) {
            return None;
        }
        path.push(module.to_string());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}
