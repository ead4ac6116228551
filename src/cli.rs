//! The command line (layer 4): parses arguments with clap and dispatches to the library. Errors are
//! printed as a chain of causes and give exit status 1; nothing here panics on bad input.

use crate::audio::{self, AudioHost, OpenOptions, PlayLimit, StopRule};
use crate::engine::{self, Engine, EngineSong, PlayRange};
use crate::format;
use crate::model::{InstrumentKind, Song};
use crate::render::{self, Mastering, RenderOptions, SampleFormat};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `println!` that takes a closed output as the reader having seen enough (`ttrack info SONG |
/// head -3`): the rest goes nowhere, the command goes on (a render still writes its file) and
/// exits as it would. `println!` panics there: the runtime ignores SIGPIPE.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
/// `print!` as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
/// `eprintln!` as [`outln!`], on the error output.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod record_input;

/// ttrack: a keyboard-driven terminal tracker. Without a subcommand it opens SONG in the terminal
/// UI (a file that does not exist yet starts a new song saved there).
#[derive(Debug, Parser)]
#[command(name = "ttrack", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; none opens the terminal UI.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Song to open in the terminal UI (default: untitled.ttrk, new).
    pub song: Option<PathBuf>,
    /// Audio output device (a part of its name, see `ttrack devices`; `clock` for none).
    #[arg(long)]
    pub device: Option<String>,
    /// Sample rate in Hz (default: the device's own, 48000 where it can).
    #[arg(long)]
    pub rate: Option<u32>,
    /// Frames per audio period, asked of the device as a fixed size.
    #[arg(long)]
    pub buffer: Option<u32>,
    /// Audio system: alsa (through cpal; also reaches PulseAudio and PipeWire) or jack (one
    /// client named ttrack with audio ports and the MIDI input ttrack:midi_in).
    #[arg(long, value_name = "alsa|jack", default_value = "alsa", value_parser = parse_host)]
    pub audio_host: AudioHost,
    /// MIDI input to play and record from: a part of its name (see `ttrack devices`).
    #[arg(long, value_name = "NAME")]
    pub midi_in: Option<String>,
    /// Audio input to record from (Ctrl-R): a part of its name or id (see `ttrack devices`);
    /// with --audio-host jack, the JACK ports to connect to ttrack:in_1/in_2.
    #[arg(long, value_name = "NAME")]
    pub input: Option<String>,
    /// Input channels to record, counting from 1: one (mono, e.g. 1) or two (stereo, e.g. 1,2).
    #[arg(long, value_name = "N[,M]", value_parser = parse_channels)]
    pub input_channels: Option<audio::ChannelSelect>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a song to a WAV file (no audio device is opened).
    Render {
        /// Song file (.ttrk or .ttrk.toml).
        song: PathBuf,
        /// Output WAV file.
        #[arg(
            short,
            long,
            required_unless_present = "stems",
            conflicts_with = "stems"
        )]
        output: Option<PathBuf>,
        /// Write stems into this folder instead: one WAV per track (NN-Name.wav), one per send
        /// return, mix.wav (before the master chain) and master.wav, all the same length.
        #[arg(long, value_name = "DIR")]
        stems: Option<PathBuf>,
        /// Sample rate in Hz: 44100, 48000 or 96000.
        #[arg(long, default_value_t = 48_000, value_parser = parse_rate)]
        rate: u32,
        /// Sample format: s16 (TPDF-dithered), s24 or f32.
        #[arg(long, default_value = "s24", value_parser = parse_format)]
        format: SampleFormat,
        /// First order position to render.
        #[arg(long)]
        from: Option<usize>,
        /// Last order position to render (inclusive).
        #[arg(long)]
        to: Option<usize>,
        /// Normalise the integrated loudness (EBU R128) to this many LUFS, e.g. -14.
        #[arg(long, allow_hyphen_values = true, value_parser = parse_loudness)]
        loudness: Option<f32>,
        /// Keep the true peak under this many dBTP, e.g. -1 (a true-peak limiter; -1 by default
        /// when --loudness is given).
        #[arg(long = "true-peak", allow_hyphen_values = true, value_parser = parse_true_peak)]
        true_peak: Option<f32>,
        /// Mastering preset: streaming (-14 LUFS, -1 dBTP), club (-9 LUFS, -0.3 dBTP) or
        /// broadcast (-23 LUFS, -1 dBTP); --loudness and --true-peak override its values.
        #[arg(long, value_parser = parse_preset)]
        master: Option<Mastering>,
        /// How to print the report: text, or json (one JSON object on standard output).
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        report: String,
    },
    /// Play a song through an audio device (no TUI); stops at the song's end or after a limit.
    Play {
        /// Song file (.ttrk or .ttrk.toml).
        song: PathBuf,
        /// Output device: part of a name or id from `ttrack devices`; "clock" plays silently in
        /// real time without a device.
        #[arg(long)]
        device: Option<String>,
        /// Sample rate in Hz (default: the device's, 48000 where it can).
        #[arg(long, value_parser = parse_play_rate)]
        rate: Option<u32>,
        /// Frames per device buffer (default: the device's).
        #[arg(long, value_name = "FRAMES", value_parser = clap::value_parser!(u32).range(16..=65536))]
        buffer: Option<u32>,
        /// Stop after this many seconds.
        #[arg(long, conflicts_with = "frames", value_parser = parse_seconds)]
        seconds: Option<f64>,
        /// Stop after exactly this many frames.
        #[arg(long)]
        frames: Option<u64>,
        /// First order position to play.
        #[arg(long)]
        from: Option<usize>,
        /// Last order position to play (inclusive).
        #[arg(long)]
        to: Option<usize>,
        /// Audio system: alsa (through cpal) or jack (one client named ttrack with audio ports
        /// and the MIDI input ttrack:midi_in).
        #[arg(long, value_name = "alsa|jack", default_value = "alsa", value_parser = parse_host)]
        audio_host: AudioHost,
        /// MIDI input (a part of its name, see `ttrack devices`); its notes play instrument 01
        /// on track 1 and are printed with their song position.
        #[arg(long, value_name = "NAME")]
        midi_in: Option<String>,
    },
    /// Record audio input into a new take (take-NNN.wav) in a song's recordings folder
    /// (NAME.rec/ beside NAME.ttrk) or in a folder; takes left damaged by a killed recorder are
    /// repaired first.
    RecordInput {
        /// A song file (its NAME.rec/ folder is used) or a folder for the takes.
        target: PathBuf,
        /// Input device (a part of its name or id, see `ttrack devices`); with --audio-host jack,
        /// the JACK ports to connect to ttrack:in_1/in_2 (a part of their names).
        #[arg(long, value_name = "NAME")]
        input: Option<String>,
        /// Input channels to record, counting from 1: one (mono, e.g. 1) or two (stereo, e.g.
        /// 1,2). Default: the first two, or the only one.
        #[arg(long, value_name = "N[,M]", value_parser = parse_channels)]
        channels: Option<audio::ChannelSelect>,
        /// Audio system: alsa (through cpal) or jack (ttrack's client ports in_1, in_2).
        #[arg(long, value_name = "alsa|jack", default_value = "alsa", value_parser = parse_host)]
        audio_host: AudioHost,
        /// Sample rate in Hz (default: the device's, 48000 where it can).
        #[arg(long, value_parser = parse_play_rate)]
        rate: Option<u32>,
        /// Frames per device buffer (default: the device's).
        #[arg(long, value_name = "FRAMES", value_parser = clap::value_parser!(u32).range(16..=65536))]
        buffer: Option<u32>,
        /// Record this many seconds of input (default: until Enter).
        #[arg(long, value_parser = parse_seconds)]
        seconds: Option<f64>,
        /// Sample format of the take: s24 or f32.
        #[arg(long, default_value = "s24", value_parser = parse_take_format)]
        format: crate::record::TakeFormat,
    },
    /// List the audio output and input devices, the MIDI inputs and whether JACK runs.
    Devices,
    /// Print the default key bindings as a keys.toml to copy and edit.
    Keys,
    /// Print a song's title, tempo, tracks, patterns, instruments, order list and duration.
    Info {
        /// Song file.
        song: PathBuf,
    },
    /// Convert between the binary (.ttrk) and text (.ttrk.toml) song formats, losslessly; export
    /// a song as a Standard MIDI File (.mid), or import one into a song.
    Convert {
        /// Input song file, or a MIDI file (.mid, .midi) to import.
        input: PathBuf,
        /// Output file; the extension picks the format (.ttrk, .ttrk.toml, .mid).
        output: PathBuf,
        /// When importing MIDI: put notes on multiples of this many rows instead of their exact
        /// times (which use the delay column).
        #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u32).range(1..=64))]
        quantize: Option<u32>,
    },
}

