//! Hostile and broken input: every loader must answer with a clear error (checked by message,
//! line and column), never panic, and never allocate from a size it has not checked (measured
//! with a global allocator that records the largest single allocation on each thread).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use ttrack::format::{binary, text, wav};
use ttrack::model::{
    EffectCell, Instrument, InstrumentKind, Note, NoteCell, Pattern, SampleData, Sampler, Song,
    Synth, Track,
};

/// Records, per thread, the largest allocation requested.
struct PeakAlloc;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note_size(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the bookkeeping
// touches only a const-initialised thread-local `Cell<usize>`, which never allocates.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_size(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_size(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_size(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// Runs `f` and returns its result, the largest allocation it made and how long it took.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    LARGEST.with(|l| l.set(0));
    let start = Instant::now();
    let out = f();
    (out, LARGEST.with(|l| l.get()), start.elapsed())
}

const MIB: usize = 1 << 20;

/// A small song with a synth and a sampler whose three values are easy to find in the payload.
const MARKERS: [f32; 3] = [0.123_456_79, -0.987_654_3, 0.555_555_6];

fn small_song() -> Song {
    let tracks = vec![Track::new("A")];
    let mut pattern = Pattern::new(4, &tracks);
    *pattern.note_mut(0, 0, 0) = NoteCell::note(Note::On(48), 1);
    *pattern.effect_mut(0, 1, 0) = EffectCell::new('A', 0x0F);
    let sample = SampleData::mono("MARK", 44_100, MARKERS.to_vec());
    Song {
        title: "MARKERTITLE".into(),
        author: String::new(),
        bpm: 125,
        lpb: 4,
        tpl: 6,
        tracks,
        patterns: vec![pattern],
        order: vec![0],
        restart: 0,
        instruments: vec![
            Some(Instrument {
                name: "s".into(),
                volume: 1.0,
                pan: 0.0,
                kind: InstrumentKind::Synth(Synth::default()),
            }),
            Some(Instrument {
                name: "k".into(),
                volume: 1.0,
                pan: 0.0,
                kind: InstrumentKind::Sampler(Sampler::new(Arc::new(sample))),
            }),
        ],
        seed: 1,
        mixer: Default::default(),
        groups: Vec::new(),
        arrangement: Default::default(),
        takes: Vec::new(),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("the marker bytes are in the payload")
}

// ------------------------------------------------------------------------------------------------
// Binary files
// ------------------------------------------------------------------------------------------------

#[test]
fn a_file_cut_at_every_byte_is_an_error() {
    let bytes = binary::encode(&small_song());
    assert!(binary::decode(&bytes).is_ok());
    for cut in 0..bytes.len() {
        let (result, largest, _) = measure(|| binary::decode(&bytes[..cut]));
        let e = result.expect_err("a cut file must not load").to_string();
        assert!(e.contains("truncated"), "cut at {cut}: {e}");
        assert!(largest < MIB, "cut at {cut} allocated {largest} bytes");
    }
}

#[test]
fn every_single_byte_flip_is_an_error() {
    let bytes = binary::encode(&small_song());
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            assert!(
                binary::decode(&bad).is_err(),
                "flipping byte {i} with {mask:#04x} went unnoticed"
            );
        }
    }
    let mut bad = bytes.clone();
    bad[25] ^= 0x10;
    let e = binary::decode(&bad).unwrap_err().to_string();
    assert!(e.contains("damaged (checksum mismatch"), "{e}");
}

#[test]
fn corrupt_payloads_with_a_valid_checksum_never_panic_or_balloon() {
    let payload = binary::encode(&small_song())[binary::HEADER_LEN..].to_vec();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut bad = payload.clone();
        for _ in 0..1 + round % 4 {
            let at = (next() % bad.len() as u64) as usize;
            bad[at] = next() as u8;
        }
        let file = binary::encode_payload_raw(&bad);
        let (result, largest, _) = measure(|| binary::decode(&file));
        assert!(largest < 4 * MIB, "round {round} allocated {largest} bytes");
        if let Ok(song) = result {
            assert_eq!(ttrack::model::validate(&song), Ok(()));
        }
    }
}

