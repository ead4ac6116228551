//! Layouts of older `.ttrk` payloads, decoded and then converted to today's [`Song`]. Bincode is
//! not self-describing, so every format version keeps its own struct here; only the structs that
//! changed are repeated, the rest are today's types.
//!
//! - Version 1 had no mixer: tracks ended at `mute`, and the song at `seed`.
//! - Version 2 had no arrangement data and no frozen tracks: tracks ended at `group`, and the song
//!   at `groups`.
//! - Version 3 stored sample values as a sequence of floats, where 4 stores one byte string: the
//!   same structs, decoded under [`crate::model::SampleWire`] for the file's version (as are 1
//!   and 2).

use crate::model::arrange::Arrangement;
use crate::model::mix::{Group, Insert, Mixer, OFF_DB, SEND_BUSES};
use crate::model::{Instrument, Pattern, Song, Track};
use serde::Deserialize;

/// A song as format version 1 stored it.
#[derive(Deserialize)]
pub(super) struct SongV1 {
    title: String,
    author: String,
    bpm: u16,
    lpb: u8,
    tpl: u8,
    tracks: Vec<TrackV1>,
    patterns: Vec<Pattern>,
    order: Vec<u16>,
    restart: u16,
    instruments: Vec<Option<Instrument>>,
    seed: u64,
}

/// A track as format version 1 stored it.
#[derive(Deserialize)]
struct TrackV1 {
    name: String,
    note_columns: u8,
    effect_columns: u8,
    show_delay: bool,
    volume_db: f32,
    pan: f32,
    mute: bool,
}

// Each old layout converts to the next one, so the defaults of a field live where it appeared.
impl From<SongV1> for SongV2 {
    fn from(v: SongV1) -> SongV2 {
        SongV2 {
            title: v.title,
            author: v.author,
            bpm: v.bpm,
            lpb: v.lpb,
            tpl: v.tpl,
            tracks: v
                .tracks
                .into_iter()
                .map(|t| TrackV2 {
                    name: t.name,
                    note_columns: t.note_columns,
                    effect_columns: t.effect_columns,
                    show_delay: t.show_delay,
                    volume_db: t.volume_db,
                    pan: t.pan,
                    mute: t.mute,
                    solo: false,
                    sends: [OFF_DB; SEND_BUSES],
                    inserts: Vec::new(),
                    group: None,
                })
                .collect(),
            patterns: v.patterns,
            order: v.order,
            restart: v.restart,
            instruments: v.instruments,
            seed: v.seed,
            // Version 1 had no mixer: the default one (master chain off) sounds the same.
            mixer: Mixer::default(),
            groups: Vec::new(),
        }
    }
}

impl From<SongV1> for Song {
    fn from(v: SongV1) -> Song {
        SongV2::from(v).into()
    }
}

/// A song as format version 2 stored it.
#[derive(Deserialize)]
pub(super) struct SongV2 {
    title: String,
    author: String,
    bpm: u16,
    lpb: u8,
    tpl: u8,
    tracks: Vec<TrackV2>,
    patterns: Vec<Pattern>,
    order: Vec<u16>,
    restart: u16,
    instruments: Vec<Option<Instrument>>,
    seed: u64,
    mixer: Mixer,
    groups: Vec<Group>,
}

/// A track as format version 2 stored it.
#[derive(Deserialize)]
struct TrackV2 {
    name: String,
    note_columns: u8,
    effect_columns: u8,
    show_delay: bool,
    volume_db: f32,
    pan: f32,
    mute: bool,
    solo: bool,
    sends: [f32; SEND_BUSES],
    inserts: Vec<Insert>,
    group: Option<u8>,
}

impl From<SongV2> for Song {
    fn from(v: SongV2) -> Song {
        Song {
            title: v.title,
            author: v.author,
            bpm: v.bpm,
            lpb: v.lpb,
            tpl: v.tpl,
            tracks: v
                .tracks
                .into_iter()
                .map(|t| Track {
                    name: t.name,
                    note_columns: t.note_columns,
                    effect_columns: t.effect_columns,
                    show_delay: t.show_delay,
                    volume_db: t.volume_db,
                    pan: t.pan,
                    mute: t.mute,
                    solo: t.solo,
                    sends: t.sends,
                    inserts: t.inserts,
                    group: t.group,
                    frozen: None,
                })
                .collect(),
            patterns: v.patterns,
            order: v.order,
            restart: v.restart,
            instruments: v.instruments,
            seed: v.seed,
            mixer: v.mixer,
            groups: v.groups,
            arrangement: Arrangement::default(),
            takes: Vec::new(),
        }
    }
}
