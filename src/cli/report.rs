//! `xinvoke report`: render the reports of a recorded run (`xinvoke load --record FILE`)
//! again. The statistics are rebuilt from the records, so the reports equal the original run's.

use crate::cli::{CliError, Output};
use crate::load::collect::read_recording;
use crate::load::report;
use crate::load::stats::Report;
use std::path::{Path, PathBuf};

/// Render the reports of a run recorded with `xinvoke load --record FILE`.
///
/// Prints the text report (--output json: the JSON report instead); --json and --html write
/// the JSON and HTML reports to files. Exit code 0, or 2 when the file cannot be read.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// The NDJSON recording
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write the JSON report (schema xinvoke.load.v1) to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the HTML report to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// text: the text report on stdout; json: the JSON report (schema xinvoke.load.v1) on stdout
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Run the command.
pub async fn run(args: ReportArgs) -> Result<u8, CliError> {
    let r = read_recording(&args.file)?.finish();
    print_report(&r, args.output);
    write(&r, args.json.as_deref(), args.html.as_deref())?;
    Ok(0)
}

/// Print the report on stdout as `--output` says (of `load` and `report`).
pub fn print_report(r: &Report, output: Output) {
    match output {
        Output::Text => print!("{}", report::text::render(r)),
        Output::Json => println!("{}", report::json(r)),
    }
}

/// Write the `--json` and `--html` reports (of `load` and `report`).
pub fn write(r: &Report, json: Option<&Path>, html: Option<&Path>) -> Result<(), CliError> {
    let files = [
        ("--json", json, "JSON", report::json as fn(&Report) -> String),
        ("--html", html, "HTML", report::html::render),
    ];
    for (flag, path, kind, render) in files {
        let Some(path) = path else { continue };
        let mut text = render(r);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|source| CliError::File {
            flag,
            path: path.to_path_buf(),
            source,
        })?;
        eprintln!("wrote the {kind} report to {}", path.display());
    }
    Ok(())
}