#[test]
fn wrong_magic_and_newer_versions_are_named() {
    let bytes = binary::encode(&small_song());
    let mut riff = bytes.clone();
    riff[..4].copy_from_slice(b"RIFF");
    assert_eq!(
        binary::decode(&riff).unwrap_err().to_string(),
        "this is not a ttrack song file (it does not start with \"TTRK\")"
    );
    let mut newer = bytes.clone();
    newer[4..6].copy_from_slice(&7u16.to_le_bytes());
    let e = binary::decode(&newer).unwrap_err().to_string();
    assert!(
        e.contains("written by a newer ttrack, format 7; this one reads up to 4"),
        "{e}"
    );
    let mut longer = bytes.clone();
    longer[8..16].copy_from_slice(&(u64::MAX).to_le_bytes());
    let e = binary::decode(&longer).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "header says {} bytes of song data, only",
            u64::MAX
        )),
        "{e}"
    );
}

#[test]
fn a_four_billion_row_pattern_is_refused_by_validation() {
    let mut song = small_song();
    song.patterns[0].rows = 4_000_000_000;
    let bytes = binary::encode(&song);
    let (result, largest, _) = measure(|| binary::decode(&bytes));
    let e = result.unwrap_err().to_string();
    assert!(e.contains("4000000000") && e.contains("512"), "{e}");
    assert!(largest < MIB, "allocated {largest} bytes");
}

#[test]
fn a_sample_announcing_100_gb_is_refused_without_allocating_it() {
    let bytes = binary::encode(&small_song());
    let payload = &bytes[binary::HEADER_LEN..];
    // The sample's values are one byte string (12 bytes, then the first marker).
    let mut needle = vec![0x0Cu8];
    needle.extend_from_slice(&MARKERS[0].to_le_bytes());
    let at = find(payload, &needle);
    let mut forged = payload[..at].to_vec();
    forged.push(0xFD);
    forged.extend_from_slice(&100_000_000_000u64.to_le_bytes());
    forged.extend_from_slice(&payload[at + 1..]);
    let file = binary::encode_payload_raw(&forged);
    let (result, largest, took) = measure(|| binary::decode(&file));
    let e = result.unwrap_err().to_string();
    assert!(e.contains("larger than the whole file could hold"), "{e}");
    assert!(largest < MIB, "allocated {largest} bytes");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn a_title_announcing_a_terabyte_is_refused_without_allocating_it() {
    let bytes = binary::encode(&small_song());
    let payload = &bytes[binary::HEADER_LEN..];
    let at = find(payload, b"\x0BMARKERTITLE");
    let mut forged = payload[..at].to_vec();
    forged.push(0xFD);
    forged.extend_from_slice(&(1u64 << 40).to_le_bytes());
    forged.extend_from_slice(&payload[at + 1..]);
    let (result, largest, _) = measure(|| binary::decode(&binary::encode_payload_raw(&forged)));
    let e = result.unwrap_err().to_string();
    assert!(e.contains("cannot be decoded"), "{e}");
    assert!(largest < MIB, "allocated {largest} bytes");
}

#[test]
fn oversized_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.ttrk");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(binary::MAX_FILE_BYTES + 1).unwrap();
    let (result, largest, _) = measure(|| binary::load(&p));
    let e = result.unwrap_err().to_string();
    assert!(
        e.contains(&format!("{}", binary::MAX_FILE_BYTES + 1)),
        "{e}"
    );
    assert!(largest < MIB, "allocated {largest} bytes");
}

// ------------------------------------------------------------------------------------------------
// Text files
// ------------------------------------------------------------------------------------------------

/// A fixture with known line numbers (the data rows are lines 16-19).
const FIXTURE: &str = r#"ttrack = 1
bpm = 120
order = [0]

[[track]]
name = "A"

[[track]]
name = "B"
note_columns = 2

[[pattern]]
index = 0
rows = 4
data = """
00 | C-4 01 40 A0F | ... .. .. ... .. .. ...
01 | ... .. .. ... | D#5 02 .. ... .. .. ...
02 | OFF .. .. ... | ... .. .. ... .. .. ...
03 | ... .. .. ... | ... .. .. ... .. .. C10
"""
"#;

