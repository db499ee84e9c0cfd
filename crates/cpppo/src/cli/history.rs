//! `cpppo history ...`: the history-file tools.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use cpppo_history::jiff::tz::TimeZone;
use cpppo_history::{HistoryReader, Player, ReadOptions, Timestamp, Zones};

/// The history verbs.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Print history records in time order, optionally paced in real time.
    Cat(CatArgs),
}

/// `cpppo history cat`.
#[derive(Debug, Args)]
#[command(after_help = "\
Times are 'YYYY-mm-dd HH:MM:SS[.ffffff] [ZONE]'; ZONE is an IANA name (America/Edmonton), \
UTC or Z, an offset (+05:30, -0700), or an abbreviation (MST, MDT, CEST) of a --region zone. \
A time without ZONE is in the --tz zone (UTC by default).

Corrupt lines are reported on stderr (file:line: reason) and skipped.
Exit status: 0 ok, 1 some lines or files were skipped, 2 bad arguments or unreadable files.

Examples:
  cpppo history cat plant.hst plant.hst.*.gz
  cpppo history cat plant.hst* --tz America/Edmonton --since '2014-04-01 04:00:00 MDT'
  cpppo history cat day.hst.xz --since '2024-06-01 08:00:00' --speed 60")]
pub struct CatArgs {
    /// History files (plain, .gz, .bz2 or .xz), read together as one time-ordered stream.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print records at or after this time.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Stop before the first record at or after this time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Pace output at X times real time (10 = ten times faster); default: as fast as possible.
    #[arg(long, value_name = "X")]
    speed: Option<f64>,
    /// Print times in this zone, with its abbreviation (e.g. America/Edmonton, UTC, +05:30);
    /// default: UTC without a suffix, as in the files.
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Zones whose abbreviations TIME may use: IANA names or prefixes such as Canada or
    /// Europe (repeat or separate with commas). Default: the --tz zone.
    #[arg(long, value_name = "REGION", value_delimiter = ',')]
    region: Vec<String>,
    /// Sub-second digits printed (0-6).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=6))]
    digits: u8,
    /// More logging on stderr (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// Run one history verb.
pub fn run(cmd: HistoryCommand) -> ExitCode {
    match cmd {
        HistoryCommand::Cat(args) => {
            let _ = super::logging::init(args.verbose, None);
            let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
            ExitCode::from(cat(&args, &mut out, &mut io::stderr()))
        }
    }
}

/// The zone to print in (None: the files' UTC form) and the parser for --since/--until.
fn zones(args: &CatArgs) -> anyhow::Result<(Option<TimeZone>, Zones)> {
    let tz = args.tz.as_deref().map(Zones::zone).transpose()?;
    let mut zones = Zones::new(tz.clone().unwrap_or(TimeZone::UTC));
    let regions: Vec<&str> = if args.region.is_empty() {
        tz.as_ref()
            .and_then(TimeZone::iana_name)
            .into_iter()
            .collect()
    } else {
        args.region.iter().map(String::as_str).collect()
    };
    for region in regions {
        zones = zones.with_region(region)?;
    }
    Ok((tz, zones))
}

/// Run `cat`, printing to `out` and problems to `err`; returns the exit status.
fn cat(args: &CatArgs, out: &mut impl Write, err: &mut impl Write) -> u8 {
    match cat_records(args, out, err) {
        Ok(status) => status,
        Err(e) => {
            let _ = writeln!(err, "cpppo history cat: {e}");
            2
        }
    }
}

fn cat_records(args: &CatArgs, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<u8> {
    let (tz, zones) = zones(args)?;
    let parse = |t: &Option<String>| t.as_deref().map(|t| zones.parse(t)).transpose();
    let options = ReadOptions {
        since: parse(&args.since)?,
        until: parse(&args.until)?,
    };
    let reader = HistoryReader::open(&args.files, options)?;
    let player = Player::new(reader, args.speed, options.since)?;
    let paced = args.speed.is_some();
    let mut skipped = false;
    let mut line = String::with_capacity(256);
    for item in player {
        let entry = match item {
            Ok(entry) => entry,
            Err(e) => {
                skipped = true;
                let _ = out.flush();
                let _ = writeln!(err, "cpppo history cat: skipped {e}");
                continue;
            }
        };
        line.clear();
        render(&mut line, entry.record.time, tz.as_ref(), args.digits);
        entry.record.write_rest(&mut line);
        let written =
            out.write_all(line.as_bytes())
                .and_then(|()| if paced { out.flush() } else { Ok(()) });
        if let Err(e) = written {
            return closed(e);
        }
    }
    if let Err(e) = out.flush() {
        return closed(e);
    }
    Ok(u8::from(skipped))
}

fn render(out: &mut String, time: Timestamp, tz: Option<&TimeZone>, digits: u8) {
    match tz {
        None => time.write_utc(digits, out),
        Some(tz) => out.push_str(&time.render_in(tz, digits)),
    }
}

/// A closed pipe (`| head`) ends output quietly; other write errors are reported.
fn closed(e: io::Error) -> anyhow::Result<u8> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(0)
    } else {
        Err(anyhow::Error::new(e).context("writing output"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(flatten)]
        cat: CatArgs,
    }

    const SAMPLE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../history/tests/data/logger_sample.txt"
    );

    fn run_cat(extra: &[&str]) -> (u8, String, String) {
        let mut argv = vec!["cat", SAMPLE];
        argv.extend_from_slice(extra);
        let top = Top::try_parse_from(argv).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let status = cat(&top.cat, &mut out, &mut err);
        let text = |v: Vec<u8>| String::from_utf8(v).unwrap();
        (status, text(out), text(err))
    }

    #[test]
    fn prints_records_as_in_the_file() {
        let (status, out, err) = run_cat(&[]);
        assert_eq!((status, err.as_str()), (0, ""));
        let sample = std::fs::read_to_string(SAMPLE).unwrap();
        let records: String = sample.lines().skip(1).map(|l| format!("{l}\n")).collect();
        assert_eq!(out, records);
    }

    #[test]
    fn since_with_abbreviation_and_zone_rendering() {
        let (status, out, _) = run_cat(&[
            "--since",
            "2023-11-14 15:13:20.5 MST",
            "--region",
            "Canada",
            "--tz",
            "America/Edmonton",
        ]);
        assert_eq!(status, 0);
        let first = out.lines().next().unwrap();
        assert!(
            first.starts_with("2023-11-14 15:13:20.500 MST\t[\"SCADA\", [0, 5]]"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn bad_input_is_one_line_and_status_2() {
        for extra in [
            &["--since", "yesterday"][..],
            &["--tz", "Mars/Olympus"],
            &["--region", "Nowhere"],
            &["--speed", "0"],
            &[
                "--since",
                "2023-11-14 15:13:20 IST",
                "--region",
                "Asia/Kolkata,Europe/Dublin",
            ],
        ] {
            let (status, out, err) = run_cat(extra);
            assert_eq!(status, 2, "{extra:?}");
            assert!(out.is_empty());
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let top = Top::try_parse_from(["cat", "/nonexistent.hst"]).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(cat(&top.cat, &mut out, &mut err), 2);
        assert!(String::from_utf8(err).unwrap().contains("/nonexistent.hst"));
    }
}
