//! `xinvoke completions SHELL` and `xinvoke man`: generated from the clap definitions of this
//! build, so they always name the commands, flags and values it takes.

use crate::cli::{Cli, CliError};
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;
use std::path::PathBuf;

/// Print a completion script for SHELL to stdout.
///
/// bash: xinvoke completions bash > ~/.local/share/bash-completion/completions/xinvoke;
/// zsh: xinvoke completions zsh > "${fpath[1]}/_xinvoke";
/// fish: xinvoke completions fish > ~/.config/fish/completions/xinvoke.fish;
/// powershell: xinvoke completions powershell >> $PROFILE;
/// elvish: xinvoke completions elvish >> ~/.config/elvish/rc.elv.
/// Then start a new shell.
#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: Shell,
}

/// Print the manual page of xinvoke, or of one of its commands, as roff to stdout; or write
/// every page into a directory.
///
/// man <(xinvoke man) reads it at once; xinvoke man --dir ~/.local/share/man/man1 installs
/// xinvoke.1 and one page a command (xinvoke-invoke.1, xinvoke-local-token.1, ...), then
/// `man xinvoke-invoke` works.
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// The command whose page to print (e.g. invoke, or local token); the main page when absent
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Vec<String>,
    /// Write xinvoke.1 and every command's page into DIR instead (it must exist)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The command tree as the pages and scripts describe it: `help` is a flag, not a command.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Run `xinvoke completions`.
pub fn completions(args: CompletionsArgs) -> Result<u8, CliError> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "xinvoke", &mut out);
    write_stdout(&out)
}

/// Run `xinvoke man`.
pub fn man(args: ManArgs) -> Result<u8, CliError> {
    let root = command();
    if let Some(dir) = &args.dir {
        let n = write_pages(&root, dir).map_err(|source| CliError::File {
            flag: "--dir",
            path: dir.clone(),
            source,
        })?;
        eprintln!("wrote {n} manual pages to {} (man xinvoke)", dir.display());
        return Ok(0);
    }
    let mut page = &root;
    for name in &args.command {
        page = page.find_subcommand(name).ok_or_else(|| {
            let known: Vec<&str> = page.get_subcommands().map(|c| c.get_name()).collect();
            CliError::flag(
                "COMMAND",
                format!(
                    "{:?} is not a command of `{}`; one of: {}",
                    name,
                    page.get_display_name().unwrap_or(page.get_name()),
                    known.join(", ")
                ),
            )
        })?;
    }
    let mut out = Vec::new();
    page_of(page)
        .render(&mut out)
        .map_err(|e| CliError::flag("COMMAND", format!("the page could not be rendered: {e}")))?;
    write_stdout(&out)
}

/// The page of one command, its source naming this version (clap gives subcommands none).
fn page_of(cmd: &clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd.clone()).source(format!("xinvoke {}", env!("CARGO_PKG_VERSION")))
}

/// Write the page of `cmd` and of every command below it into `dir`; how many were written.
fn write_pages(cmd: &clap::Command, dir: &std::path::Path) -> std::io::Result<usize> {
    let mut n = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        n += write_pages(sub, dir)?;
    }
    page_of(cmd).generate_to(dir)?;
    Ok(n + 1)
}

/// Write the bytes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<u8, CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(CliError::flag("stdout", format!("cannot write: {e}"))),
    }
}