/// Parses `FIXTURE` with `from` replaced by `to` and returns the error.
fn text_error(from: &str, to: &str) -> text::TextError {
    assert!(FIXTURE.contains(from), "fixture lacks {from:?}");
    let t = FIXTURE.replacen(from, to, 1);
    text::parse(&t, Path::new(".")).expect_err("the edited fixture must not parse")
}

fn assert_at(e: &text::TextError, line: usize, column: usize, words: &str) {
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert!(e.message.contains(words), "{e} (want {words:?})");
}

#[test]
fn the_fixture_itself_is_valid() {
    let song = text::parse(FIXTURE, Path::new(".")).unwrap();
    assert_eq!(
        song.patterns[0].note(1, 1, 0),
        NoteCell {
            note: Note::On(63),
            instrument: 2,
            volume: 0xFF,
            delay: 0
        }
    );
    assert_eq!(song.patterns[0].effect(1, 3, 0), EffectCell::new('C', 0x10));
}

#[test]
fn a_bad_note_is_placed() {
    assert_at(&text_error("D#5", "H-5"), 17, 22, "`H-5` is not a note");
    assert_at(&text_error("C-4", "C-X"), 16, 6, "not a note");
}

#[test]
fn bad_hex_is_placed() {
    assert_at(
        &text_error("C-4 01", "C-4 0G"),
        16,
        10,
        "`0G` is not an instrument",
    );
    assert_at(
        &text_error("01 40", "01 41"),
        16,
        13,
        "volume 41 is above 40",
    );
    assert_at(
        &text_error("D#5 02", "D#5 00"),
        17,
        26,
        "instrument 00 does not exist",
    );
    assert_at(
        &text_error(".. C10", ".. c1g"),
        19,
        42,
        "`c1g` is not an effect",
    );
}

#[test]
fn a_wrong_field_count_is_placed() {
    // One field short in track B: the error points where the missing field should be.
    assert_at(
        &text_error(
            "02 | OFF .. .. ... | ... .. .. ... .. .. ...",
            "02 | OFF .. .. ... | ... .. .. ... .. ..",
        ),
        18,
        41,
        "has 6 fields; it needs 7",
    );
    // Two extra fields in track A: the error points at the first field past the longest layout.
    assert_at(
        &text_error("C-4 01 40 A0F", "C-4 01 40 A0F B01 B02"),
        16,
        24,
        "has 6 fields",
    );
    // One extra field reads as the layout with delays, and the delay field is then wrong.
    assert_at(
        &text_error("C-4 01 40 A0F", "C-4 01 40 A0F B01"),
        16,
        16,
        "`A0F` is not a delay",
    );
    // A missing `|` between tracks.
    assert_at(
        &text_error("01 | ... .. .. ... | D#5", "01 | ... .. .. ...   D#5"),
        17,
        1,
        "row 1 has 2 parts",
    );
}

#[test]
fn a_missing_row_is_placed_at_the_end_of_the_data() {
    assert_at(
        &text_error("03 | ... .. .. ... | ... .. .. ... .. .. C10\n", ""),
        19,
        1,
        "row 3 is missing",
    );
    assert_at(
        &text_error(
            "03 | ... .. .. ... | ... .. .. ... .. .. C10\n",
            "03 | ... .. .. ... | ... .. .. ... .. .. C10\n04 | ... .. .. ... | ... .. .. ... .. .. ...\n",
        ),
        20,
        1,
        "more than `rows = 4`",
    );
    assert_at(
        &text_error("02 | OFF", "05 | OFF"),
        18,
        1,
        "row number 05 should be 2",
    );
}

#[test]
fn unknown_keys_are_named_and_placed() {
    let e = text_error("name = \"A\"\n", "name = \"A\"\nvolume = 3\n");
    assert_at(&e, 7, 1, "unknown key `volume` in a [[track]] table");
    assert!(
        e.message.contains("volume_db"),
        "the message lists the known keys: {e}"
    );
    assert_at(
        &text_error("bpm = 120", "bpm = 120\ntempo = 3"),
        3,
        1,
        "unknown key `tempo` in the top level",
    );
}

