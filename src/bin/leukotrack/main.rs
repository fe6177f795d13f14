//! The `leukotrack` command line: one file per command; the settings and their flags come
//! from the core (`leukotrack::pipeline::Overrides`, `leukotrack::synth::SynthOverrides`).

mod bars;
mod batch;
mod config;
mod eval;
mod info;
mod interact;
mod link;
mod metrics;
mod pipeline_args;
mod segment;
mod study;
mod synth;
mod track;
mod tune;
mod twin;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use leukotrack::pipeline::{overrides, settings};

/// Tracking of immune cells in two-photon intravital microscopy.
///
/// Units: positions and sizes in µm, times in seconds, speeds in µm/min. Voxel sizes are
/// always given as X,Y,Z in µm; channels and frames are numbered from 0. Precedence of
/// settings: a flag beats --config, which beats the default.
#[derive(Parser)]
#[command(name = "leukotrack", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Shape, pixel type and calibration of a recording (and where each value came from).
    Info(info::Args),
    /// Simulate a two-photon recording with ground truth (recording.tif, ground_truth.csv,
    /// drift.csv, debris.csv, synth.json).
    Synth(synth::Args),
    /// Score detections or tracks against ground truth (one-to-one matching per frame).
    Eval(eval::Args),
    /// Link detections into tracks (k-d tree candidates, global assignment, gap closing,
    /// motion prediction); writes OUTDIR/tracks.csv.
    Link(link::Args),
    /// Motility metrics of tracks (celltrackR's definitions): track_metrics.csv, steps.csv,
    /// msd.csv, autocorrelation.csv and metrics_summary.json in OUTDIR.
    Metrics(metrics::Args),
    /// Find the cells of every timepoint: writes OUTDIR/detections.csv (frame,x_um,y_um,z_um,
    /// volume_um3,mean_intensity,…), OUTDIR/segment.json (the settings used) and, with
    /// --labels, OUTDIR/labels.tif (one label image per timepoint).
    Segment(segment::Args),
    /// The whole pipeline on one recording: segment → drift → link → metrics → exports.
    /// Writes into OUTDIR: detections.csv, tracks.csv, track_metrics.csv, steps.csv,
    /// msd.csv, autocorrelation.csv, drift.csv, metrics_summary.json, qc.json, tracks.xml (TrackMate),
    /// plots/ (PNG and SVG), with --labels labels.tif, with --ctc the Cell Tracking Challenge
    /// format (res_track.txt, mask000.tif…), and summary.json last.
    Track(track::Args),
    /// The pipeline on every recording of a folder (recursively), a glob or a list of files:
    /// one results folder per recording plus OUTDIR/summary.csv. Resumable: a recording
    /// whose outputs are complete (same input, same settings) is skipped; a failing one is
    /// recorded and the batch goes on (exit status 1 at the end if any failed).
    Batch(batch::Args),
    /// The configuration: `--default` prints the full commented default file, `--schema` the
    /// table of every setting (JSON); otherwise prints the effective configuration of FILE
    /// (or the defaults) with the flags applied, as `track` would run it.
    Config(config::Args),
    /// A simulated twin of a recording, measured from the image and a first pass on it:
    /// DIR/twin.json (what was measured), DIR/recording.tif, DIR/ground_truth.csv,
    /// DIR/comparison.png.
    Twin(twin::Args),
    /// Search the main settings on the recording's twin (or against --truth): DIR/tune.csv,
    /// DIR/best.toml (for track --config), DIR/expected.json (its expected accuracy).
    Tune(tune::Args),
    /// Many recordings (or tracks files), mice and groups compared, the mouse as the unit:
    /// every recording analysed as batch does (resumable), then OUTDIR/tracks_all.csv,
    /// per_recording.csv, per_mouse.csv, comparisons.csv (one row per measure and group
    /// against the reference), curves.csv, plots/ and report.html.
    Study(study::Args),
    /// Interactions of existing tracks with partners of a recording (--partner
    /// NAME=CHANNEL:structure or NAME=mask:FILE): OUTDIR/interactions.csv (signed distance
    /// and gap per tracked cell), contacts.csv, track_metrics.csv with `<partner>_…` columns.
    Interact(interact::Args),
}

/// The command line, each setting flag's help ending in the configuration's default (from
/// the core's table, so it is never restated here).
fn command() -> clap::Command {
    let defaults: Vec<(String, String)> = settings::settings()
        .into_iter()
        .filter_map(|s| Some((s.default_text()?, s.flag?.trim_start_matches("--").to_string())))
        .collect();
    Cli::command().mut_subcommands(|sub| {
        // `synth` and `eval` have settings of their own (SynthConfig, EvalConfig).
        if matches!(sub.get_name(), "synth" | "eval") {
            return sub;
        }
        sub.mut_args(|arg| match defaults.iter().find(|(_, f)| arg.get_long() == Some(f)) {
            Some((d, _)) => {
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                arg.help(format!("{}. Default: {d}", help.trim_end_matches('.')))
            }
            None => arg,
        })
    })
}

fn main() -> ExitCode {
    let parsed = command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line, as every other error (clap's own adds a usage hint).
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!("leukotrack: error: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Info(a) => info::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Link(a) => link::run(a),
        Command::Metrics(a) => metrics::run(a),
        Command::Segment(a) => segment::run(a),
        Command::Track(a) => track::run(a),
        Command::Batch(a) => batch::run(a),
        Command::Config(a) => config::run(a),
        Command::Twin(a) => twin::run(a),
        Command::Tune(a) => tune::run(a),
        Command::Study(a) => study::run(a),
        Command::Interact(a) => interact::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leukotrack: error: {}", overrides::message_with_flag(&e));
            ExitCode::FAILURE
        }
    }
}