fn parse_rate(s: &str) -> std::result::Result<u32, String> {
    match s.parse::<u32>() {
        Ok(r @ (44_100 | 48_000 | 96_000)) => Ok(r),
        _ => Err(format!(
            "'{s}' is not a supported rate; use 44100, 48000 or 96000"
        )),
    }
}

fn parse_play_rate(s: &str) -> std::result::Result<u32, String> {
    let (lo, hi) = crate::model::limits::RATE_RANGE;
    match s.parse::<u32>() {
        Ok(r) if (lo..=hi).contains(&r) => Ok(r),
        _ => Err(format!("'{s}' is not a sample rate in Hz ({lo}..={hi})")),
    }
}

fn parse_host(s: &str) -> std::result::Result<AudioHost, String> {
    AudioHost::from_name(s).ok_or_else(|| format!("'{s}' is not an audio host; use alsa or jack"))
}

fn parse_channels(s: &str) -> std::result::Result<audio::ChannelSelect, String> {
    audio::ChannelSelect::parse(s).ok_or_else(|| {
        format!("'{s}' is not a channel choice; use one channel (1) or two (1,2), counting from 1")
    })
}

fn parse_take_format(s: &str) -> std::result::Result<crate::record::TakeFormat, String> {
    crate::record::TakeFormat::from_name(s)
        .ok_or_else(|| format!("'{s}' is not a take format; use s24 or f32"))
}