#[test]
fn toml_and_value_errors_are_placed() {
    assert_at(&text_error("bpm = 120", "bpm = "), 2, 7, "");
    assert_at(
        &text_error("bpm = 120", "bpm = 5000"),
        2,
        7,
        "`bpm` is 5000; it must be within 20..=999",
    );
    assert_at(
        &text_error("bpm = 120", "bpm = \"fast\""),
        2,
        7,
        "`bpm` must be an integer, not a string",
    );
    assert_at(
        &text_error("ttrack = 1", "ttrack = 3"),
        1,
        10,
        "newer ttrack, text format 3; this one reads up to 2",
    );
    assert_at(
        &text_error("order = [0]", "order = [0, 3]"),
        3,
        13,
        "names pattern 3",
    );
    assert_at(
        &text_error("rows = 4", "rows = 600"),
        14,
        8,
        "within 1..=512",
    );
    assert_at(
        &text_error("note_columns = 2", "note_columns = 9"),
        10,
        16,
        "within 1..=8",
    );
    let e = text::parse("title = \"x\"\n", Path::new(".")).unwrap_err();
    assert_at(&e, 1, 1, "`ttrack = 1` line is missing");
}

#[test]
fn instrument_errors_are_placed() {
    let with_inst = |body: &str| {
        FIXTURE.replacen(
            "[[pattern]]",
            &format!("[[instrument]]\n{body}\n[[pattern]]"),
            1,
        )
    };
    // The [[instrument]] header is on line 12.
    let e = text::parse(
        &with_inst("slot = 1\ntype = \"synth\"\nvolume = 3.5"),
        Path::new("."),
    )
    .unwrap_err();
    assert_at(
        &e,
        12,
        1,
        "instrument 01's volume is 3.5; it must be within 0..=2",
    );
    let e = text::parse(
        &with_inst("slot = 1\ntype = \"synth\"\nosc1 = \"square\""),
        Path::new("."),
    )
    .unwrap_err();
    assert_at(&e, 15, 8, "`square` is not a waveform");
    let e = text::parse(
        &with_inst("slot = 1\ntype = \"sampler\"\nsample = \"nope.wav\""),
        Path::new("."),
    )
    .unwrap_err();
    assert_at(&e, 15, 10, "cannot load the sample \"nope.wav\"");
    let e = text::parse(
        &with_inst("slot = 1\ntype = \"sampler\"\nsample = \"x.wav\"\ncutoff_hz = 3.0"),
        Path::new("."),
    )
    .unwrap_err();
    assert_at(
        &e,
        16,
        1,
        "unknown key `cutoff_hz` in a sampler [[instrument]] table",
    );
    let e = text::parse(&with_inst("slot = 1\ntype = \"drum\""), Path::new(".")).unwrap_err();
    assert_at(&e, 14, 8, "instrument type `drum` is unknown");
    let e = text::parse(
        &with_inst("slot = 1\ntype = \"synth\"\namp = { attack = 3 }"),
        Path::new("."),
    )
    .unwrap_err();
    assert_at(&e, 15, 9, "unknown key `attack` in `amp`");
}

#[test]
fn text_cut_anywhere_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let full = text::to_text(&small_song(), &dir.path().join("cut.ttrk.toml")).unwrap();
    assert!(text::parse(&full, dir.path()).is_ok());
    let mut errors = 0;
    for (cut, _) in full.char_indices() {
        if text::parse(&full[..cut], dir.path()).is_err() {
            errors += 1;
        }
    }
    assert!(
        errors > full.len() * 9 / 10,
        "only {errors} of {} cuts failed",
        full.len()
    );
}

// ------------------------------------------------------------------------------------------------
// WAV files
// ------------------------------------------------------------------------------------------------

