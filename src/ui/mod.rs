//! The terminal UI (layer 3): an [`App`] edited by keys, drawn by pure view functions, with the
//! engine running on the audio thread (or on a clock when there is no device) and talking to the
//! UI only through the rings of [`crate::engine::link`].

pub mod app;
pub mod audio_rec;
pub mod commands;
pub mod edit;
pub mod instruments;
pub mod keymap;
pub mod matrix;
pub mod matrix_view;
pub mod meters;
pub mod mix_fx;
pub mod mixer;
pub mod mixer_view;
pub mod record;
pub mod takes;
pub mod terminal;
pub mod view;

pub use app::App;

use crate::audio::{self, OpenOptions};
use crate::engine::{self, Engine, EngineSong};
use crate::format;
use crate::model::Song;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// Why the UI could not start or ended badly.
#[derive(Debug, Error)]
pub enum UiError {
    /// stdin/stdout is not a terminal.
    #[error("ttrack needs a terminal; `ttrack render` works without one")]
    NotATerminal,
    /// The song could not be loaded.
    #[error(transparent)]
    Load(#[from] format::FormatError),
    /// The audio could not be started at all (not even on the clock).
    #[error("cannot start audio: {0}")]
    Audio(#[from] audio::AudioError),
    /// Terminal I/O failed.
    #[error("terminal error: {0}")]
    Io(#[from] std::io::Error),
}

/// Loads `path`, or starts a new song that will be saved there when it does not exist.
pub fn load_or_new(path: &Path) -> Result<(Song, bool), format::FormatError> {
    if path.exists() {
        Ok((format::load_song(path)?, false))
    } else {
        Ok((Song::new_default(), true))
    }
}

/// The user's keymap file: `$XDG_CONFIG_HOME/ttrack/keys.toml` (default `~/.config/...`).
pub fn keys_path() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("ttrack").join("keys.toml"))
}

/// Runs the UI on `path` until the user quits; `midi_in` names a MIDI input to play from (a part
/// of its name; under JACK any client can also connect to `ttrack:midi_in`).
pub fn run(
    path: PathBuf,
    opts: OpenOptions,
    midi_in: Option<String>,
    input: audio::InputOptions,
) -> Result<(), UiError> {
    if !terminal::is_terminal() {
        return Err(UiError::NotATerminal);
    }
    let (song, new) = load_or_new(&path)?;
    let mut app = App::new(song, Some(path.clone()));
    app.arec.options = input;
    if new {
        app.message = format!("new song; Ctrl-S saves it to {}", path.display());
    }
    if let Some(rec) = app::recovery_for(&path) {
        app.popups.push(app::Popup::Recover(rec));
    }
    if let Some(kp) = keys_path()
        && let Ok(text) = std::fs::read_to_string(&kp)
    {
        let errors = app.keymap.overlay(&text, &kp.display().to_string());
        if let Some(e) = errors.first() {
            app.message = format!(
                "{e} ({} problem(s) in the keymap; defaults kept)",
                errors.len()
            );
        }
    }
    // The audio system may print while it probes devices: from here on stderr goes to the log.
    let log = terminal::StderrToLog::start().ok();
    terminal::install_panic_hook();
    let log_path = log.as_ref().map(|l| l.path.clone());
    let output = start_audio(&mut app, &opts, log_path.as_deref())?;
    let midi = start_midi(&mut app, &output, midi_in.as_deref());
    // Audio takes cut short by a crash get their headers repaired now, and the user is told.
    match crate::record::repair_takes(&crate::record::recordings_dir(&path)) {
        Ok(r) if !r.repaired.is_empty() => {
            app.message = r
                .repaired
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
        }
        Ok(_) => {}
        Err(e) => app.message = format!("recordings: {e}"),
    }
    let result = event_loop(&mut app, output, midi, &opts, log_path.as_deref());
    let log_note = log
        .as_ref()
        .filter(|l| l.wrote_anything())
        .map(|l| l.path.clone());
    drop(log);
    if let Some(p) = log_note {
        eprintln!(
            "ttrack: messages from the audio system were written to {}",
            p.display()
        );
    }
    result
}

/// Opens the audio output (or the clock) with a fresh engine built from the app's song, and
/// connects the app to it.
fn start_audio(
    app: &mut App,
    opts: &OpenOptions,
    log: Option<&Path>,
) -> Result<audio::AudioOutput, UiError> {
    let mut handle = None;
    let song_for_engine = app.song.clone();
    let (output, why_silent) = audio::open_output_or_clock(opts, |rate| {
        let (h, link) = engine::link();
        let mut e = Engine::new(Box::new(EngineSong::from_model(&song_for_engine, rate)));
        e.connect(link);
        handle = Some(h);
        e
    })?;
    app.engine = handle;
    app.rate = output.rate();
    app.playing = false;
    let info = output.info().clone();
    app.audio.silent = why_silent.is_some() || info.backend == audio::BackendKind::Clock;
    app.audio.lost = false;
    app.audio.description = if app.audio.silent {
        "no audio device: silent".into()
    } else {
        let frames = info
            .buffer_frames
            .map_or(String::new(), |b| format!(" {b} frames"));
        format!("{} {} Hz{frames}", info.device, info.rate)
    };
    if let Some(why) = &why_silent {
        let details = log.map_or(String::new(), |l| format!(" Details: {}", l.display()));
        app.message = format!("no audio device ({why}); playing on a clock.{details}");
    }
    Ok(output)
}

/// Live MIDI input of the UI: the midir connection (if any) and what MIDI thru plays.
struct MidiLive {
    /// The port name asked for with `--midi-in`.
    wanted: Option<String>,
    /// The open connection; dropping it closes the port.
    connection: Option<crate::midi::MidiConnection>,
    /// (track, instrument slot) last sent as [`engine::Command::MidiThru`].
    thru: Option<(u8, u8)>,
    /// The connected port's name, watched so that unplugging it is noticed, and when it was
    /// last looked for.
    watched: Option<(String, std::time::Instant)>,
}

/// Connects the MIDI input named `wanted` to the app's engine: under JACK a MIDI port of another
/// client, else an ALSA sequencer port. A missing MIDI system or port is said in the message line;
/// the UI runs on without it.
fn start_midi(app: &mut App, output: &audio::AudioOutput, wanted: Option<&str>) -> MidiLive {
    let mut live = MidiLive {
        wanted: wanted.map(str::to_string),
        connection: None,
        thru: None,
        watched: None,
    };
    let Some(name) = wanted else {
        return live;
    };
    if let audio::Backend::Jack(j) = output.backend() {
        match j.connect_midi_source(name) {
            Ok(Some(port)) => {
                app.message = format!("MIDI input: {port} (JACK)");
                live.watched = Some((port, std::time::Instant::now()));
                return live;
            }
            Ok(None) => {}
            Err(e) => {
                app.message = format!("MIDI input unavailable: {e}");
                return live;
            }
        }
    }
    let (tx, rx) = engine::midi_ring();
    match crate::midi::connect(name, tx) {
        Ok(c) => {
            if let Some(h) = app.engine.as_mut() {
                h.send(engine::Command::SetMidiInput(Some(Box::new(rx))));
            }
            app.message = format!("MIDI input: {}", c.port());
            live.watched = Some((c.port().to_string(), std::time::Instant::now()));
            live.connection = Some(c);
        }
        Err(e) => app.message = format!("MIDI input unavailable: {e}"),
    }
    live
}

/// Once a second, looks whether the connected MIDI port still exists; when it is gone
/// (unplugged, its client quit) says so. Nothing recorded is lost: the pass goes on and ends as
/// usual, and F6 connects another input.
fn watch_midi(app: &mut App, live: &mut MidiLive, output: &audio::AudioOutput) {
    let Some((port, last)) = live.watched.as_mut() else {
        return;
    };
    if last.elapsed() < Duration::from_secs(1) {
        return;
    }
    *last = std::time::Instant::now();
    let present = match output.backend() {
        audio::Backend::Jack(j) => j.midi_sources().contains(port),
        _ => crate::midi::list_inputs().is_ok_and(|p| p.contains(port)),
    };
    if !present {
        app.message = format!(
            "MIDI input {port} is gone (unplugged?); everything recorded is kept; F6 connects another"
        );
        live.watched = None;
        live.connection = None;
    }
}

/// Opens the audio input: under JACK ttrack's own `in_1`/`in_2` (connected to the ports named
/// like `--input`, when given), else a cpal input stream at the output's rate.
fn open_input(
    output: &mut audio::AudioOutput,
    opts: &audio::InputOptions,
) -> Result<Box<dyn audio::InputSource>, String> {
    let rate = output.rate();
    if let audio::Backend::Jack(j) = output.backend_mut() {
        if let Some(wanted) = &opts.device {
            j.connect_inputs(wanted).map_err(|e| e.to_string())?;
        }
        let client = j.client_name().to_string();
        let capture = j
            .take_input()
            .ok_or_else(|| "the JACK input is already in use".to_string())?;
        let select = opts.channels.unwrap_or(audio::ChannelSelect::Stereo(0, 1));
        return audio::JackInput::new(capture, select, &client)
            .map(|i| Box::new(i) as Box<dyn audio::InputSource>)
            .map_err(|e| e.to_string());
    }
    let opts = audio::InputOptions {
        rate: opts.rate.or(Some(rate)),
        ring_seconds: opts.ring_seconds.max(audio::input::MIN_RING_SECONDS * 2.0),
        ..opts.clone()
    };
    audio::open_input(&opts)
        .map(|i| Box::new(i) as Box<dyn audio::InputSource>)
        .map_err(|e| e.to_string())
}

/// Keeps MIDI thru on the track under the cursor and the current instrument.
fn sync_midi_thru(app: &mut App, live: &mut MidiLive) {
    let want = (
        u8::try_from(app.cursor.track).unwrap_or(u8::MAX),
        app.instrument,
    );
    if live.thru != Some(want)
        && let Some(h) = app.engine.as_mut()
    {
        h.send(engine::Command::MidiThru {
            track: want.0,
            slot: want.1,
        });
        live.thru = Some(want);
    }
}

fn event_loop(
    app: &mut App,
    mut output: audio::AudioOutput,
    mut midi: MidiLive,
    opts: &OpenOptions,
    log: Option<&Path>,
) -> Result<(), UiError> {
    let mut term = ratatui::try_init()?;
    let _guard = terminal::TerminalGuard;
    let theme = view::Theme::detect();
    let panic_key = std::env::var_os("TTRACK_TEST_PANIC").is_some();
    let mut dirty_screen = true;
    while !app.quit {
        if dirty_screen {
            term.draw(|f| view::draw(f, app, &theme))?;
            dirty_screen = false;
        }
        // The mixer's meters move (and fall back) while the engine runs, playing or not.
        let timeout = if app.playing || app.view == app::View::Mixer {
            Duration::from_millis(33)
        } else {
            Duration::from_millis(250)
        };
        if event::poll(timeout)? {
            // Drain every pending event: SSH delivers keys in bursts.
            loop {
                match event::read()? {
                    Event::Key(k) if k.kind != KeyEventKind::Release => {
                        if let Some(chord) = keymap::KeyChord::from_event(&k) {
                            // A deliberate crash for the test that the terminal is restored
                            // after a panic (only with TTRACK_TEST_PANIC set).
                            if panic_key && chord.to_string() == "F12" {
                                panic!("TTRACK_TEST_PANIC: deliberate panic on F12");
                            }
                            app.handle_key(chord);
                        }
                    }
                    Event::Resize(..) => {}
                    _ => {}
                }
                dirty_screen = true;
                if app.quit || !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        }
        sync_midi_thru(app, &mut midi);
        watch_midi(app, &mut midi, &output);
        if app.pump() {
            dirty_screen = true;
        }
        let reports: Vec<_> = app
            .engine
            .as_mut()
            .map(|h| h.take_midi().collect())
            .unwrap_or_default();
        for r in &reports {
            app.record_midi(r);
        }
        app.record_tick();
        if let Some(l) = app.engine.as_mut().and_then(|h| h.take_located()) {
            app.audio_located(l);
        }
        if app.arec.open_request {
            app.arec.open_request = false;
            match open_input(&mut output, &app.arec.options) {
                Ok(source) => app.input_opened(source),
                Err(e) => app.input_failed(&e),
            }
        }
        app.audio_rec_tick();
        if !reports.is_empty() {
            dirty_screen = true;
        }
        let s = output.stats().snapshot();
        if !app.audio.silent {
            app.audio.load_percent = s.load_percent;
            app.audio.xruns = s.xruns;
        }
        if (s.fault.is_some() || s.panicked) && !app.audio.lost {
            // The UI holds the song, so nothing is lost: R builds a fresh engine and stream.
            app.audio.lost = true;
            app.audio.description = if s.panicked {
                "audio engine failed (silent), R to restart".into()
            } else {
                "audio device lost, R to reopen".into()
            };
            app.message = app.audio.description.clone();
            dirty_screen = true;
        }
        if app.devices_request {
            app.devices_request = false;
            let (ports, why_none) = match output.backend() {
                audio::Backend::Jack(j) => (j.midi_sources(), None),
                _ => match crate::midi::list_inputs() {
                    Ok(p) => (p, None),
                    Err(e) => (Vec::new(), Some(e.to_string())),
                },
            };
            app.popups.push(app::Popup::Devices(record::DevicesPanel {
                ports,
                why_none,
                cursor: 0,
            }));
            dirty_screen = true;
        }
        if let Some(name) = app.midi_request.take() {
            // Dropping the old connection closes its port; the new one replaces it.
            midi = start_midi(app, &output, Some(&name));
            dirty_screen = true;
        }
        if app.reopen_audio {
            app.reopen_audio = false;
            let position = app.engine.as_ref().map(|h| h.status().position);
            let was_playing = app.playing;
            app.input_closed();
            drop(output);
            drop(midi.connection.take());
            output = start_audio(app, opts, log)?;
            let wanted = midi.wanted.take();
            midi = start_midi(app, &output, wanted.as_deref());
            if was_playing && let Some(pos) = position {
                app.resume(pos.order, pos.row);
            }
            dirty_screen = true;
        }
        if app.playing {
            dirty_screen = true;
        }
        app.autosave_tick(std::time::Instant::now());
        if app.poll_render() {
            dirty_screen = true;
        }
    }
    app.wait_autosave();
    app.wait_render();
    drop(output);
    Ok(())
}