fn parse_seconds(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

fn parse_db_in(s: &str, (lo, hi): (f32, f32), what: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(x),
        _ => Err(format!("'{s}' is not a {what} within {lo}..={hi}")),
    }
}

fn parse_loudness(s: &str) -> std::result::Result<f32, String> {
    parse_db_in(s, crate::render::master::LOUDNESS_RANGE, "loudness in LUFS")
}

fn parse_true_peak(s: &str) -> std::result::Result<f32, String> {
    parse_db_in(
        s,
        crate::render::master::TRUE_PEAK_RANGE,
        "true-peak ceiling in dBTP",
    )
}

fn parse_preset(s: &str) -> std::result::Result<Mastering, String> {
    Mastering::preset(s).ok_or_else(|| {
        format!(
            "'{s}' is not a mastering preset; use {}",
            Mastering::PRESETS.join(", ")
        )
    })
}

fn parse_format(s: &str) -> std::result::Result<SampleFormat, String> {
    SampleFormat::from_name(s)
        .ok_or_else(|| format!("'{s}' is not a sample format; use s16, s24 or f32"))
}

/// Entry point of the binary: returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            errln!("ttrack: {e}");
            for cause in e.chain().skip(1) {
                errln!("  because: {cause}");
            }
            1
        }
    }
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> Result<()> {
    let Some(command) = cli.command else {
        let path = cli.song.unwrap_or_else(|| PathBuf::from("untitled.ttrk"));
        let opts = OpenOptions {
            host: cli.audio_host,
            device: cli.device,
            rate: cli.rate,
            buffer_frames: cli.buffer,
            ..Default::default()
        };
        let input = audio::InputOptions {
            device: cli.input,
            channels: cli.input_channels,
            ring_seconds: 4.0,
            ..Default::default()
        };
        return Ok(crate::ui::run(path, opts, cli.midi_in, input)?);
    };
    match command {
        Command::Keys => {
            out!("{}", crate::ui::keymap::defaults_toml());
            Ok(())
        }
        Command::Render {
            song,
            output,
            rate,
            format,
            from,
            to,
            loudness,
            true_peak,
            master,
            report,
            stems,
        } => {
            let base = master.unwrap_or_default();
            let mastering = Mastering {
                loudness: loudness.or(base.loudness),
                true_peak: true_peak.or(base.true_peak),
            };
            let opts = RenderOptions { rate, from, to };
            match (output, stems) {
                (_, Some(dir)) => cmd_render(
                    &song,
                    RenderTarget::Stems(&dir),
                    opts,
                    format,
                    mastering,
                    report == "json",
                ),
                (Some(out), None) => cmd_render(
                    &song,
                    RenderTarget::File(&out),
                    opts,
                    format,
                    mastering,
                    report == "json",
                ),
                (None, None) => bail!("give -o FILE or --stems DIR"),
            }
        }
        Command::Play {
            song,
            device,
            rate,
            buffer,
            seconds,
            frames,
            from,
            to,
            audio_host,
            midi_in,
        } => {
            let limit = match (seconds, frames) {
                (Some(s), _) => Some(PlayLimit::Seconds(s)),
                (None, Some(n)) => Some(PlayLimit::Frames(n)),
                (None, None) => None,
            };
            let opts = OpenOptions {
                host: audio_host,
                device,
                rate,
                buffer_frames: buffer,
                stop: StopRule {
                    limit,
                    at_song_end: true,
                },
            };
            cmd_play(&song, opts, from, to, midi_in.as_deref())
        }
        Command::RecordInput {
            target,
            input,
            channels,
            audio_host,
            rate,
            buffer,
            seconds,
            format,
        } => record_input::run(record_input::RecordInputArgs {
            target,
            input,
            channels,
            host: audio_host,
            rate,
            buffer,
            seconds,
            format,
        }),
        Command::Devices => cmd_devices(),
        Command::Info { song } => cmd_info(&song),
        Command::Convert {
            input,
            output,
            quantize,
        } => cmd_convert(&input, &output, quantize),
    }
}

