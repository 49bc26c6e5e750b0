//! Runs a parsed command line.

use std::{io, path::Path};

use anyhow::{bail, Context, Result};
use clap::CommandFactory;

use crate::{
    cli::{Cli, Command, DownTarget},
    config, down,
    fan::network,
    runtime,
    session::Session,
    show,
    state::State,
    up::{self, UpOptions},
};

pub fn run(cli: Cli) -> Result<()> {
    let paths = cli.global.paths();
    match cli.command {
        Command::Up(args) => {
            let spec = args.spec()?;
            let opts = UpOptions {
                no_fallback: args.no_fallback,
            };
            let mut session = Session::begin(&paths)?;
            match spec {
                Some(spec) => up::up(&mut session, &spec, opts),
                None => up_all(&mut session, &cli.global.config, opts),
            }
        }
        Command::Down(args) => {
            let target = args.target()?;
            let mut session = Session::begin(&paths)?;
            match target {
                DownTarget::Overlay(overlay) => {
                    down::down_overlay(&mut session, network(overlay), args.force)
                }
                DownTarget::Config => down_all(&mut session, &cli.global.config, args.force),
                DownTarget::Everything => down::down_everything(&mut session, args.force),
            }
        }
        Command::Show(args) => show::show(&State::load(&paths.state())?, args.json),
        Command::Docker(args) => runtime::docker(&paths, &args),
        Command::Cni(args) => runtime::cni(&paths, &args),
        Command::Lxd(args) => runtime::lxd(&paths, &args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "fanctl", &mut io::stdout());
            Ok(())
        }
        Command::Man { dir } => man(dir.as_deref()),
    }
}

/// Runs `each` for every enabled fan of the config file, going on past
/// failures, which are reported with their line numbers.
fn for_each_configured(
    session: &mut Session,
    config: &Path,
    mut each: impl FnMut(&mut Session, &config::ConfigLine) -> Result<()>,
) -> Result<()> {
    let lines = config::load(config)?;
    let mut failed = 0;
    for line in &lines {
        if let Err(e) = each(session, line) {
            eprintln!("fanctl: error: {}:{}: {e:#}", config.display(), line.line);
            failed += 1;
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} fans of {} failed",
            lines.len(),
            config.display()
        );
    }
    Ok(())
}

fn up_all(session: &mut Session, config: &Path, opts: UpOptions) -> Result<()> {
    for_each_configured(session, config, |s, line| up::up(s, &line.spec, opts))
}

fn down_all(session: &mut Session, config: &Path, force: bool) -> Result<()> {
    for_each_configured(session, config, |s, line| {
        down::down_overlay(s, network(line.spec.overlay), force)
    })
}

/// The man page (section 8, administration) on stdout, or one page per
/// command in `dir`.
fn man(dir: Option<&Path>) -> Result<()> {
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = dir else {
        return clap_mangen::Man::new(cmd)
            .section("8")
            .render(&mut io::stdout())
            .context("cannot write the man page");
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pages = std::iter::once(cmd.clone())
        .chain(cmd.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
    for page in pages {
        let path = clap_mangen::Man::new(page)
            .section("8")
            .generate_to(dir)
            .with_context(|| format!("cannot write a man page into {}", dir.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}