fn wav_header(channels: u16, rate: u32, bits: u16, data_len: u32) -> Vec<u8> {
    let block_align = channels.wrapping_mul(bits / 8);
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&36u32.wrapping_add(data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&rate.wrapping_mul(block_align as u32).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

fn good_wav() -> Vec<u8> {
    let mut w = wav_header(2, 44_100, 24, 6 * 4);
    w.extend((0..24u8).map(|i| i.wrapping_mul(37)));
    w
}

#[test]
fn the_hand_made_wav_is_valid() {
    let s = wav::read_wav_from(Cursor::new(good_wav()), "good.wav").unwrap();
    assert_eq!((s.channels, s.bits, s.frames, s.rate), (2, 24, 4, 44_100));
}

#[test]
fn a_truncated_wav_is_an_error() {
    let good = good_wav();
    for cut in 0..good.len() {
        let e = wav::read_wav_from(Cursor::new(&good[..cut]), "t.wav")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.wav"), "cut at {cut}: {e}");
        if cut >= 44 {
            assert!(e.contains("truncated"), "cut at {cut}: {e}");
        }
    }
}

#[test]
fn garbage_is_not_a_wav() {
    let e = wav::read_wav_from(
        Cursor::new(b"MThd this is a MIDI file, honest".to_vec()),
        "g.wav",
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("g.wav is not a valid WAV file"),
        "{e}"
    );
    let mut state = 7u32;
    for len in 0..300usize {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect();
        let mut riff = good_wav();
        riff.truncate(12);
        riff.extend_from_slice(&bytes);
        assert!(wav::read_wav_from(Cursor::new(&bytes), "r").is_err());
        let _ = wav::read_wav_from(Cursor::new(&riff), "r");
    }
}

#[test]
fn zero_channels_absurd_sizes_and_rates_are_refused_from_the_header() {
    let e = wav::read_wav_from(Cursor::new(wav_header(0, 44_100, 16, 0)), "z.wav")
        .unwrap_err()
        .to_string();
    assert!(e.contains("z.wav") && e.contains("zero channels"), "{e}");

    let (result, largest, took) = measure(|| {
        wav::read_wav_from(
            Cursor::new(wav_header(1, 44_100, 16, 0xFFFF_FFFE)),
            "huge.wav",
        )
    });
    let e = result.unwrap_err().to_string();
    assert!(
        e.contains("2147483647 sample values") && e.contains("the limit is 67108864"),
        "{e}"
    );
    assert!(
        largest < MIB && took < Duration::from_secs(1),
        "{largest} bytes, {took:?}"
    );

    // Within the limit but far beyond the file: fails as truncated, without a big allocation.
    let (result, largest, _) =
        measure(|| wav::read_wav_from(Cursor::new(wav_header(2, 44_100, 16, 1 << 27)), "long.wav"));
    let e = result.unwrap_err().to_string();
    assert!(e.contains("truncated") && e.contains("67108864"), "{e}");
    assert!(largest <= 4 * MIB + 4096, "{largest} bytes");

    let e = wav::read_wav_from(Cursor::new(wav_header(1, 0, 16, 0)), "r.wav")
        .unwrap_err()
        .to_string();
    assert!(e.contains("sample rate of 0 Hz"), "{e}");
    let e = wav::read_wav_from(Cursor::new(wav_header(1, 10_000_000, 16, 0)), "r.wav")
        .unwrap_err()
        .to_string();
    assert!(e.contains("10000000 Hz"), "{e}");
    let e = wav::read_wav_from(Cursor::new(wav_header(1, 44_100, 12, 0)), "b.wav")
        .unwrap_err()
        .to_string();
    assert!(e.contains("b.wav"), "{e}");
}

#[test]
fn a_missing_wav_file_names_the_path() {
    let e = wav::read_wav("/nonexistent/dir/kick.wav")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/dir/kick.wav"), "{e}");
}

#[test]
fn mutated_wav_headers_never_panic_or_balloon() {
    // A plain PCM header and a WAVE_FORMAT_EXTENSIBLE one written by hound.
    let mut extensible = Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 3,
        sample_rate: 48_000,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut extensible, spec).unwrap();
    for i in 0..30 {
        w.write_sample(i * 1000).unwrap();
    }
    w.finalize().unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for base in [good_wav(), extensible.into_inner()] {
        assert!(wav::read_wav_from(Cursor::new(&base), "base").is_ok());
        for round in 0..4000 {
            let mut bad = base.clone();
            for _ in 0..1 + round % 3 {
                let at = (next() % bad.len().min(72) as u64) as usize;
                bad[at] = next() as u8;
            }
            let (_, largest, _) = measure(|| wav::read_wav_from(Cursor::new(&bad), "m.wav"));
            assert!(
                largest <= 4 * MIB + 4096,
                "round {round} allocated {largest} bytes"
            );
        }
    }
}

#[test]
fn mutated_text_songs_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut song = small_song();
    song.tracks[0].note_columns = 2;
    song.tracks[0].show_delay = true;
    song.patterns[0] = Pattern::new(4, &song.tracks);
    let full = text::to_text(&song, &dir.path().join("m.ttrk.toml")).unwrap();
    assert!(text::parse(&full, dir.path()).is_ok());
    let alphabet: Vec<char> = "0123456789abcdefABCDEF.-#|=\"'[]{}\n\r\t xyz_é"
        .chars()
        .collect();
    let mut state = 0x1234_5678_9ABC_DEF1u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    for round in 0..3000 {
        let mut chars: Vec<char> = full.chars().collect();
        for _ in 0..1 + round % 3 {
            let at = (next() % chars.len() as u64) as usize;
            match next() % 3 {
                0 => chars[at] = alphabet[(next() % alphabet.len() as u64) as usize],
                1 => {
                    chars.remove(at);
                }
                _ => chars.insert(at, alphabet[(next() % alphabet.len() as u64) as usize]),
            }
        }
        let text: String = chars.into_iter().collect();
        if let Err(e) = text::parse(&text, dir.path()) {
            errors += 1;
            assert!(
                e.line >= 1 && e.column >= 1 && !e.message.is_empty(),
                "{e:?}"
            );
            assert!(
                e.line <= text.lines().count() + 1,
                "{e} is past the end of the text"
            );
        }
    }
    assert!(errors > 1000, "only {errors} of 3000 mutations were errors");
}