fn load(path: &std::path::Path) -> Result<Song> {
    format::load_song(path).with_context(|| format!("cannot open the song {}", path.display()))
}

/// Where a render goes.
enum RenderTarget<'a> {
    /// One WAV file.
    File(&'a std::path::Path),
    /// A folder of stems.
    Stems(&'a std::path::Path),
}

fn cmd_render(
    song_path: &std::path::Path,
    target: RenderTarget<'_>,
    opts: RenderOptions,
    fmt: SampleFormat,
    mastering: Mastering,
    json: bool,
) -> Result<()> {
    let song = load(song_path)?;
    let started = Instant::now();
    let what = match target {
        RenderTarget::File(out) => {
            format!("rendering {} to {}", song_path.display(), out.display())
        }
        RenderTarget::Stems(dir) => format!(
            "rendering the stems of {} into {}",
            song_path.display(),
            dir.display()
        ),
    };
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(1);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {percent:>3}% {elapsed} eta {eta}",
            )
            .map_err(|e| anyhow::anyhow!("progress bar template: {e}"))?
            .progress_chars("=> "),
        );
        b.set_message(what);
        Some(b)
    } else {
        errln!("{what}");
        None
    };
    let mut last_line = 0u64;
    let mut progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        } else {
            // Plain progress lines, one per ~10 % of the song.
            let step = (total / 10).max(1);
            if done / step > last_line {
                last_line = done / step;
                errln!("  {:>3}%", (done * 100 / total.max(1)).min(100));
            }
        }
    };
    let (files, frames, rate, l) = match target {
        RenderTarget::File(out) => {
            let r = render::render_mastered(&song, out, opts, fmt, mastering, &mut progress)
                .with_context(|| format!("cannot render to {}", out.display()))?;
            (vec![out.to_path_buf()], r.frames, r.rate, r.loudness)
        }
        RenderTarget::Stems(dir) => {
            let r = render::stems::render_stems(&song, dir, opts, fmt, mastering, &mut progress)
                .with_context(|| format!("cannot render stems into {}", dir.display()))?;
            (r.files, r.frames, r.rate, r.loudness)
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let took = started.elapsed().as_secs_f64();
    let secs = frames as f64 / rate as f64;
    if json {
        let mut v = serde_json::json!({
            "frames": frames,
            "rate": rate,
            "duration_s": secs,
            "integrated_lufs": l.integrated_lufs,
            "loudness_range_lu": l.range_lu,
            "sample_peak_dbfs": l.sample_peak_dbfs,
            "true_peak_dbtp": l.true_peak_dbtp,
            "gain_db": l.gain_db,
            "limiter_reduction_db": l.limiter_db,
            "target_lufs": mastering.loudness,
            "ceiling_dbtp": mastering.ceiling(),
            "time_s": took,
            "speed": secs / took.max(1e-9),
        });
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        match target {
            RenderTarget::File(_) => v["output"] = names[0].clone().into(),
            RenderTarget::Stems(_) => v["files"] = names.into(),
        }
        outln!("{v}");
        return Ok(());
    }
    for f in &files {
        outln!("wrote {}", f.display());
    }
    let db =
        |x: Option<f64>, unit: &str| x.map_or("-inf".to_string(), |v| format!("{v:.2} {unit}"));
    outln!("duration   {} ({frames} frames at {rate} Hz)", clock(secs));
    outln!("loudness   {}", db(l.integrated_lufs, "LUFS"));
    outln!("range      {}", db(l.range_lu, "LU"));
    outln!("peak       {}", db(l.sample_peak_dbfs, "dBFS"));
    outln!("true peak  {}", db(l.true_peak_dbtp, "dBTP"));
    if let Some(t) = mastering.loudness {
        outln!("gain       {:+.2} dB (target {t:.1} LUFS)", l.gain_db);
    }
    if let Some(c) = mastering.ceiling() {
        outln!(
            "limiter    ceiling {c:.1} dBTP, at most {:.2} dB of reduction",
            l.limiter_db
        );
    }
    outln!("time       {:.3} s", took);
    outln!("speed      {:.0}x real time", secs / took.max(1e-9));
    if l.sample_peak_dbfs.is_some_and(|p| p > 0.0) {
        outln!("warning    the mix clips (peak above 0 dBFS); lower instrument or track volumes");
    }
    Ok(())
}

/// How often the main thread looks at the stream while playing.
const PLAY_POLL: Duration = Duration::from_millis(10);
/// A stream whose callback has not run for this long is taken for dead.
const PLAY_STALL: Duration = Duration::from_secs(5);

fn cmd_play(
    song_path: &std::path::Path,
    opts: OpenOptions,
    from: Option<usize>,
    to: Option<usize>,
    midi_in: Option<&str>,
) -> Result<()> {
    let song = load(song_path)?;
    crate::model::validate(&song)
        .with_context(|| format!("cannot play {}", song_path.display()))?;
    let last = song.order.len().saturating_sub(1);
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(last));
    if from > to || to > last {
        bail!("order positions {from}..={to} are not within the song's order list (0..={last})");
    }
    let range = PlayRange {
        from,
        to,
        looping: false,
    };
    let mut handle = None;
    let make_engine = |rate: u32| {
        let (h, link) = engine::link();
        let mut engine = Engine::new(Box::new(EngineSong::from_model(&song, rate)));
        engine.connect(link);
        engine.play(range);
        handle = Some(h);
        engine
    };
    let out = audio::open_output(&opts, make_engine).context(
        "cannot open the audio output (`ttrack devices` lists the devices; --device clock plays \
         silently without one)",
    )?;
    let mut handle = handle.context("the engine was not built")?;
    let _midi_connection = match midi_in {
        Some(name) => connect_midi_in(&out, &mut handle, name)?,
        None => None,
    };
    if let audio::Backend::Jack(j) = out.backend() {
        errln!(
            "JACK client {}: ports {}, {}, {}, {}, {}",
            j.client_name(),
            j.port_name("out_1"),
            j.port_name("out_2"),
            j.port_name("in_1"),
            j.port_name("in_2"),
            j.port_name("midi_in")
        );
    }
    let info = out.info().clone();
    let stats = out.stats().clone();
    let buffer = info
        .buffer_frames
        .map_or_else(String::new, |n| format!(", {n}-frame buffers"));
    errln!(
        "playing {} on {} ({} Hz, {} ch, {}{buffer})",
        song_path.display(),
        info.device,
        info.rate,
        info.channels,
        info.sample_format
    );
    let started = Instant::now();
    let (mut last_callbacks, mut last_progress) = (0u64, Instant::now());
    let ended = loop {
        handle.pump();
        print_midi(&mut handle);
        let s = stats.snapshot();
        if s.finished {
            break Ok(());
        }
        if s.panicked {
            break Err(anyhow::anyhow!(
                "the audio engine failed (a bug); playback was silenced"
            ));
        }
        if let Some(fault) = s.fault {
            break Err(anyhow::anyhow!("{fault}"));
        }
        if s.callbacks != last_callbacks {
            (last_callbacks, last_progress) = (s.callbacks, Instant::now());
        } else if last_progress.elapsed() > PLAY_STALL {
            break Err(anyhow::anyhow!(
                "the audio device stopped asking for audio (no callback for {} s)",
                PLAY_STALL.as_secs()
            ));
        }
        std::thread::sleep(PLAY_POLL);
    };
    drop(out);
    handle.pump();
    print_midi(&mut handle);
    let took = started.elapsed().as_secs_f64();
    let s = stats.snapshot();
    outln!(
        "played     {} frames ({} at {} Hz)",
        s.frames,
        clock(s.frames as f64 / info.rate as f64),
        info.rate
    );
    outln!("xruns      {}", s.xruns);
    outln!(
        "load       max {:.1} % of the buffer time",
        s.max_load_percent
    );
    outln!("time       {took:.3} s");
    ended.context("playback stopped early")
}

