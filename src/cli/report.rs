//! `xinvoke report`: render the reports of a recorded run (`xinvoke load --record FILE`)
//! again. The statistics are rebuilt from the records, so the reports equal the original run's.

use crate::load::collect::read_recording;
use crate::load::report;
use std::path::PathBuf;

/// Render the reports of a run recorded with `xinvoke load --record FILE`.
///
/// Prints the text report; --json and --html write the other two. Exit code 0, or 2 when the
/// file cannot be read.
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
}

/// Run the command.
pub async fn run(args: ReportArgs) -> Result<u8, String> {
    let metrics = read_recording(&args.file).map_err(|e| e.to_string())?;
    let r = metrics.finish();
    print!("{}", report::text::render(&r));
    crate::cli::load::write_reports(&r, args.json.as_deref(), args.html.as_deref())?;
    Ok(0)
}
