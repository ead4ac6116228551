//! `ttrack record-input`: records audio input into a take without the terminal UI (the test
//! harness of the real device path, and a quick recorder). Repairs the folder's takes first.

use crate::audio::{
    self, AudioHost, ChannelSelect, InputOptions, InputSource, JackInput, OpenOptions,
};
use crate::engine::{Engine, EngineSong};
use crate::model::Song;
use crate::record::{self, RecordOptions, Recorder, TakeFormat};
use anyhow::{Context, Result, anyhow};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

/// What `record-input` was asked to do.
pub struct RecordInputArgs {
    /// A song file (its `NAME.rec/` folder is used) or a folder.
    pub target: PathBuf,
    /// Input device (ALSA) or JACK ports to connect, by a part of the name.
    pub input: Option<String>,
    /// Device channels to record.
    pub channels: Option<ChannelSelect>,
    /// ALSA or JACK.
    pub host: AudioHost,
    /// Sample rate asked of the device.
    pub rate: Option<u32>,
    /// Frames per device buffer.
    pub buffer: Option<u32>,
    /// Record this long (seconds of input), else until Enter or the end of standard input.
    pub seconds: Option<f64>,
    /// Sample format of the take.
    pub format: TakeFormat,
}

/// The folder takes go to: `NAME.rec/` for a song file, else the path itself.
fn takes_dir(target: &Path) -> PathBuf {
    let name = target.to_string_lossy();
    if name.ends_with(".ttrk") || name.ends_with(".ttrk.toml") {
        record::recordings_dir(target)
    } else {
        target.to_path_buf()
    }
}

/// Opens the input: a cpal input stream, or ttrack's JACK client (a silent engine on its outputs)
/// with `in_1`/`in_2` connected to the ports of other clients named like `input`.
fn open_source(
    args: &RecordInputArgs,
) -> Result<(Box<dyn InputSource>, Option<audio::AudioOutput>)> {
    match args.host {
        AudioHost::Alsa => {
            let input = audio::open_input(&InputOptions {
                device: args.input.clone(),
                rate: args.rate,
                buffer_frames: args.buffer,
                channels: args.channels,
                ring_seconds: 4.0,
            })
            .context("cannot open the audio input (`ttrack devices` lists the inputs)")?;
            Ok((Box::new(input), None))
        }
        AudioHost::Jack => {
            let opts = OpenOptions {
                host: AudioHost::Jack,
                rate: args.rate,
                buffer_frames: args.buffer,
                ..OpenOptions::default()
            };
            let mut out = audio::open_output(&opts, |rate| {
                Engine::new(Box::new(EngineSong::from_model(&Song::new_default(), rate)))
            })
            .context("cannot open the JACK client")?;
            let audio::Backend::Jack(jack) = out.backend_mut() else {
                return Err(anyhow!("the JACK host opened another backend"));
            };
            let client = jack.client_name().to_string();
            if let Some(wanted) = &args.input {
                let connected = jack.connect_inputs(wanted)?;
                errln!("connected {}", connected.join(", "));
            }
            let capture = jack
                .take_input()
                .context("the JACK input capture was already taken")?;
            let select = args.channels.unwrap_or(ChannelSelect::Stereo(0, 1));
            let source = JackInput::new(capture, select, &client)?;
            Ok((Box::new(source), Some(out)))
        }
    }
}

fn db(peak: f32) -> String {
    if peak > 0.0 {
        format!("{:.1} dBFS", 20.0 * peak.log10())
    } else {
        String::from("-inf dBFS")
    }
}

/// Runs `ttrack record-input`.
pub fn run(args: RecordInputArgs) -> Result<()> {
    let dir = takes_dir(&args.target);
    let report = record::repair_takes(&dir)?;
    for r in &report.repaired {
        outln!("{r}");
    }
    for (path, why) in &report.unreadable {
        errln!("not a take, left alone: {} ({why})", path.display());
    }
    let (source, _jack) = open_source(&args)?;
    let rate = source.rate();
    let max_frames = args.seconds.map(|s| (s * f64::from(rate)).round() as u64);
    let select = source.select();
    let state = source.state().clone();
    let ([a, b], count) = select.indices();
    for ch in [a, b] {
        state.take_peak(ch);
    }
    let device = source.device().to_string();
    let opts = RecordOptions {
        format: args.format,
        max_frames,
        ..RecordOptions::default()
    };
    let recorder = Recorder::start(source, &dir, opts).map_err(|(_, e)| e)?;
    errln!(
        "recording {} from {device}, {select}, {rate} Hz, {}",
        recorder.path().display(),
        args.format.name()
    );
    // Without a length, Enter (or the end of standard input) stops.
    let enter = Arc::new(AtomicBool::new(false));
    if max_frames.is_none() {
        errln!("press Enter to stop");
        let flag = enter.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            flag.store(true, Relaxed);
        });
    }
    while !recorder.status().done() && !enter.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_source, take) = recorder.stop();
    let take = take?;
    outln!("take     {}", take.path.display());
    outln!(
        "frames   {} ({:.3} s, {} Hz, {} ch, {})",
        take.frames,
        take.seconds(),
        take.rate,
        take.channels,
        take.format.name()
    );
    outln!(
        "overruns {} ({} frames lost, {} filled with silence)",
        take.overruns,
        take.dropped_frames,
        take.silenced_frames
    );
    let peaks: Vec<String> = [a, b][..count].iter().map(|&c| db(state.peak(c))).collect();
    outln!("peak     {}", peaks.join(", "));
    Ok(())
}