/// Connects the MIDI input named like `name`: under JACK a MIDI port of another client (to
/// `ttrack:midi_in`), else an ALSA sequencer port through midir, whose ring goes to the engine.
fn connect_midi_in(
    out: &audio::AudioOutput,
    handle: &mut engine::EngineHandle,
    name: &str,
) -> Result<Option<crate::midi::MidiConnection>> {
    if let audio::Backend::Jack(j) = out.backend()
        && let Some(port) = j
            .connect_midi_source(name)
            .context("cannot open the MIDI input")?
    {
        errln!("MIDI input: {port} (JACK)");
        return Ok(None);
    }
    let (tx, rx) = engine::midi_ring();
    let c = crate::midi::connect(name, tx).context("cannot open the MIDI input")?;
    errln!("MIDI input: {}", c.port());
    handle.send(engine::Command::SetMidiInput(Some(Box::new(rx))));
    Ok(Some(c))
}

/// Prints each MIDI event the engine played, with the song position heard when it was played:
/// `midi note-on C-4 ch 1 vel 100 at order 00 row 05 delay 80 (frame 12345)`.
fn print_midi(handle: &mut engine::EngineHandle) {
    for r in handle.take_midi() {
        let what = match r.msg {
            engine::MidiMessage::NoteOn { key, velocity, .. } => {
                format!("note-on  {} vel {velocity:3}", key_name(key))
            }
            engine::MidiMessage::NoteOff { key, velocity, .. } => {
                format!("note-off {} vel {velocity:3}", key_name(key))
            }
            engine::MidiMessage::Sustain { down, .. } => {
                format!("sustain  {}", if down { "down" } else { "up" })
            }
        };
        let at = match r.at {
            Some(p) => format!(
                "at order {:02} row {:02} delay {:02X} ({} of {:.1} frames into the row)",
                p.order, p.row, p.delay, p.frames_into_row, p.row_frames
            ),
            None => String::from("while the song was not playing"),
        };
        outln!(
            "midi {what} ch {:2} {at} (frame {}, latency {})",
            r.msg.channel() + 1,
            r.frame,
            r.latency
        );
    }
}

