//! The real binary in a real terminal (tmux): start a new song, enter notes, play, stop, save,
//! quit; then load the file and check its cells. Also: with no audio device the UI starts all the
//! same, says so, plays on a clock, and no audio-system chatter reaches the screen.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;
use common::tmux::{Tmux, available};
use ttrack::model::Note;

#[test]
fn new_song_notes_play_save_quit_reload() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let song = dir.path().join("first.ttrk");
    let state = dir.path().join("state");
    let bin = env!("CARGO_BIN_EXE_ttrack");
    // No sound card here: ALSA is pointed at a configuration without a usable default device.
    let conf = dir.path().join("asound.conf");
    std::fs::write(
        &conf,
        "pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n",
    )
    .unwrap();
    let alsa = format!("/usr/share/alsa/alsa.conf:{}", conf.display());
    let t = Tmux::start(
        "basic",
        80,
        24,
        &format!("{bin} {}", song.display()),
        &[
            ("XDG_STATE_HOME", state.to_str().unwrap()),
            ("ALSA_CONFIG_PATH", &alsa),
            ("HOME", dir.path().to_str().unwrap()),
        ],
    );
    let s = t.wait_for("first.ttrk", 10.0);
    assert!(s.contains("no audio device: silent"), "{s}");
    assert!(
        !s.contains("ALSA lib"),
        "audio-system chatter on the screen:\n{s}"
    );
    t.keys(&["Escape"]);
    t.wait_for("EDIT", 5.0);
    t.keys(&["z", "x", "c", "v"]);
    t.wait_for("F-4 01", 5.0);
    // Play on the clock: the position advances.
    t.keys(&["Space"]);
    t.wait_for("▶", 5.0);
    t.wait_for("row 0", 5.0);
    let before = t.screen();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let after = t.screen();
    assert_ne!(
        status_line(&before),
        status_line(&after),
        "the play position did not move"
    );
    t.keys(&["Space"]);
    t.wait_for("■", 5.0);
    t.keys(&["C-s"]);
    t.wait_for("saved", 5.0);
    t.keys(&["C-q"]);
    t.wait_for("[exit 0]", 5.0);
    let back = ttrack::format::load_song(&song).unwrap();
    let p = &back.patterns[0];
    let notes: Vec<Note> = (0..5).map(|r| p.note(0, r, 0).note).collect();
    let want: Vec<Note> = ["C-4", "D-4", "E-4", "F-4", "..."]
        .iter()
        .map(|n| Note::parse(n).unwrap())
        .collect();
    assert_eq!(notes, want);
    assert_eq!(p.note(0, 0, 0).instrument, 1);
}

fn status_line(screen: &str) -> String {
    screen.lines().next().unwrap_or_default().to_string()
}

#[test]
fn unsaved_changes_are_asked_about_and_the_terminal_is_restored() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let song = dir.path().join("ask.ttrk");
    let bin = env!("CARGO_BIN_EXE_ttrack");
    let t = Tmux::start(
        "ask",
        80,
        24,
        &format!("{bin} {} --device clock; echo after", song.display()),
        &[("XDG_STATE_HOME", dir.path().to_str().unwrap())],
    );
    t.wait_for("ask.ttrk", 10.0);
    // Escape alone: followed at once by a key, terminals read it as Alt plus that key.
    t.keys(&["Escape"]);
    t.wait_for("EDIT", 5.0);
    t.keys(&["z"]);
    t.wait_for("C-4 01", 5.0);
    t.keys(&["C-q"]);
    t.wait_for(
        "Save changes? y = save and quit, n = quit without saving, Esc = cancel",
        5.0,
    );
    t.keys(&["n"]);
    let s = t.wait_for("[exit 0]", 5.0);
    assert!(s.contains("after"), "{s}");
    assert!(!song.exists(), "quit without saving wrote the file");
}
