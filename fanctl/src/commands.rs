//! Runs a parsed command line.

use std::{io, path::Path};

use anyhow::{bail, Context, Result};
use clap::CommandFactory;

use crate::{
    cli::{Cli, Command, DownTarget},
    config, down,
    fan::network,
    paths::Paths,
    runtime,
    session::Session,
    show,
    spec::FanSpec,
    state::State,
    up::{self, UpOptions},
};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Up(args) => {
            let spec = args.spec()?;
            let paths = args.paths();
            let opts = UpOptions {
                no_fallback: args.no_fallback,
            };
            let mut session = Session::begin(&paths)?;
            match spec {
                Some(spec) => up::up(&mut session, &spec, opts),
                None => up_all(&mut session, &args.config.config, opts),
            }
        }
        Command::Down(args) => {
            let target = args.target()?;
            let paths = args.paths();
            let mut session = Session::begin(&paths)?;
            match target {
                DownTarget::Overlay(overlay) => {
                    down::down_overlay(&mut session, network(overlay), args.force)
                }
                DownTarget::Auto => down::down_auto(&mut session, args.force),
                DownTarget::Everything => down::down_everything(&mut session, args.force),
            }
        }
        Command::Show(args) => {
            let state = State::load(&Paths::in_run_dir(&args.run_dir).state())?;
            show::show(&state, args.json)
        }
        Command::Docker(args) => runtime::docker(&args),
        Command::Cni(args) => runtime::cni(&args),
        Command::Lxd(args) => runtime::lxd(&args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "fanctl", &mut io::stdout());
            Ok(())
        }
        Command::Man { dir } => man(dir.as_deref()),
    }
}

/// `up -a`: every enabled line of the config file, in order, each fan
/// marked `auto`. A bad line or a failed fan is named by its line and does
/// not stop the others; the run fails at the end if any did.
fn up_all(session: &mut Session, config: &Path, opts: UpOptions) -> Result<()> {
    let lines = config::load(config)?;
    let mut failed = 0;
    for line in &lines {
        let result = match &line.fan {
            Ok(spec) => up::up(
                session,
                &FanSpec {
                    auto: true,
                    ..spec.clone()
                },
                opts,
            ),
            Err(e) => Err(e.clone().into()),
        };
        if let Err(e) = result {
            eprintln!("fanctl: error: {}:{}: {e:#}", config.display(), line.line);
            failed += 1;
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} lines of {} failed",
            lines.len(),
            config.display()
        );
    }
    Ok(())
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