/// A MIDI key in tracker notation (C-4 is 60), or its number outside C-0..B-9.
fn key_name(key: u8) -> String {
    crate::model::Note::from_midi(key).map_or_else(|| format!("#{key:<2}"), |n| n.to_string())
}

fn cmd_devices() -> Result<()> {
    let list = match audio::list_devices() {
        Ok(l) => l,
        Err(e) => {
            // MIDI and JACK may still work without the ALSA host: say so before failing.
            print_midi_and_jack();
            return Err(e).context("cannot list the audio devices");
        }
    };
    outln!("audio host: {}", list.host);
    for (title, devices) in [("outputs", &list.outputs), ("inputs", &list.inputs)] {
        outln!("{title}:");
        if devices.is_empty() {
            outln!("  (none)");
        }
        for d in devices {
            let mark = if d.is_default { "*" } else { " " };
            match &d.caps {
                Ok(c) => outln!(
                    "{mark} {}\n      default {} Hz, {} ch, {}; rates {}; up to {} ch",
                    d.label(),
                    c.default_rate,
                    c.default_channels,
                    c.default_format,
                    c.rates,
                    c.max_channels
                ),
                Err(why) => outln!("{mark} {}\n      cannot be opened: {why}", d.label()),
            }
        }
    }
    if list.outputs.is_empty() {
        outln!("no audio output devices found: `ttrack play --device clock` plays silently");
    } else if !list.outputs.iter().any(|d| d.is_default && d.caps.is_ok()) {
        outln!(
            "the default audio output cannot be opened: `ttrack play` needs --device NAME (from \
             the list above), or --device clock to play silently"
        );
    }
    print_midi_and_jack();
    Ok(())
}