/// Parses `FIXTURE` followed by `tail` and returns the error, with the line `tail` starts on.
fn tail_error(tail: &str) -> (text::TextError, usize) {
    let first = FIXTURE.lines().count() + 1;
    let t = format!("{FIXTURE}{tail}");
    let e = text::parse(&t, Path::new(".")).expect_err("the extended fixture must not parse");
    (e, first)
}

#[test]
fn mixer_errors_are_placed() {
    let (e, l) = tail_error("\n[master.limiter]\nceiling_db = 3.0\n");
    assert_at(
        &e,
        l + 2,
        14,
        "`ceiling_db` is 3; it must be within -12.0..=0.0",
    );
    let (e, l) = tail_error("\n[reverb]\nsize = 0.5\nloudness = 1\n");
    assert_at(&e, l + 3, 1, "unknown key `loudness`");
    let (e, l) = tail_error("\n[delay]\nunit = \"bars\"\n");
    assert_at(&e, l + 2, 8, "delay unit `bars` is unknown");
    // Inserts belong to the last [[track]] table before them.
    let (e, l) = tail_error("\n[[track.insert]]\ntype = \"fuzz\"\n");
    assert_at(&e, l + 2, 8, "insert type `fuzz` is unknown");
    let (e, l) =
        tail_error("\n[[track.insert]]\ntype = \"eq\"\npeak1 = { on = true, freq_hz = 5.0 }\n");
    assert_at(
        &e,
        l + 3,
        32,
        "`freq_hz` is 5; it must be within 20.0..=20000.0",
    );
    let five = "\n[[track.insert]]\ntype = \"compressor\"\n".repeat(5);
    let (e, _) = tail_error(&five);
    assert!(e.message.contains("at most 4"), "{e}");
    let (e, l) = tail_error("\n[master]\nvolume_db = -200\n");
    assert_at(&e, l + 2, 13, "`volume_db` is -200");
}

#[test]
fn group_errors_are_placed() {
    let e = text_error("name = \"A\"", "name = \"A\"\ngroup = 1");
    assert_at(&e, 7, 9, "the song has no [[group]] tables");
    let t = FIXTURE.replacen(
        "[[track]]\nname = \"A\"",
        "[[group]]\nname = \"Drums\"\n\n[[track]]\nname = \"A\"\ngroup = 2",
        1,
    );
    let e = text::parse(&t, Path::new(".")).unwrap_err();
    assert!(
        e.message.contains("`group` is 2; it must be within 1..=1"),
        "{e}"
    );
    let t = FIXTURE.replacen(
        "[[track]]\nname = \"A\"",
        "[[group]]\nname = \"Drums\"\nvolume_db = 99\n\n[[track]]\nname = \"A\"",
        1,
    );
    let e = text::parse(&t, Path::new(".")).unwrap_err();
    assert!(e.message.contains("`volume_db` is 99"), "{e}");
}