/// The MIDI inputs (or why there are none) and whether a JACK server can be used.
fn print_midi_and_jack() {
    match crate::midi::list_inputs() {
        Ok(ports) if ports.is_empty() => outln!("MIDI inputs: (none)"),
        Ok(ports) => {
            outln!("MIDI inputs (--midi-in takes a part of a name):");
            for p in ports {
                outln!("  {p}");
            }
        }
        Err(e) => outln!("MIDI: {e}"),
    }
    match audio::jack::probe() {
        Ok(p) => {
            outln!(
                "JACK: a server runs at {} Hz with {}-frame periods; --audio-host jack uses it",
                p.rate,
                p.buffer_frames
            );
            let list = |v: &[String]| {
                if v.is_empty() {
                    String::from("none")
                } else {
                    v.join(", ")
                }
            };
            outln!("  playback ports: {}", list(&p.playback));
            outln!("  capture ports: {}", list(&p.capture));
            outln!(
                "  MIDI sources (connect one to ttrack:midi_in): {}",
                list(&p.midi_sources)
            );
        }
        Err(e) => outln!("JACK: {e}"),
    }
}

fn clock(secs: f64) -> String {
    let m = (secs / 60.0).floor();
    format!("{}:{:06.3}", m as u64, secs - m * 60.0)
}

fn cmd_info(path: &std::path::Path) -> Result<()> {
    let song = load(path)?;
    let es = EngineSong::from_model(&song, 48_000);
    let len = engine::song_length(&es, PlayRange::song(&es), 48_000);
    outln!("title        {}", song.title);
    if !song.author.is_empty() {
        outln!("author       {}", song.author);
    }
    outln!(
        "tempo        {} BPM, {} lines per beat, {} ticks per line",
        song.bpm,
        song.lpb,
        song.tpl
    );
    outln!("duration     {} ({} rows)", clock(len.seconds), len.rows);
    outln!("tracks       {}", song.tracks.len());
    for (i, t) in song.tracks.iter().enumerate() {
        outln!(
            "  {:02} {:<20} {} note, {} effect column{}{}{}",
            i + 1,
            t.name,
            t.note_columns,
            t.effect_columns,
            if t.effect_columns == 1 { "" } else { "s" },
            if t.mute { ", muted" } else { "" },
            strip_text(t.volume_db, t.pan, t.solo, &t.sends, &t.inserts, t.group)
        );
    }
    if !song.groups.is_empty() {
        outln!("groups       {}", song.groups.len());
        for (i, g) in song.groups.iter().enumerate() {
            outln!(
                "  G{} {:<20}{}{}",
                i + 1,
                g.name,
                if g.mute { " muted" } else { "" },
                strip_text(g.volume_db, g.pan, g.solo, &g.sends, &g.inserts, None)
            );
        }
    }
    let m = &song.mixer;
    let onoff = |on: bool| if on { "on" } else { "off" };
    outln!(
        "buses        reverb return {:.1} dB{} ({:.1} s), delay return {:.1} dB{} ({} {})",
        m.reverb.return_db,
        if m.reverb.mute { " muted" } else { "" },
        m.reverb.reverb.decay_s,
        m.delay.return_db,
        if m.delay.mute { " muted" } else { "" },
        m.delay.delay.time,
        match m.delay.delay.unit {
            crate::model::mix::DelayUnit::Rows => "rows",
            crate::model::mix::DelayUnit::Beats => "beats",
        }
    );
    outln!(
        "master       {:.1} dB, EQ {}, compressor {}, limiter {} ({:.1} dBTP)",
        m.master.volume_db,
        onoff(m.master.eq.on),
        onoff(m.master.compressor.on),
        onoff(m.master.limiter.on),
        m.master.limiter.ceiling_db
    );
    outln!("patterns     {}", song.patterns.len());
    for (i, p) in song.patterns.iter().enumerate() {
        let notes = p
            .tracks
            .iter()
            .flat_map(|t| &t.notes)
            .filter(|c| matches!(c.note, crate::model::Note::On(_)))
            .count();
        outln!(
            "  {:02} {:>3} rows, {:>4} notes{}",
            i,
            p.rows,
            notes,
            if p.name.is_empty() {
                String::new()
            } else {
                format!("  {}", p.name)
            }
        );
    }
    let used = song.instruments.iter().filter(|i| i.is_some()).count();
    outln!("instruments  {used}");
    for (i, inst) in song.instruments.iter().enumerate() {
        let Some(inst) = inst else { continue };
        let kind = match &inst.kind {
            InstrumentKind::Synth(s) => format!("synth {}/{}", s.osc1.name(), s.osc2.name()),
            InstrumentKind::Sampler(s) => format!(
                "sample {} frames, {} Hz, {} ch, {}-bit{}",
                s.sample.frames,
                s.sample.rate,
                s.sample.channels,
                s.sample.bits,
                if s.sample.float { " float" } else { "" }
            ),
        };
        outln!("  {:02X} {:<20} {}", i + 1, inst.name, kind);
    }
    let order: Vec<String> = song.order.iter().map(|p| format!("{p:02}")).collect();
    outln!(
        "order        {} (restart at {})",
        order.join(" "),
        song.restart
    );
    Ok(())
}

/// The non-default mix settings of a track or group strip, for `info` (", -3.0 dB, pan 0.20, …").
fn strip_text(
    volume_db: f32,
    pan: f32,
    solo: bool,
    sends: &[f32; 2],
    inserts: &[crate::model::mix::Insert],
    group: Option<u8>,
) -> String {
    let mut out = String::new();
    if volume_db != 0.0 {
        out += &format!(", {volume_db:.1} dB");
    }
    if pan != 0.0 {
        out += &format!(", pan {pan:.2}");
    }
    if solo {
        out += ", solo";
    }
    for (bus, &db) in ["reverb", "delay"].iter().zip(sends) {
        if db > crate::model::mix::OFF_DB {
            out += &format!(", {bus} send {db:.1} dB");
        }
    }
    if !inserts.is_empty() {
        let names: Vec<&str> = inserts.iter().map(|i| i.name()).collect();
        out += &format!(", inserts {}", names.join("+"));
    }
    if let Some(g) = group {
        out += &format!(", group G{}", g as u16 + 1);
    }
    out
}

fn is_midi(p: &std::path::Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}

fn cmd_convert(
    input: &std::path::Path,
    output: &std::path::Path,
    quantize: Option<u32>,
) -> Result<()> {
    if input == output {
        bail!("the input and output are the same file");
    }
    let song = if is_midi(input) {
        if is_midi(output) {
            bail!("both files are MIDI files; convert a MIDI file to a .ttrk or .ttrk.toml song");
        }
        let started = Instant::now();
        let song = format::midi::load(input, quantize)
            .with_context(|| format!("cannot import {}", input.display()))?;
        let notes = format::midi::note_times(&song).len();
        errln!(
            "imported {notes} notes into {} tracks and {} patterns in {:.1} ms",
            song.tracks.len(),
            song.patterns.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        song
    } else {
        if quantize.is_some() {
            bail!("--quantize applies to MIDI imports only");
        }
        load(input)?
    };
    if is_midi(output) {
        format::midi::save(&song, output)
            .with_context(|| format!("cannot write {}", output.display()))?;
    } else {
        format::save_song(&song, output)
            .with_context(|| format!("cannot write {}", output.display()))?;
    }
    outln!("wrote {}", output.display());
    Ok(())
}
